"""`make run`'s banner: a newcomer sees the URL, workspace, model and how to connect."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.support.mcp_clients import free_port

BIN = Path(sys.executable).parent / "luminamind"


def _first_lines(workspace: Path, env: dict[str, str], wanted: int = 12) -> list[str]:
    port = free_port()
    process = subprocess.Popen(
        [str(BIN), "mcp", "--http", "--port", str(port), "--workspace", str(workspace)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    lines: list[str] = []
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + 60
        while len(lines) < wanted and time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
            if '"mcp_server_started"' in line:
                break
    finally:
        process.terminate()
        process.wait(timeout=20)
        if process.stderr is not None:
            process.stderr.close()
    return lines


def test_banner_then_json_logs(workspace_dir: Path) -> None:
    lines = _first_lines(workspace_dir, {"LUMINAMIND_BANNER": "1"})
    text = "\n".join(lines)
    assert lines[0].startswith("LuminaMind ")
    assert f"workspace  {workspace_dir}" in text
    assert "model      openai:glm-4.5-flash: no API key set" in text
    assert "tools work without a model key" in text
    assert "LUMINAMIND_MODEL=" in text
    for client in ("VS Code", "Claude Desktop", "MCP Inspector"):
        assert client in text
    assert lines[-1].startswith("{")
    assert '"mcp_server_started"' in lines[-1]


def test_no_banner_for_a_pipe_unless_asked(workspace_dir: Path) -> None:
    lines = _first_lines(workspace_dir, {}, wanted=1)
    assert lines[0].startswith("{")


def test_banner_shows_a_configured_key_and_problems(workspace_dir: Path) -> None:
    env = {
        "LUMINAMIND_BANNER": "1",
        "GLM_API_KEY": "sk-test-not-shown-123456",
        "LUMINAMIND_SHELL__TIMEOUT_SECONDS": "never",
    }
    text = "\n".join(_first_lines(workspace_dir, env, wanted=14))
    assert "API key set" in text
    assert "sk-test-not-shown" not in text
    assert "PROBLEM    shell.timeout_seconds" in text
