"""LuminaMind's MCP server: every registry tool (and the agent) over stdio and streamable HTTP.

Built on the official ``mcp`` SDK (2.x). ``luminamind mcp`` serves stdio, ``luminamind mcp
--http`` streamable HTTP; see docs/mcp.md.
"""

from luminamind_mcp._sdk import defer_sdk_package_inits

# Before the first SDK import: a server needs neither the SDK's client nor MCPServer.
defer_sdk_package_inits()

from luminamind_mcp.server import INSTRUCTIONS  # noqa: E402 - after the deferral above, McpApp, ReadinessCheck, build_app, serve_stdio

__all__ = ["INSTRUCTIONS", "McpApp", "ReadinessCheck", "build_app", "serve_stdio"]
