"""Composition of the tool stack from Settings: registry, policy, audit log, cache, context.

Every surface builds its tools through `build_tool_runtime`, so the CLI, the agent, the MCP
server and the language server apply the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from luminamind.config import Settings
from luminamind.observability.audit import AuditLog
from luminamind.surfaces import Surface
from luminamind.tools.approval import ApprovalPolicy
from luminamind.tools.catalog import build_default_registry
from luminamind.tools.context import ToolContext
from luminamind.tools.editor import EditorRegistry
from luminamind.tools.executor import ChangeRecorder, ToolExecutor, ToolResultCache
from luminamind.tools.registry import ToolRegistry

__all__ = ["ToolRuntime", "build_tool_runtime"]


@dataclass(frozen=True, slots=True)
class ToolRuntime:
    """The tools as one surface sees them."""

    settings: Settings
    registry: ToolRegistry
    executor: ToolExecutor
    context: ToolContext


def build_tool_runtime(
    settings: Settings,
    *,
    surface: Surface,
    registry: ToolRegistry | None = None,
    cache: ToolResultCache | None = None,
    use_cache: bool = True,
    recorder: ChangeRecorder | None = None,
    editors: EditorRegistry | None = None,
) -> ToolRuntime:
    """Build the registry, executor and context a surface uses.

    Args:
        settings: the loaded configuration.
        surface: ``cli``, ``agent``, ``mcp`` or ``lsp`` (audit log and metrics label).
        registry: tools to expose (the built-in ones by default).
        cache: a tool-result cache; by default one is built from ``settings.cache``.
        use_cache: False disables the tool-result cache (``--no-cache``).
        recorder: records what agent turns change in the workspace (for rewind).
        editors: the editors threads run in (the ACP surface attaches them).
    """
    registry = registry or build_default_registry()
    if cache is None and use_cache and settings.cache.enabled:
        cache = _default_cache(settings)
    executor = ToolExecutor(
        registry,
        policy=ApprovalPolicy(settings.approvals),
        audit=AuditLog(settings.audit_log_path),
        cache=cache if use_cache else None,
        recorder=recorder,
    )
    return ToolRuntime(
        settings=settings,
        registry=registry,
        executor=executor,
        context=ToolContext.from_settings(settings, surface=surface, editors=editors),
    )


def _default_cache(settings: Settings) -> ToolResultCache | None:
    from luminamind.state.cache import build_tool_cache  # its backends load only when used

    return build_tool_cache(settings)
