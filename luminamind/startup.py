"""Process start-up: keep the cyclic garbage collector out of the import burst.

Starting a server creates about a hundred thousand objects that live as long as the process:
modules, classes, pydantic validators and schemas (the ``mcp`` SDK alone defines two protocol
versions' worth of models). Python's collector is triggered by allocation counts, so during
that burst it runs hundreds of times, each pass walking a growing heap and freeing almost
nothing: about a fifth of the MCP server's cold start. Start-up code runs inside `paused_gc`;
long-running servers then freeze what start-up built, so later collections skip it too.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused_gc"]


@contextmanager
def paused_gc(*, freeze: bool = False) -> Iterator[None]:
    """Pause automatic garbage collection for the block (no-op if it was already off).

    Args:
        freeze: on the way out, move every object alive now to the permanent generation
            (``gc.freeze``), so the collections a long-running server makes while serving
            never walk start-up's objects again. Cycles that start-up left behind are then
            never freed; there are few, and they are bounded by one start-up.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if was_enabled:
            gc.enable()
