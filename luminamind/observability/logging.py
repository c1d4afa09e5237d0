"""structlog set-up: JSON for servers, console for the CLI, always on stderr.

stdout belongs to the stdio MCP and LSP protocols, so nothing here ever writes to it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, Literal

import structlog

from luminamind.security.redaction import redact

__all__ = ["configure_logging", "info_enabled"]

# structlog's filtering loggers that drop INFO lines (it builds one class per level, once).
_QUIET = frozenset(
    structlog.make_filtering_bound_logger(level)
    for level in (logging.WARNING, logging.ERROR, logging.CRITICAL)
)


def info_enabled() -> bool:
    """False when structlog is set to drop INFO lines: hot paths skip building them.

    structlog's filtering logger drops them just as surely, but only after the caller built
    the line's values and the lazy logger proxy built a logger for the call (LuminaMind
    configures logging after modules import their loggers, so loggers are not cached).
    Read from structlog's configuration, so whoever configured it last decides.
    """
    return structlog.get_config()["wrapper_class"] not in _QUIET


def _redact_event(
    _logger: Any,
    _method: str,
    event_dict: MutableMapping[str, Any],
) -> MutableMapping[str, Any]:
    # Last line of defence: keys named like secrets and credential-shaped values are masked.
    return {k: redact(v, key=k) for k, v in event_dict.items()}


def configure_logging(
    *, level: str = "INFO", fmt: Literal["auto", "json", "console"] = "auto"
) -> None:
    """Route structlog and stdlib logging to stderr in the chosen format."""
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: Any = (  # Any: the two renderers share no public base class
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            # Tracebacks become text first, so the redaction below sees them too.
            structlog.processors.format_exc_info,
            _redact_event,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=max(numeric, logging.WARNING), stream=sys.stderr, force=True)
