"""Secrets from ``*_FILE`` paths (Kubernetes secrets, a Vault agent) are SecretStr, never shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from luminamind.config import load_settings
from luminamind.security.redaction import redact

# variable -> (where it lands in Settings, the secret in its file)
FILES = {
    "GLM_API_KEY_FILE": (("glm_api_key",), "glm-file-secret-0001"),
    "OPENAI_API_KEY_FILE": (("openai_api_key",), "sk-file-secret-000000000002"),
    "LUMINAMIND_REDIS_URL_FILE": (("redis_url",), "redis://:file-secret-0003@redis:6379/0"),
    "LUMINAMIND_MCP_TOKEN_FILE": (("server", "token"), "mcp-file-secret-0004"),
    "SERPER_API_KEY_FILE": (("web", "serper_api_key"), "serper-file-secret-0005"),
    "TAVILY_API_KEY_FILE": (("web", "tavily_api_key"), "tavily-file-secret-0006"),
    "BRAVE_API_KEY_FILE": (("web", "brave_api_key"), "brave-file-secret-0007"),
}


def test_every_secret_file_is_read_as_a_hidden_secret(
    tmp_path: Path, workspace_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var, (_, secret) in FILES.items():
        path = tmp_path / var.lower()
        # Mounted secrets often end with a newline; it is not part of the secret.
        path.write_text(secret + "\n", encoding="utf-8")
        monkeypatch.setenv(var, str(path))
        monkeypatch.delenv(var.removesuffix("_FILE"), raising=False)
    settings = load_settings(workspace=workspace_dir, data_dir=tmp_path / "data")
    shown = repr(settings) + settings.model_dump_json() + str(redact(settings.model_dump()))
    for var, (where, secret) in FILES.items():
        value: object = settings
        for name in where:
            value = getattr(value, name)
        assert isinstance(value, SecretStr), var
        assert value.get_secret_value() == secret, var
        assert secret not in shown, f"{var}'s secret is shown"
