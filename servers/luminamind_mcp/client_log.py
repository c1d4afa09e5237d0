"""Log messages for the client: the ``logging`` capability, ``logging/setLevel`` per connection.

The server's own logs go to stderr as JSON. What a *client* sees of a run (run started, each
tool call and its outcome, approvals, errors) travels as ``notifications/message`` on the
request's own stream, at or above the level that connection chose with ``logging/setLevel``
(``warning`` until it chooses), with secrets redacted exactly as in the server logs.

The SDK (2.3) carries the wire types but no level bookkeeping: at the handshake protocol
versions filtering "is the application's ``logging/setLevel`` handler's job". At 2026-07-28+
a request opts in through its ``_meta`` instead, which `allowed_log_levels` reads.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Final, get_args

import mcp_types as types
import structlog
from mcp.server.connection import allowed_log_levels
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from luminamind.agent.events import (
    AgentEvent,
    ApprovalRequested,
    Decision,
    ErrorEvent,
    FinalAnswer,
    RunStarted,
    SubagentFinished,
    SubagentStarted,
    ToolFinished,
    ToolStarted,
)
from luminamind.security.redaction import redact
from luminamind_mcp.roots import connection_key

__all__ = [
    "DEFAULT_LEVEL",
    "LEVELS",
    "ClientLog",
    "LogLevels",
    "check_level",
    "log_decisions",
    "log_run_event",
]

_log = structlog.get_logger(__name__)

Ctx = ServerRequestContext[Any, Any]  # Any: no lifespan state; the transport's request object

# Severity-ascending (RFC 5424), the order of the protocol's own literal.
LEVELS: Final[tuple[types.LoggingLevel, ...]] = get_args(types.LoggingLevel)
# Until a client picks a level it hears only about trouble, not every tool call.
DEFAULT_LEVEL: Final[types.LoggingLevel] = "warning"
# Stateful HTTP sessions come and go; remember this many connections' levels (as roots do).
_MAX_CONNECTIONS = 1024
_LOGGER = "luminamind"
# The levels at or above each level (asked for on every request, so built once).
_AT_OR_ABOVE: Final[dict[types.LoggingLevel, frozenset[types.LoggingLevel]]] = {
    level: frozenset(LEVELS[i:]) for i, level in enumerate(LEVELS)
}


class LogLevels:
    """The level each connection chose, keyed like the workspace resolver keys connections."""

    def __init__(self) -> None:
        self._levels: OrderedDict[str, types.LoggingLevel] = OrderedDict()

    async def set_level(self, ctx: Ctx, params: types.SetLevelRequestParams) -> types.EmptyResult:
        """``logging/setLevel`` (`check_level` has vetted the level)."""
        level = params.level
        key = connection_key(ctx)
        if key is not None:
            self._levels[key] = level
            self._levels.move_to_end(key)
            while len(self._levels) > _MAX_CONNECTIONS:
                self._levels.popitem(last=False)
        _log.info("mcp_log_level_set", level=level, connection=key)
        return types.EmptyResult()

    def allowed(self, ctx: Ctx) -> frozenset[types.LoggingLevel]:
        """The levels the client behind ``ctx`` wants to receive for this request."""
        if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
            return allowed_log_levels(ctx.protocol_version, ctx.meta)
        key = connection_key(ctx)
        level = self._levels.get(key, DEFAULT_LEVEL) if key is not None else DEFAULT_LEVEL
        return _AT_OR_ABOVE[level]


def check_level(ctx: Ctx) -> None:
    """Refuse an unknown level naming the eight levels (run by the request middleware).

    The SDK validates spec methods' parameters before any handler runs and answers a bare
    "Invalid request parameters"; the client deserves the list.

    Raises:
        MCPError: ``INVALID_PARAMS`` for a ``logging/setLevel`` with any other level.
    """
    if ctx.method != "logging/setLevel":
        return
    level = (ctx.params or {}).get("level")
    if level not in LEVELS:
        shown = repr(level)[:40] if level is not None else "none"
        raise MCPError(
            code=INVALID_PARAMS,
            message=f"unknown log level {shown}; use one of: {', '.join(LEVELS)}",
        )


class ClientLog:
    """Sends log messages to the client of one request, at the levels it asked for.

    Best effort: a client that went away must not fail the run that is logging to it.
    """

    def __init__(self, ctx: Ctx, levels: LogLevels) -> None:
        self._ctx = ctx
        self._allowed = levels.allowed(ctx)

    def wants(self, level: types.LoggingLevel) -> bool:
        """True when a message at ``level`` would be sent (skip building it otherwise)."""
        return level in self._allowed

    async def log(self, level: types.LoggingLevel, event: str, **data: Any) -> None:  # Any: JSON
        """Send ``{"event": event, **data}`` (redacted) at ``level`` if the client wants it."""
        if level not in self._allowed:
            return
        payload = redact({"event": event, **data})
        notification = types.LoggingMessageNotification(
            params=types.LoggingMessageNotificationParams(level=level, logger=_LOGGER, data=payload)
        )
        try:
            await self._ctx.session.send_notification(
                notification, related_request_id=self._ctx.request_id
            )
        except Exception as exc:  # a gone client: the run goes on, the stderr log keeps it
            _log.debug("mcp_log_message_dropped", error=f"{type(exc).__name__}: {exc}")


async def log_run_event(log: ClientLog, thread_id: str, event: AgentEvent) -> None:
    """One agent event in the client's log: what a user following a run wants to read.

    Streamed text and plan changes travel as progress notifications only; they would drown
    the log.
    """
    if isinstance(event, RunStarted):
        await log.log("info", "run_started", thread_id=thread_id, run_id=event.run_id)
    elif isinstance(event, ToolStarted):
        if log.wants("debug"):
            await log.log(
                "debug",
                "tool_started",
                thread_id=thread_id,
                tool=event.tool,
                agent=event.agent,
                arguments=event.arguments,
            )
    elif isinstance(event, ToolFinished):
        fields = {"thread_id": thread_id, "tool": event.tool, "agent": event.agent}
        if event.status == "ok":
            await log.log("info", "tool_finished", **fields, duration_ms=event.duration_ms)
        else:
            await log.log("warning", "tool_failed", **fields, error=event.content[:500])
    elif isinstance(event, SubagentStarted | SubagentFinished):
        await log.log("info", event.type, thread_id=thread_id, subagent=event.subagent)
    elif isinstance(event, ApprovalRequested):
        await log.log(
            "notice",
            "approval_requested",
            thread_id=thread_id,
            tools=[r.tool for r in event.requests],
        )
    elif isinstance(event, ErrorEvent):
        await log.log(
            "error", "run_failed", thread_id=thread_id, code=event.code, error=event.message
        )
    elif isinstance(event, FinalAnswer):
        await log.log("info", "run_finished", thread_id=thread_id)


async def log_decisions(
    log: ClientLog, thread_id: str, decisions: Sequence[Decision] | None
) -> None:
    """How the approvals a run paused on were answered (None: left for resume_task)."""
    if decisions is None:
        await log.log("notice", "approval_deferred", thread_id=thread_id)
    else:
        await log.log(
            "notice", "approval_decided", thread_id=thread_id, decisions=[d.type for d in decisions]
        )
