"""The `mcp` SDK's floor: the least a Python MCP server on this SDK can do (for bench/mcp.py).

A low-level ``Server`` over the SDK's own stdio transport with two tools and nothing else (no
argument validation, workspace, approval policy, audit log or metrics):

- ``read`` returns a file's text as a single text block, as the reference server does;
- ``read_structured`` returns it the way LuminaMind's ``read_file`` does: structured content
  shaped like its result, the same output schema (which the client validates the result
  against), and the JSON text copy;
- ``read_structured_text`` returns the same structured content with the file's text as its
  text block instead of the JSON copy (what the copy costs).

Their cold start and call latency show how much of LuminaMind's is the SDK's.
Run: ``python -P bench/_mcp_floor.py ROOT SCHEMA_JSON [pipes]`` (``-P``: so that bench/mcp.py
does not shadow ``mcp``); SCHEMA_JSON is the output schema of LuminaMind's ``read_file``.

With ``pipes``, the same server is served the way ``luminamind mcp`` serves: through
LuminaMind's stdio streams (``luminamind_mcp/stdio.py``: the event loop's pipe transports)
instead of the SDK's ``anyio.wrap_file`` streams, which take a worker-thread round trip for
every line read and every write and flush, and on uvloop when it is installed. That is the floor
LuminaMind's calls can reach. The module is loaded from its file alone, without the
``luminamind_mcp`` package (whose ``__init__`` changes how the SDK loads).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any, cast

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

ROOT = Path(sys.argv[1])
PATH_ARG = {"type": "object", "properties": {"path": {"type": "string"}}}
TOOLS = [
    types.Tool(name="read", description="Read a text file.", input_schema=PATH_ARG),
    types.Tool(
        name="read_structured_text",
        description="Read a text file (structured result, the text as the text block).",
        input_schema=PATH_ARG,
        output_schema=json.loads(Path(sys.argv[2]).read_text(encoding="utf-8")),
    ),
    types.Tool(
        name="read_structured",
        description="Read a text file (structured result).",
        input_schema=PATH_ARG,
        output_schema=json.loads(Path(sys.argv[2]).read_text(encoding="utf-8")),
    ),
]


async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
    del ctx, params
    return types.ListToolsResult(tools=TOOLS)


async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
    del ctx
    path = str((params.arguments or {})["path"])
    data = (ROOT / path).read_bytes()
    text = data.decode("utf-8")
    if params.name == "read":
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)])
    lines = text.count("\n") + (1 if text and not text.endswith("\n") else 0)
    result = {
        "path": path,
        "content": text,
        "offset": 0,
        "lines_returned": lines,
        "total_lines": lines,
        "truncated": False,
        "next_offset": None,
        "size": len(data),
        "encoding": "utf-8",
        "sha256": hashlib.sha256(data).hexdigest(),
        "hint": None,
    }
    copy = text if params.name == "read_structured_text" else json.dumps(result)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=copy)],
        structured_content=result,
    )


server = Server("floor", on_list_tools=list_tools, on_call_tool=call_tool)


def _luminamind_stdio() -> Any:  # Any: the module, loaded from its file
    package = importlib.util.find_spec("luminamind_mcp")
    assert package is not None
    assert package.submodule_search_locations
    path = Path(package.submodule_search_locations[0]) / "stdio.py"
    spec = importlib.util.spec_from_file_location("_luminamind_stdio", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def main() -> None:
    if sys.argv[3:] == ["pipes"]:
        async with _luminamind_stdio().pipe_stdio() as pipes:
            assert pipes is not None, "pipes: stdin and stdout must be pipes"
            stdin, stdout = cast(Any, pipes)
            async with stdio_server(stdin=stdin, stdout=stdout) as (read, write):
                await server.run(read, write, server.create_initialization_options())
        return
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


if __name__ == "__main__":
    uvloop = sys.argv[3:] == ["pipes"] and importlib.util.find_spec("uvloop") is not None
    anyio.run(main, backend_options={"use_uvloop": uvloop})
