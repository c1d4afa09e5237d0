"""The start-up banner of ``luminamind mcp --http``: what is running and what to do next.

Printed on stderr (stdout may be a protocol's) when stderr is a terminal or
``LUMINAMIND_BANNER=1`` (``make run`` sets it), before the JSON logs begin.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TextIO

from luminamind import __version__
from luminamind.config import Settings
from luminamind.config_problems import SettingProblem

__all__ = ["banner_text", "banner_wanted"]


def banner_wanted(stream: TextIO = sys.stderr) -> bool:
    """A human is watching: a terminal, or ``make run`` asked for it."""
    flag = os.environ.get("LUMINAMIND_BANNER", "").strip().lower()
    if flag in ("0", "false", "no", "off"):
        return False
    return bool(flag) or stream.isatty()


def banner_text(settings: Settings, problems: list[SettingProblem]) -> str:
    """The banner's lines: URL, workspace, model and key, how to connect each client."""
    from luminamind.providers.factory import model_key_status

    server = settings.server
    port = str(server.port) if server.port else "<a free port: see the server_started log line>"
    url = f"http://{server.host}:{port}/mcp"
    token = "set" if server.token is not None else "not set (loopback only)"
    model, ready, why = model_key_status(settings)
    exe = str(Path(sys.argv[0]).resolve()) if sys.argv and sys.argv[0] else "luminamind"
    vscode = json.dumps({"name": "luminamind", "type": "http", "url": url})
    desktop = json.dumps(
        {"mcpServers": {"luminamind": {"command": exe, "args": ["mcp", "-w", "/your/project"]}}}
    )
    agent = "ready" if ready else "needs set-up"
    lines = [
        f"LuminaMind {__version__}: MCP server on streamable HTTP",
        f"  URL        {url}   (bearer token: {token})",
        f"  workspace  {settings.workspace}",
        f"  model      {model}: {why}",
        f"  agent      {agent}; the file, code, shell and web tools work without a model key",
    ]
    if not ready:
        lines.append(
            "             set one in one line: export LUMINAMIND_MODEL=openai:gpt-4.1 "
            "OPENAI_API_KEY=sk-... OPENAI_BASE_URL=https://api.openai.com/v1"
        )
    for problem in problems:
        lines.append(f"  PROBLEM    {problem.one_line()}")
    lines += [
        "Connect:",
        f"  VS Code         code --add-mcp '{vscode}'",
        f"  Claude Desktop  claude_desktop_config.json (stdio): {desktop}",
        f"  MCP Inspector   npx @modelcontextprotocol/inspector --cli {url} "
        "--transport http --method tools/list",
        "JSON logs follow on stderr; Ctrl+C stops the server. Check the set-up: luminamind doctor",
        "",
    ]
    return "\n".join(lines)
