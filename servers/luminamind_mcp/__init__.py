"""LuminaMind's MCP server: every registry tool (and the agent) over stdio and streamable HTTP.

Built on the official ``mcp`` SDK (2.x). ``luminamind mcp`` serves stdio, ``luminamind mcp
--http`` streamable HTTP; see docs/mcp.md.
"""

from luminamind_mcp import _sdk

# Before the first SDK import: a server needs neither the SDK's client nor MCPServer.
_sdk.defer_sdk_package_inits()
_sdk.defer_wire_model_builds()

# After the deferral above (hence E402).
from luminamind_mcp.server import (  # noqa: E402
    INSTRUCTIONS,
    McpApp,
    ReadinessCheck,
    build_app,
    serve_stdio,
)

__all__ = ["INSTRUCTIONS", "McpApp", "ReadinessCheck", "build_app", "serve_stdio"]
