"""Process start-up: keep the cyclic garbage collector out of the import burst.

Starting a server creates about a hundred thousand objects that live as long as the process:
modules, classes, pydantic validators and schemas (the ``mcp`` SDK alone defines two protocol
versions' worth of models). Python's collector is triggered by allocation counts, so during
that burst it runs hundreds of times, each pass walking a growing heap and freeing almost
nothing: about a fifth of the MCP server's cold start. Start-up code runs inside `paused_gc`
and freezes what it built, so later collections skip it too. Freezing matters even for the
first collection: the counts that trigger one keep growing while the collector is off, so right
after it is back the youngest generation holds every object of the burst, and that one pass
walks them all (about 35 ms after the CLI's imports alone).

It also loads structlog without rich (`import_structlog_without_rich`): a tenth of the MCP
server's cold start for tracebacks LuminaMind never has rich draw.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["import_structlog_without_rich", "paused_gc"]


@contextmanager
def paused_gc(*, freeze: bool = False) -> Iterator[None]:
    """Pause automatic garbage collection for the block (no-op if it was already off).

    Args:
        freeze: on the way out, move every object alive now to the permanent generation
            (``gc.freeze``), so no later collection walks start-up's objects again: neither
            the first one after the block (which, without it, walks every object the block
            created) nor those a long-running server makes while serving. Cycles that
            start-up left behind are then never freed; there are few, and they are bounded by
            one start-up.
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


def import_structlog_without_rich() -> None:
    """Import structlog while ``rich`` is hidden, unless either is already loaded.

    structlog's package ``__init__`` imports ``structlog.dev`` and ``structlog.tracebacks``,
    which import rich's console, traceback and pretty-printer when rich is installed (typer
    brings it): about 90 ms of every server's cold start, measured with ``-X importtime`` and
    py-spy. LuminaMind never has rich draw a traceback: its logging turns tracebacks into text
    with ``format_exc_info`` before any renderer sees them (so the redaction covers them), and
    ``ConsoleRenderer`` then prints that text as it is. Hidden for the import only; ``import
    rich`` works as usual afterwards (typer's help and the chat UI use it).
    """
    if "structlog" in sys.modules or "rich" in sys.modules:
        return
    sys.modules["rich"] = None  # type: ignore[assignment]  # None: `import rich` raises ImportError
    try:
        import structlog  # noqa: F401 - the import is the point
    finally:
        del sys.modules["rich"]
