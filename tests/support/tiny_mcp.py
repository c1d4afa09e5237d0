"""A tiny MCP server on the official SDK, for tests that need a third-party MCP server.

``python -m tests.support.tiny_mcp`` serves stdio; ``--http PORT`` serves streamable HTTP on
127.0.0.1 at ``/mcp``. Tools: ``shout`` (read-only: the text in capitals), ``note`` (writes a
line to ``notes.txt`` in the working directory: not read-only) and ``die`` (the process exits
at once, as a crashing server does).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from mcp.server.mcpserver import MCPServer
from mcp_types import ToolAnnotations

server = MCPServer("tiny")


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def shout(text: str) -> str:
    """The text in capitals."""
    return text.upper()


@server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False))
def note(text: str) -> str:
    """Append a line to notes.txt in the server's working directory."""
    with Path("notes.txt").open("a", encoding="utf-8") as notes:
        notes.write(text + "\n")
    return f"noted: {text}"


@server.tool()
def die() -> str:
    """Exit the server process at once (a crash)."""
    os._exit(3)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", type=int, default=None, help="serve streamable HTTP on PORT")
    parser.add_argument("--tag", default="", help="ignored: lets a test find this process")
    args = parser.parse_args()
    if args.http is None:
        server.run()
    else:
        server.run("streamable-http", host="127.0.0.1", port=args.http)


if __name__ == "__main__":
    main()
