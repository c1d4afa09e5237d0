"""No thread hops for LangSmith's bookkeeping when LangSmith tracing is off.

``create_agent`` wraps every middleware's ``wrap_model_call`` / ``wrap_tool_call`` in LangSmith's
``traceable``, whose async wrapper runs its set-up and its end in the default thread pool
(``run_in_executor``), traced or not: two hops per wrapped hook, about sixteen per tool-call step
in LuminaMind's stack. Each hop costs little CPU, but on a busy machine every one waits for a
thread to be scheduled (bench/agent_overhead.py: the wall time per step was twice its CPU time).
With tracing off that set-up and end only build an unused run container, so LuminaMind runs them
inline through LangSmith's own hook for this (``set_runtime_overrides``, made for runtimes
without ``run_in_executor``); with tracing on (``LANGSMITH_TRACING``) LangSmith's default runs.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable
from typing import Any

import langsmith
from langsmith.utils import tracing_is_enabled

__all__ = ["install_inline_langsmith"]

# Any: LangSmith's hook passes the function's own arguments and returns its result.
DefaultToThread = Callable[..., Awaitable[Any]]


async def _inline_when_untraced(
    default: DefaultToThread,
    ctx: contextvars.Context,
    func: Callable[..., Any],
    /,
    *args: Any,
    **kwargs: Any,
) -> Any:
    if ctx.run(tracing_is_enabled):
        return await default(ctx, func, *args, **kwargs)
    return ctx.run(func, *args, **kwargs)


def install_inline_langsmith() -> None:
    """Install the override (process-wide, idempotent); a graph build calls it."""
    langsmith.set_runtime_overrides(aio_to_thread=_inline_when_untraced)
