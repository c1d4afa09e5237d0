"""Building a tool runtime that holds only the code tools (the other families are other modules)."""

from __future__ import annotations

from typing import Any

from luminamind.config import Settings
from luminamind.runtime import ToolRuntime, build_tool_runtime
from luminamind.tools import code
from luminamind.tools.registry import ToolRegistry

__all__ = ["code_runtime"]


def code_runtime(settings: Settings, **limits: Any) -> ToolRuntime:
    """A CLI-surface runtime over ``code.TOOLS``; ``limits`` override ``settings.limits``."""
    # Any: limit values are ints and floats, checked by LimitSettings' model.
    if limits:
        settings = settings.model_copy(update={"limits": settings.limits.model_copy(update=limits)})
    return build_tool_runtime(
        settings, surface="cli", registry=ToolRegistry(code.TOOLS), use_cache=False
    )
