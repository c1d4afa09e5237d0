"""The MCP Inspector's CLI (the reference debugging client) lists and calls our tools.

`make test` installs it from tests/mcp_inspector/package.json (pinned, lockfile). The commands
are the ones docs/mcp.md gives users, over stdio and over HTTP.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.mcp_clients import HttpServer, start_http_server, stop
from tests.support.server_home import server_env

INSPECTOR = Path(__file__).resolve().parents[2] / "mcp_inspector/node_modules/.bin/mcp-inspector"
pytestmark = pytest.mark.skipif(
    not INSPECTOR.exists(), reason="run `make test` (it installs tests/mcp_inspector)"
)


def inspector(*args: str, home: Path, cwd: Path) -> Any:
    env = server_env(home)
    # `luminamind` on PATH, as a user who installed it would have it.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(
        [str(INSPECTOR), "--cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=cwd,
        check=False,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def open_server(mcp_workspace: Path, mcp_home: Path) -> Iterator[HttpServer]:
    """A loopback server without a token (the 0.15 Inspector CLI cannot send headers)."""
    server = start_http_server(mcp_workspace, mcp_home)
    yield server
    stop(server.process)


def test_inspector_lists_and_calls_tools_over_stdio(mcp_workspace: Path, mcp_home: Path) -> None:
    listing = inspector(
        "luminamind", "mcp", "--method", "tools/list", home=mcp_home, cwd=mcp_workspace
    )
    names = {tool["name"] for tool in listing["tools"]}
    assert {"read_file", "grep_search", "shell", "run_task", "resume_task"} <= names
    result = inspector(
        "luminamind",
        "mcp",
        "--method",
        "tools/call",
        "--tool-name",
        "read_file",
        "--tool-arg",
        "path=hello.txt",
        home=mcp_home,
        cwd=mcp_workspace,
    )
    assert result.get("isError") is not True
    assert result["structuredContent"]["content"] == "hello\nworld\n"


def test_inspector_over_http(open_server: HttpServer, mcp_home: Path, mcp_workspace: Path) -> None:
    listing = inspector(
        open_server.url,
        "--transport",
        "http",
        "--method",
        "tools/list",
        home=mcp_home,
        cwd=mcp_workspace,
    )
    assert "file_search" in {tool["name"] for tool in listing["tools"]}
    escaped = inspector(
        open_server.url,
        "--transport",
        "http",
        "--method",
        "tools/call",
        "--tool-name",
        "read_file",
        "--tool-arg",
        "path=../outside.txt",
        home=mcp_home,
        cwd=mcp_workspace,
    )
    assert escaped["isError"] is True
    assert "outside" in escaped["content"][0]["text"]
