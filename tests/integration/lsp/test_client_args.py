"""`luminamind lsp` takes the command line LSP clients build; other transports get a clear refusal.

vscode-languageclient 9 appends ``--stdio`` for ``TransportKind.stdio`` (``--pipe=NAME`` and
``--socket=PORT`` for the others); some clients add ``--clientProcessId=PID``. The VS Code
extension's own server options are ``[...luminamind.serverArgs, "lsp"]`` plus that ``--stdio``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pytest_lsp import client_capabilities
from pytest_lsp.client import make_test_lsp_client

from tests.integration.lsp.conftest import BIN, execute
from tests.support.llm_server import ScriptedLLM


@pytest.mark.parametrize(
    "args",
    [
        ["lsp", "--stdio"],  # what vscode-languageclient sends for TransportKind.stdio
        ["--log-level", "INFO", "lsp", "--stdio"],  # luminamind.serverArgs go before "lsp"
        ["lsp", "--stdio", "--clientProcessId=4242"],
        ["lsp", "--clientProcessId", "4242", "--stdio"],
    ],
)
async def test_the_server_starts_with_the_arguments_clients_send(
    args: list[str], project: Path, tmp_path: Path, llm_server: ScriptedLLM
) -> None:
    client = make_test_lsp_client()
    env = {**os.environ, **llm_server.env(), "LUMINAMIND_DATA_DIR": str(tmp_path / "data")}
    await client.start_io(BIN, *args, env=env, cwd=str(project))
    try:
        result = await client.initialize_session(
            lsp.InitializeParams(
                capabilities=client_capabilities("visual-studio-code"),
                root_uri=project.as_uri(),
                workspace_folders=[lsp.WorkspaceFolder(uri=project.as_uri(), name="project")],
            )
        )
        assert result.server_info is not None
        assert result.server_info.name == "luminamind"
        threads = await execute(client, "luminamind.threads", {})
        assert threads["default"].startswith("lsp-")
        await client.shutdown_session()
    finally:
        await client.stop()


@pytest.mark.parametrize("transport", ["--pipe=/tmp/lsp.sock", "--socket=7000"])
def test_other_transports_are_refused_with_the_reason(transport: str, project: Path) -> None:
    done = subprocess.run(
        [BIN, "lsp", transport], cwd=project, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert f"{transport} is not supported" in done.stderr
    assert "stdin/stdout only" in done.stderr
    assert done.stdout == ""  # stdout belongs to the protocol


def test_help_lists_the_stdio_option() -> None:
    done = subprocess.run([BIN, "lsp", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert "--stdio" in done.stdout
