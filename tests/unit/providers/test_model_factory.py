"""Model names, keys and the set-up explanation (no network: building a client sends nothing)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from langchain_ollama import ChatOllama
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from luminamind.config import Settings, load_settings
from luminamind.errors import ConfigError
from luminamind.providers import (
    ModelSpec,
    build_chat_model,
    describe_chat_model,
    explain_model_setup,
    parse_model_spec,
    resolve_model_spec,
)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("openai:gpt-4.1", ModelSpec("openai", "gpt-4.1")),
        ("OpenAI:gpt-4.1", ModelSpec("openai", "gpt-4.1")),
        ("ollama:qwen3", ModelSpec("ollama", "qwen3")),
        ("ollama:qwen3:latest", ModelSpec("ollama", "qwen3:latest")),
        ("ollama:", ModelSpec("ollama", "llama3")),
        ("ollama", ModelSpec("ollama", "llama3")),
        ("openai", ModelSpec("openai", "glm-4.5-flash")),
        ("glm-4.6", ModelSpec("openai", "glm-4.6")),
        # Colons inside a model name stay there (fine-tuned OpenAI models, Ollama tags).
        ("ft:gpt-4o:org:abc", ModelSpec("openai", "ft:gpt-4o:org:abc")),
        ("  gpt-4.1 ", ModelSpec("openai", "gpt-4.1")),
    ],
)
def test_parse_model_spec(spec: str, expected: ModelSpec) -> None:
    assert parse_model_spec(spec, default_provider="openai", ollama_model="llama3") == expected


def test_bare_names_follow_the_default_provider() -> None:
    parsed = parse_model_spec("qwen3:latest", default_provider="ollama", ollama_model="x")
    assert parsed == ModelSpec("ollama", "qwen3:latest")
    assert str(parsed) == "ollama:qwen3:latest"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "the model name is empty"),
        ("   ", "the model name is empty"),
        ("openai:", "names no model after 'openai:'"),
        ("gpt 4", "contains whitespace"),
        ("anthropic:claude-sonnet", "provider 'anthropic' .* is not supported"),
        ("google_genai:gemini-2.5", "provider 'google_genai'"),
    ],
)
def test_invalid_model_specs_are_config_errors(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_model_spec(spec, default_provider="openai", ollama_model="x")


def test_resolution_order(settings: Settings) -> None:
    # Nothing configured: the seed's default, GLM through the OpenAI-compatible API.
    assert resolve_model_spec(settings) == ModelSpec("openai", "glm-4.5-flash")
    # LLM_PROVIDER=ollama picks OLLAMA_MODEL, as the seed did.
    ollama = settings.model_copy(update={"llm_provider": "ollama", "ollama_model": "qwen3"})
    assert resolve_model_spec(ollama) == ModelSpec("ollama", "qwen3")
    # An explicit model.model wins over LLM_PROVIDER; an explicit argument wins over both.
    configured = ollama.model_copy(
        update={"model": ollama.model.model_copy(update={"model": "openai:gpt-4.1"})}
    )
    configured.model.model_fields_set.add("model")
    assert resolve_model_spec(configured) == ModelSpec("openai", "gpt-4.1")
    assert resolve_model_spec(configured, "ollama:phi4") == ModelSpec("ollama", "phi4")
    assert resolve_model_spec(ollama, "mistral") == ModelSpec("ollama", "mistral")


def test_seed_environment_variables_select_ollama(workspace_dir: Path) -> None:
    os.environ.update({"LLM_PROVIDER": "ollama", "OLLAMA_MODEL": "qwen3:8b"})
    os.environ["OLLAMA_BASE_URL"] = "http://gpu-box:11434"
    model = build_chat_model(load_settings(workspace=workspace_dir))
    assert isinstance(model, ChatOllama)
    assert (model.model, model.base_url) == ("qwen3:8b", "http://gpu-box:11434")
    assert describe_chat_model(model) == ("ollama", "qwen3:8b", "http://gpu-box:11434")


def test_missing_key_is_one_screen_of_what_to_set(settings: Settings) -> None:
    with pytest.raises(ConfigError) as caught:
        build_chat_model(settings)
    text = caught.value.message
    assert text.startswith(
        "LuminaMind cannot use its chat model: no API key is set for openai:glm-4.5-flash "
        "at https://api.z.ai/api/paas/v4/."
    )
    for needle in (
        "export GLM_API_KEY=",
        "export OPENAI_API_KEY=",
        "OPENAI_BASE_URL=https://api.openai.com/v1",
        "LUMINAMIND_MODEL=openai:gpt-4.1",
        "LLM_PROVIDER=ollama",
        "OLLAMA_MODEL=qwen3:latest",
        os.environ["LUMINAMIND_CONFIG_FILE"],
        "[model]",
        "GLM_API_KEY_FILE",
        "--model ollama:qwen3",
    ):
        assert needle in text
    assert len(text.splitlines()) <= 30  # one screen


def test_blank_key_counts_as_missing(settings: Settings) -> None:
    blank = settings.model_copy(update={"glm_api_key": SecretStr("  ")})
    with pytest.raises(ConfigError, match="no API key"):
        build_chat_model(blank)


def test_key_choice_and_client_settings(settings: Settings) -> None:
    both = settings.model_copy(
        update={"glm_api_key": SecretStr("glm-key"), "openai_api_key": SecretStr("sk-openai")}
    )
    glm = build_chat_model(both)
    assert isinstance(glm, ChatOpenAI)
    assert isinstance(glm.openai_api_key, SecretStr)
    assert glm.openai_api_key.get_secret_value() == "glm-key"
    assert (glm.max_retries, glm.stream_usage, glm.streaming) == (0, True, True)
    assert glm.request_timeout == settings.model.timeout_seconds
    on_openai = both.model_copy(update={"openai_base_url": "https://api.openai.com/v1"})
    chosen = build_chat_model(on_openai, model="gpt-4.1")
    assert isinstance(chosen, ChatOpenAI)
    assert isinstance(chosen.openai_api_key, SecretStr)
    assert chosen.openai_api_key.get_secret_value() == "sk-openai"
    assert describe_chat_model(chosen) == ("openai", "gpt-4.1", "https://api.openai.com/v1")


def test_local_openai_compatible_servers_need_no_key(settings: Settings) -> None:
    local = settings.model_copy(update={"openai_base_url": "http://localhost:8000/v1"})
    assert isinstance(build_chat_model(local, model="openai:llama"), ChatOpenAI)


@pytest.mark.parametrize(
    ("field", "variable"),
    [("openai_base_url", "OPENAI_BASE_URL"), ("ollama_base_url", "OLLAMA_BASE_URL")],
)
def test_bad_base_urls_name_their_variable(settings: Settings, field: str, variable: str) -> None:
    broken = settings.model_copy(
        update={field: "api.z.ai/v4", "glm_api_key": SecretStr("k"), "llm_provider": "ollama"}
    )
    model = "openai:x" if field == "openai_base_url" else "ollama:x"
    with pytest.raises(ConfigError, match=f"{variable}='api.z.ai/v4' is not an http"):
        build_chat_model(broken, model=model)


def test_explain_model_setup_survives_an_invalid_model(settings: Settings) -> None:
    broken = settings.model_copy(
        update={"model": settings.model.model_copy(update={"model": "anthropic:x"})}
    )
    broken.model.model_fields_set.add("model")
    text = explain_model_setup(broken)
    assert "model now: (invalid: provider 'anthropic'" in text
