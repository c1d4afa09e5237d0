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
