"""The `mcp` SDK's floor: the least a Python MCP server on this SDK can do (for bench/mcp.py).

A low-level ``Server`` over the SDK's own stdio transport with one tool, ``read``, that returns
a file's text as a single text block (no validation, workspace, audit, metrics or structured
content). Its cold start and call latency show how much of LuminaMind's is the SDK's.
Run: ``python -P bench/_mcp_floor.py ROOT`` (``-P``: so that bench/mcp.py does not shadow ``mcp``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

ROOT = Path(sys.argv[1])
TOOL = types.Tool(
    name="read",
    description="Read a text file.",
    input_schema={"type": "object", "properties": {"path": {"type": "string"}}},
)


async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
    del ctx, params
    return types.ListToolsResult(tools=[TOOL])


async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
    del ctx
    text = (ROOT / str((params.arguments or {})["path"])).read_text(encoding="utf-8")
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)])


server = Server("floor", on_list_tools=list_tools, on_call_tool=call_tool)


async def main() -> None:
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(main)
