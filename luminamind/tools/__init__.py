"""Tools: the registry, the call path and one module per family."""

from luminamind.tools.approval import ApprovalPolicy
from luminamind.tools.catalog import SEED_TOOL_NAMES, build_default_registry
from luminamind.tools.context import ToolContext
from luminamind.tools.executor import ToolExecutor, ToolResultCache
from luminamind.tools.registry import ToolAnnotations, ToolRegistry, ToolSpec, tool

__all__ = [
    "SEED_TOOL_NAMES",
    "ApprovalPolicy",
    "ToolAnnotations",
    "ToolContext",
    "ToolExecutor",
    "ToolRegistry",
    "ToolResultCache",
    "ToolSpec",
    "build_default_registry",
    "tool",
]
