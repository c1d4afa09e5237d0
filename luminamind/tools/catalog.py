"""The built-in tools, assembled into the default registry."""

from __future__ import annotations

from luminamind.tools.registry import ToolRegistry, ToolSpec

__all__ = ["SEED_TOOL_NAMES", "build_default_registry", "default_tools"]

# The seed's sixteen tools, by their exact names.
SEED_TOOL_NAMES = (
    "read_file",
    "write_file",
    "copy_file",
    "delete_file",
    "list_directory",
    "file_search",
    "web_search",
    "web_crawl",
    "get_weather",
    "fetch_as_markdown",
    "shell",
    "grep_search",
    "tree_view",
    "multi_replace_in_file",
    "apply_patch",
    "os_info",
)


def default_tools() -> list[ToolSpec]:
    """Every built-in tool, grouped by family."""
    # Imported here so that importing the registry stays cheap for servers that list lazily.
    import luminamind.tools.code as code_tools
    import luminamind.tools.files as file_tools
    import luminamind.tools.shell as shell_tools
    import luminamind.tools.system as system_tools
    import luminamind.tools.web as web_tools

    return [
        *file_tools.TOOLS,
        *code_tools.TOOLS,
        *shell_tools.TOOLS,
        *web_tools.TOOLS,
        *system_tools.TOOLS,
    ]


def build_default_registry() -> ToolRegistry:
    """A registry with every built-in tool; duplicate names fail here."""
    return ToolRegistry(default_tools())
