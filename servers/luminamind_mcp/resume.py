"""Reconnecting with ``Last-Event-ID``: on this replica through the SDK, on another from Redis.

`ResumableSessionManager` is the SDK's session manager with one event store per session (see
`event_store`). `ResumeGate` sits in front of it and answers the reconnections the SDK cannot:

- a ``Last-Event-ID`` unknown to its session (never issued, expired, or another session's): a
  400 naming the problem, where the SDK would open an empty stream the client reconnects to
  forever;
- a session that lives on another replica (its events in the shared Redis log): the missed
  events are replayed from Redis and the stream is followed there until the request's answer
  arrives, while the replica that owns the session keeps running it. The stream closes after
  ``_FOLLOW_SECONDS`` without an answer; the client reconnects after the ``retry`` interval
  and picks up from its last event id (SSE polling, SEP-1699).

Requests other than such GETs pass straight through.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any
from uuid import uuid4

import anyio
import structlog
from mcp.server.streamable_http import StreamableHTTPServerTransport
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types.version import is_version_at_least
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from luminamind_mcp.event_store import EventLog, StoredEvent, is_final

__all__ = ["RETRY_MS", "ResumableSessionManager", "ResumeGate"]

_log = structlog.get_logger(__name__)

# What the SSE ``retry`` field asks of a client that lost its stream.
RETRY_MS = 1_000
_FOLLOW_SECONDS = 25.0
_POLL_SECONDS = 0.2
_SESSION_HEADER = "mcp-session-id"
_LAST_EVENT_HEADER = "last-event-id"


class ResumableSessionManager(StreamableHTTPSessionManager):
    """The SDK's manager, each session's transport keeping its events in ``events``."""

    def __init__(
        self,
        app: Any,  # Any: the SDK server (generic over its lifespan state)
        *,
        events: EventLog,
        stateless: bool,
        max_request_body_size: int,
        security_settings: TransportSecuritySettings,
    ) -> None:
        super().__init__(
            app=app,
            stateless=stateless,
            max_request_body_size=max_request_body_size,
            security_settings=security_settings,
            retry_interval=RETRY_MS,
        )
        self.events = events

    def _admit_session(self, requestor: Any) -> StreamableHTTPServerTransport | None:  # Any: SDK
        # The SDK's own method, with two changes: the transport class, and an event store of
        # the session's own (the SDK gives every session the manager's one store, and names
        # streams by JSON-RPC ids that repeat across sessions).
        if self.max_sessions is not None and len(self._server_instances) >= self.max_sessions:
            return None
        session_id = uuid4().hex
        transport = _Transport(
            mcp_session_id=session_id,
            is_json_response_enabled=self.json_response,
            event_store=self.events.for_session(session_id),
            security_settings=self.security_settings,
            retry_interval=self.retry_interval,
            idle_timeout=self.session_idle_timeout,
        )
        if requestor is not None:
            self._session_owners[session_id] = requestor
        self._server_instances[session_id] = transport
        return transport

    def serves(self, session_id: str) -> bool:
        """True when ``session_id`` is a live session of this process."""
        return session_id in self._server_instances


class _Transport(StreamableHTTPServerTransport):
    """The SDK's transport, priming streams by the version the client opened the session with.

    The SDK (like the TypeScript SDK) primes a POST stream only when that request's
    ``MCP-Protocol-Version`` header says 2025-11-25 or later, as older clients may choke on the
    empty priming event. But the version the client offered in ``initialize`` is the newest it
    understands: a client that opened the session at 2025-11-25 handles priming events
    whatever a later header claims (the conformance suite's polling check sends 2025-03-26).
    """

    _offered: str | None = None

    async def _mint_priming_event(self, stream_id: str, protocol_version: str) -> Any:  # Any: SDK
        if self._offered is None:
            # A session's first request is always its initialize: this is the client's offer.
            self._offered = protocol_version
        elif is_version_at_least(self._offered, protocol_version):
            protocol_version = self._offered
        return await super()._mint_priming_event(stream_id, protocol_version)


class ResumeGate:
    """ASGI: checks ``Last-Event-ID`` reconnections and serves other replicas' sessions."""

    def __init__(self, app: ASGIApp, manager: ResumableSessionManager, *, shared: bool) -> None:
        self._app = app
        self._manager = manager
        self._shared = shared

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or self._manager.stateless:
            await self._app(scope, receive, send)
            return
        request = Request(scope, receive)
        session_id = request.headers.get(_SESSION_HEADER)
        last_event_id = request.headers.get(_LAST_EVENT_HEADER)
        if not session_id or not last_event_id:
            await self._app(scope, receive, send)
            return
        local = self._manager.serves(session_id)
        if not local and not self._shared:
            await self._app(scope, receive, send)  # the SDK's 404: unknown session
            return
        found = await self._manager.events.after(session_id, last_event_id)
        if found is None:
            _log.warning(
                "mcp_resume_refused", session=session_id[:8], last_event_id=last_event_id[:32]
            )
            await self._unknown_event(last_event_id)(scope, receive, send)
            return
        if local:
            await self._app(scope, receive, send)
            return
        stream_id, missed = found
        _log.info("mcp_stream_resumed_elsewhere", session=session_id[:8], events=len(missed))
        response = StreamingResponse(
            self._follow(session_id, stream_id, last_event_id, missed),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache, no-transform", _SESSION_HEADER: session_id},
        )
        await response(scope, receive, send)

    def _unknown_event(self, last_event_id: str) -> JSONResponse:
        events = self._manager.events
        message = (
            f"Last-Event-ID {last_event_id[:64]!r} is unknown or expired for this session: a "
            f"session resumes only its own events, the last {events.max_events:,} for "
            f"{events.ttl_seconds:g} s (server.stream_events_max, "
            "server.stream_events_ttl_seconds). Send the request again, or read the run's "
            "result with get_thread."
        )
        body = {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": message}}
        return JSONResponse(body, status_code=400)

    async def _follow(
        self, session_id: str, stream_id: str, last_id: str, missed: Sequence[StoredEvent]
    ) -> AsyncIterator[str]:
        """Replay ``missed``, then poll the shared log until the request's answer is sent."""
        yield f"retry: {RETRY_MS}\n\n"
        pending = list(missed)
        with anyio.move_on_after(_FOLLOW_SECONDS):
            while True:
                for event in pending:
                    last_id = event.event_id
                    if event.message is None:
                        continue
                    yield f"event: message\nid: {event.event_id}\ndata: {event.message}\n\n"
                    if is_final(event, stream_id):
                        return
                await anyio.sleep(_POLL_SECONDS)
                found = await self._manager.events.after(session_id, last_id)
                if found is None:  # expired meanwhile: the client's next reconnect hears why
                    return
                pending = list(found[1])
