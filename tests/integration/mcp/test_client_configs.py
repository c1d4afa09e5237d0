"""The client configurations in editor-configs/mcp start a working server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.support.mcp_clients import BIN, check_tool_listing, populate
from tests.support.server_home import server_env

pytestmark = pytest.mark.slow

CONFIGS = Path(__file__).resolve().parents[3] / "editor-configs" / "mcp"
_PLACEHOLDERS = ("${workspaceFolder}", "/absolute/path/to/your/project")


def _servers(config: dict[str, Any]) -> dict[str, dict[str, Any]]:  # Any: JSON
    for key in ("mcpServers", "servers", "context_servers"):
        if key in config:
            servers: dict[str, dict[str, Any]] = config[key]
            return servers
    raise AssertionError(f"no server table in {sorted(config)}")


def _all() -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path in sorted(CONFIGS.glob("*.json")):
        for name, server in _servers(json.loads(path.read_text())).items():
            found.append((path.name, name, server))
    return found


def test_every_client_has_a_config() -> None:
    names = {p.name for p in CONFIGS.glob("*.json")}
    assert names == {"claude-desktop.json", "cursor.json", "vscode.json", "zed.json"}


@pytest.mark.parametrize(
    ("file", "name", "server"),
    [c for c in _all() if "command" in c[2]],
    ids=lambda v: v if isinstance(v, str) else "",
)
async def test_stdio_config_serves_the_tools(
    file: str, name: str, server: dict[str, Any], workspace_dir: Path, tmp_path: Path
) -> None:
    del file, name
    populate(workspace_dir)
    assert server["command"] == "luminamind"
    args = [str(workspace_dir) if a in _PLACEHOLDERS else a for a in server.get("args", [])]
    assert args[0] == "mcp"
    home = tmp_path / "home"
    home.mkdir()
    params = StdioServerParameters(
        command=str(BIN),
        args=args,
        env=server_env(home, {k: v for k, v in server.get("env", {}).items() if "KEY" not in k}),
        cwd=workspace_dir,
    )
    with (home / "stderr.log").open("w") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            check_tool_listing((await session.list_tools()).tools)
            result = await session.call_tool("read_file", {"path": "hello.txt"})
            assert not result.is_error


@pytest.mark.parametrize(
    ("file", "name", "server"),
    [c for c in _all() if "url" in c[2]],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_http_config_points_at_the_default_endpoint(
    file: str, name: str, server: dict[str, Any]
) -> None:
    del file, name
    assert server["url"] == "http://127.0.0.1:8765/mcp"
    assert server["headers"]["Authorization"].startswith("Bearer ${")
    assert server.get("type", "http") == "http"
