"""LuminaMind: a deep agent for code analysis, web research and software automation.

One LangGraph agent, one tool registry and one checkpointer, reached from the CLI, an MCP server
and a language server.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
