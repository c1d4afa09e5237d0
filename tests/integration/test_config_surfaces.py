"""A broken setting on every surface: the CLI prints one screen, the servers start and tell.

Real processes throughout: the CLI as a user runs it, the MCP server through the official
client over stdio and streamable HTTP, the language server through pytest-lsp.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException
from pytest_lsp import client_capabilities
from pytest_lsp.client import make_test_lsp_client

from tests.support.mcp_clients import (
    TOKEN,
    http_session,
    start_http_server,
    stdio_session,
    stop,
)

BIN = Path(sys.executable).parent / "luminamind"

# Each breaks one section: the model (agent only), the shell policy (shell only).
BAD_MODEL = {"LUMINAMIND_MODEL__TEMPERATURE": "hot"}
BAD_SHELL = {"LUMINAMIND_SHELL__TIMEOUT_SECONDS": "never"}


# One case per kind of mistake: (id, environment, workspace .luminamind.toml, what must be named).
CASES = [
    ("wrong-type", {"LUMINAMIND_MAX_STEPS": "many"}, None, "LUMINAMIND_MAX_STEPS"),
    ("unknown-key", {"LUMINAMIND_MODLE": "x"}, None, "did you mean LUMINAMIND_MODEL?"),
    ("empty-value", {"LUMINAMIND_MODEL__MODEL": ""}, None, "the value is empty"),
    ("missing-file", {"OPENAI_API_KEY_FILE": "/nonexistent/key"}, None, "/nonexistent/key"),
    ("toml-syntax", {}, "[model\n", "TOML syntax error"),
    ("toml-unknown", {}, "[model]\ntemprature = 1\n", "did you mean temperature?"),
    ("unreadable", {"LUMINAMIND_CONFIG_FILE": "/"}, None, "cannot read the file"),
]
CASE_IDS = [case[0] for case in CASES]


def _case_files(workspace: Path, toml: str | None) -> None:
    if toml is not None:
        (workspace / ".luminamind.toml").write_text(toml)


def _cli(workspace: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN), "--workspace", str(workspace), *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        env={**os.environ, **env},
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "setting", "source"),
    [
        (BAD_MODEL, "model.temperature", "environment variable LUMINAMIND_MODEL__TEMPERATURE"),
        ({"LUMINAMIND_MODLE": "x"}, "did you mean LUMINAMIND_MODEL?", "LUMINAMIND_MODLE"),
        ({"GLM_API_KEY_FILE": "/nonexistent/key"}, "glm_api_key", "GLM_API_KEY_FILE"),
        ({"LUMINAMIND_MAX_STEPS": ""}, "the value is empty", "LUMINAMIND_MAX_STEPS"),
    ],
)
def test_cli_prints_one_screen_and_exits_2(
    workspace_dir: Path, env: dict[str, str], setting: str, source: str
) -> None:
    result = _cli(workspace_dir, "tools", "call", "os_info", env=env)
    assert result.returncode == 2
    assert result.stderr.startswith("error: invalid configuration (1 problem):")
    assert setting in result.stderr
    assert source in result.stderr
    assert "example:" in result.stderr or "did you mean" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(("kind", "env", "toml", "needle"), CASES, ids=CASE_IDS)
def test_cli_each_kind_of_mistake(
    workspace_dir: Path, kind: str, env: dict[str, str], toml: str | None, needle: str
) -> None:
    _case_files(workspace_dir, toml)
    result = _cli(workspace_dir, "tools", "call", "os_info", env=env)
    assert result.returncode == 2, kind
    assert needle in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("kind", "env", "toml", "needle"), CASES, ids=CASE_IDS)
async def test_mcp_stdio_each_kind_of_mistake(
    workspace_dir: Path, tmp_path: Path, kind: str, env: dict[str, str], toml: str | None,
    needle: str,
) -> None:  # fmt: skip
    _case_files(workspace_dir, toml)
    async with stdio_session(workspace_dir, tmp_path, env=env) as session:
        run = await session.call_tool("run_task", {"task": "say hi"})
        assert run.is_error, kind
        assert needle in run.content[0].text  # type: ignore[union-attr]
        listing = await session.call_tool("list_directory", {"path": "."})
        # The file tools still serve unless the mistake is in a file they read.
        assert listing.is_error == (kind in ("toml-syntax", "unreadable")), kind


@pytest.mark.parametrize(("kind", "env", "toml", "needle"), CASES, ids=CASE_IDS)
async def test_lsp_each_kind_of_mistake(
    workspace_dir: Path, tmp_path: Path, kind: str, env: dict[str, str], toml: str | None,
    needle: str,
) -> None:  # fmt: skip
    _case_files(workspace_dir, toml)
    message = await _lsp_message(workspace_dir, tmp_path, env)
    assert message.type == lsp.MessageType.Error, kind
    assert needle in message.message


def test_cli_toml_syntax_error_names_the_line(workspace_dir: Path) -> None:
    (workspace_dir / ".luminamind.toml").write_text('[model]\nmodel = "openai:x\n')
    result = _cli(workspace_dir, "tools", "call", "os_info", env={})
    assert result.returncode == 2
    assert f"{workspace_dir / '.luminamind.toml'}, line 2" in result.stderr
    assert "TOML syntax error" in result.stderr
    assert "Traceback" not in result.stderr


def test_model_shorthand_reaches_doctor(workspace_dir: Path) -> None:
    result = _cli(workspace_dir, "doctor", "--json", env={"LUMINAMIND_MODEL": "openai:gpt-4.1"})
    assert "Traceback" not in result.stderr
    assert "openai:gpt-4.1" in result.stdout


def test_doctor_lists_every_problem_at_once(workspace_dir: Path) -> None:
    (workspace_dir / ".luminamind.toml").write_text("[web]\nserper_key = 'k'\n")
    env = {**BAD_MODEL, **BAD_SHELL, "LUMINAMIND_MODLE": "x"}
    result = _cli(workspace_dir, "doctor", "--json", env=env)
    assert result.returncode == 1
    import json

    rows = [r for r in json.loads(result.stdout) if r["name"] == "configuration"]
    details = " | ".join(r["detail"] for r in rows)
    assert len(rows) == 4, details
    for needle in ("model.temperature", "shell.timeout_seconds", "LUMINAMIND_MODLE", "serper_key"):
        assert needle in details
    # The other checks still ran, on what is valid.
    assert {"workspace", "model", "tool cache"} <= {r["name"] for r in json.loads(result.stdout)}


async def test_mcp_stdio_serves_what_does_not_need_the_broken_setting(
    workspace_dir: Path, tmp_path: Path
) -> None:
    (workspace_dir / "hello.txt").write_text("hello\n")
    async with stdio_session(workspace_dir, tmp_path, env=BAD_MODEL) as session:
        names = {t.name for t in (await session.list_tools()).tools}
        assert {"read_file", "shell", "run_task"} <= names
        read = await session.call_tool("read_file", {"path": "hello.txt"})
        assert not read.is_error
        run = await session.call_tool("run_task", {"task": "say hi"})
        assert run.is_error
        text = run.content[0].text  # type: ignore[union-attr]
        assert "model.temperature" in text
        assert "LUMINAMIND_MODEL__TEMPERATURE" in text
        assert "restart the server" in text


async def test_mcp_http_refuses_only_the_tool_whose_setting_is_broken(
    workspace_dir: Path, tmp_path: Path
) -> None:
    (workspace_dir / "hello.txt").write_text("hello\n")
    server = start_http_server(
        workspace_dir, tmp_path, env={**BAD_SHELL, "LUMINAMIND_MCP_TOKEN": TOKEN}
    )
    try:
        async with http_session(server.url) as session:
            shell = await session.call_tool("shell", {"command": "true"})
            assert shell.is_error
            assert "shell.timeout_seconds" in shell.content[0].text  # type: ignore[union-attr]
            read = await session.call_tool("read_file", {"path": "hello.txt"})
            assert not read.is_error
    finally:
        stop(server.process)
    assert "configuration problem: shell.timeout_seconds" in server.stderr()


async def _lsp_message(
    workspace: Path, tmp_path: Path, env: dict[str, str], command: str | None = None
) -> lsp.ShowMessageParams:
    """Start the language server, return what it shows after ``initialized``.

    With ``command``, also run it and expect the configuration error as its answer.
    """
    client = make_test_lsp_client()
    full_env = {
        **os.environ,
        "LUMINAMIND_DATA_DIR": str(tmp_path / "lsp-data"),
        "LUMINAMIND_CACHE__BACKEND": "memory",
        **env,
    }
    await client.start_io(str(BIN), "lsp", env=full_env, cwd=str(workspace))
    try:
        await client.initialize_session(
            lsp.InitializeParams(
                capabilities=client_capabilities("visual-studio-code"),
                root_uri=workspace.as_uri(),
                workspace_folders=[lsp.WorkspaceFolder(uri=workspace.as_uri(), name="ws")],
            )
        )
        message: lsp.ShowMessageParams = await asyncio.wait_for(
            client.wait_for_notification(lsp.WINDOW_SHOW_MESSAGE), timeout=30
        )
        if command is not None:
            with pytest.raises(JsonRpcException, match=r"configuration is invalid"):
                await client.workspace_execute_command_async(
                    lsp.ExecuteCommandParams(command=command, arguments=[{"prompt": "hi"}])
                )
        return message
    finally:
        await client.shutdown_session()
        await client.stop()


async def test_lsp_shows_the_problem_and_answers_commands_with_it(
    workspace_dir: Path, tmp_path: Path
) -> None:
    message = await _lsp_message(workspace_dir, tmp_path, BAD_MODEL, command="luminamind.ask")
    assert message.type == lsp.MessageType.Error
    assert "model.temperature" in message.message
    assert "LUMINAMIND_MODEL__TEMPERATURE" in message.message
