"""Start-up stays light: building the MCP server loads no agent stack and no web libraries."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# Each costs tens to hundreds of milliseconds of a cold start; all load on first use.
_LAZY = (
    "langchain_core",
    "langgraph",
    "openai",
    "httpx",
    "trafilatura",
    "lxml",
    "markdownify",
    "charset_normalizer",
    "psutil",
    "pypdf",
)


def test_building_the_server_leaves_the_agent_and_web_stacks_unloaded(workspace_dir: Path) -> None:
    code = f"""
import json, sys
from luminamind.config import load_settings
from luminamind_mcp.server import build_app

app = build_app(load_settings(workspace={str(workspace_dir)!r}), transport="stdio")
tools = [t.name for t in app.tools.list()] + [t.name for t in app.agent.list()]
print(json.dumps({{"tools": tools, "loaded": sorted(m for m in {_LAZY!r} if m in sys.modules)}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    report = json.loads(out.stdout)
    assert {"read_file", "fetch_as_markdown", "os_info", "run_task"} <= set(report["tools"])
    assert report["loaded"] == []


# The SDK's package __init__ files re-export its client and its high-level server; a server
# loads neither (luminamind_mcp._sdk). Module names, not timings: see bench/mcp.py for those.
_SDK_UNUSED = ("mcp.client", "mcp.server.mcpserver", "httpx2")


def test_the_server_skips_the_sdk_client_and_mcpserver_yet_they_still_import() -> None:
    code = f"""
import json, sys
import luminamind_mcp.server
skipped = sorted(m for m in {_SDK_UNUSED!r} if m not in sys.modules)
import mcp, mcp.server
from mcp import ClientSession, types
from mcp.server import MCPServer, Server
from mcp.client.stdio import stdio_client
print(json.dumps({{
    "skipped": skipped,
    "names": [ClientSession.__name__, MCPServer.__name__, Server.__name__, mcp.Client.__name__,
              types.Tool.__name__, mcp.server.InitializationOptions.__name__],
    "same_server": Server is luminamind_mcp.server.Server,
}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    report = json.loads(out.stdout)
    assert report["skipped"] == sorted(_SDK_UNUSED)
    assert report["names"] == [
        "ClientSession",
        "MCPServer",
        "Server",
        "Client",
        "Tool",
        "InitializationOptions",
    ]
    assert report["same_server"] is True


def test_the_sdk_wire_models_build_on_first_use_and_still_validate() -> None:
    # luminamind_mcp._sdk.defer_wire_model_builds: the per-version wire models are created
    # without their validators; the first validation builds them, with the same checks.
    code = """
import json
import luminamind_mcp.server
from mcp_types import _v2025_11_25 as wire
before = [wire.CallToolRequest.__pydantic_complete__, wire.ListToolsResult.__pydantic_complete__]
ok = wire.CallToolRequest.model_validate(
    {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "read_file"}}
)
try:
    wire.CallToolRequest.model_validate({"jsonrpc": "2.0", "id": 1, "method": "tools/call"})
    refused = False
except Exception as exc:
    refused = type(exc).__name__ == "ValidationError"
print(json.dumps({"before": before, "name": ok.params.name, "refused": refused,
                  "after": wire.CallToolRequest.__pydantic_complete__}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == {
        "before": [False, False],
        "name": "read_file",
        "refused": True,
        "after": True,
    }


def test_the_cli_leaves_rich_unloaded_yet_logs_tracebacks_and_rich_still_imports(
    workspace_dir: Path,
) -> None:
    # luminamind.startup.import_structlog_without_rich and the lazy rich imports of the commands:
    # `luminamind mcp` (the CLI, then the server) never loads rich; tracebacks still reach the log
    # as text, in both formats, and rich imports as usual for the commands that draw with it.
    code = f"""
import json, sys
import luminamind.cli
from luminamind.config import load_settings
from luminamind_mcp.server import build_app

build_app(load_settings(workspace={str(workspace_dir)!r}), transport="stdio")
loaded = sorted(m for m in ("rich", "luminamind.cli.agent_render") if m in sys.modules)
import structlog
from luminamind.observability.logging import configure_logging

for fmt in ("console", "json"):
    configure_logging(level="INFO", fmt=fmt)
    try:
        1 / 0
    except ZeroDivisionError:
        structlog.get_logger("t").exception("boom", fmt=fmt)
from rich.console import Console
print(json.dumps({{"loaded": loaded, "rich": Console.__name__}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    report = json.loads(out.stdout)
    assert report == {"loaded": [], "rich": "Console"}
    assert out.stderr.count("ZeroDivisionError: division by zero") == 2, out.stderr
    assert out.stderr.count("Traceback (most recent call last)") == 2, out.stderr
