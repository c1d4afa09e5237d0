"""Reconnecting with ``Last-Event-ID``: on this replica through the SDK, on another from Redis.

`ResumableSessionManager` is the SDK's session manager with one event store per session (see
`event_store`). `ResumeGate` sits in front of it and answers the reconnections the SDK cannot:

- a ``Last-Event-ID`` unknown to its session (never issued, expired, or another session's): a
  400 naming the problem, where the SDK would open an empty stream the client reconnects to
  forever;
- a ``Last-Event-ID`` that is the answer which ended its request's stream: a 400 saying so,
  where the SDK would keep the stream open, waiting for events that never come;
- a session that lives on another replica (its events in the shared Redis log): the missed
  events are replayed from Redis and the stream is followed there until the request's answer
  arrives, while the replica that owns the session keeps running it. The stream closes after
  ``_FOLLOW_SECONDS`` without an answer; the client reconnects after the ``retry`` interval
  and picks up from its last event id (SSE polling, SEP-1699).

A request stream of a session of this process is resumed by the SDK's manager and our
`_Transport`, which replays and follows it from the session's event log as well (the SDK's own
replay can lose the answer: see `_Transport._replay_events`). Requests other than such GETs pass
straight through.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol
from uuid import uuid4

import anyio
import structlog
from mcp.server.streamable_http import GET_STREAM_KEY, StreamableHTTPServerTransport
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types.version import is_version_at_least
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from luminamind_mcp.event_store import EventLog, Found, SessionEvents, StoredEvent, is_final

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
            events=self.events.for_session(session_id),
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
    """The SDK's transport, priming streams by the version the client opened the session with,
    and resuming request streams from the session's event log.

    The SDK (like the TypeScript SDK) primes a POST stream only when that request's
    ``MCP-Protocol-Version`` header says 2025-11-25 or later, as older clients may choke on the
    empty priming event. But the version the client offered in ``initialize`` is the newest it
    understands: a client that opened the session at 2025-11-25 handles priming events
    whatever a later header claims (the conformance suite's polling check sends 2025-03-26).
    """

    _offered: str | None = None

    def __init__(self, *, events: SessionEvents, **kwargs: Any) -> None:  # Any: the SDK's
        super().__init__(event_store=events, **kwargs)
        self.events = events

    async def _mint_priming_event(self, stream_id: str, protocol_version: str) -> Any:  # Any: SDK
        if self._offered is None:
            # A session's first request is always its initialize: this is the client's offer.
            self._offered = protocol_version
        elif is_version_at_least(self._offered, protocol_version):
            protocol_version = self._offered
        return await super()._mint_priming_event(stream_id, protocol_version)

    async def _replay_events(self, last_event_id: str, request: Request, send: Send) -> None:
        # Replaces the SDK's `StreamableHTTPServerTransport._replay_events` (mcp 2.3.0) for
        # request streams. The SDK replays the stored events, then hands over to the live
        # stream by registering a new request stream: only if none is registered, and only
        # after its read of the store and a priming write. So (1) a message the session sends
        # between that read and the registration is stored, routed to no stream and never
        # sent; (2) while the dropped connection is still registered (the server has not
        # noticed the drop yet, or never will behind a proxy) the replay ends and the stream
        # closes without the answer. The SDK's client does not reconnect a resumption that
        # closes without its answer (`StreamableHTTPTransport._handle_resumption_request`),
        # so its caller waits forever. Here the event log alone carries the stream: every
        # message is stored before it is routed, so reading the log again each time the
        # session stores an event misses nothing, and there is no hand-over to race with.
        # The standalone GET stream (no answer ends it) keeps the SDK's replay.
        found = await self.events.after(last_event_id)
        if found is None or found.stream_id == GET_STREAM_KEY:
            # None: expired since `ResumeGate` looked; the SDK's replay opens an empty
            # stream, and the client's next reconnection gets the gate's 400.
            await super()._replay_events(last_event_id, request, send)
            return
        # The resumed stream takes over from the dropped one. Closing that one (the SDK's
        # call for this) stops the session routing messages to a connection nobody reads.
        self.close_sse_stream(found.stream_id)
        headers = {"Cache-Control": "no-cache, no-transform", "Connection": "keep-alive"}
        if self.mcp_session_id:
            headers[_SESSION_HEADER] = self.mcp_session_id
        response = StreamingResponse(
            _follow(self.events.after, found.stream_id, last_event_id, _LocalTail(self)),
            media_type="text/event-stream",
            headers=headers,
        )
        await response(request.scope, request.receive, send)

    async def terminate(self) -> None:
        await super().terminate()
        self.events.wake()  # whoever follows this session's streams stops (`_LocalTail`)


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
        if found is None or found.ended:
            _log.warning(
                "mcp_resume_refused",
                session=session_id[:8],
                last_event_id=last_event_id[:32],
                ended=found is not None,
            )
            refuse = self._unknown_event if found is None else self._ended_stream
            await refuse(last_event_id)(scope, receive, send)
            return
        if local:
            await self._app(scope, receive, send)
            return
        _log.info("mcp_stream_resumed_elsewhere", session=session_id[:8], events=len(found.later))

        async def after(event_id: str) -> Found | None:
            return await self._manager.events.after(session_id, event_id)

        response = StreamingResponse(
            _follow(after, found.stream_id, last_event_id, _PolledTail(_FOLLOW_SECONDS)),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache, no-transform", _SESSION_HEADER: session_id},
        )
        await response(scope, receive, send)

    def _unknown_event(self, last_event_id: str) -> JSONResponse:
        events = self._manager.events
        return _refusal(
            f"Last-Event-ID {last_event_id[:64]!r} is unknown or expired for this session: a "
            f"session resumes only its own events, the last {events.max_events:,} for "
            f"{events.ttl_seconds:g} s (server.stream_events_max, "
            "server.stream_events_ttl_seconds). Send the request again, or read the run's "
            "result with get_thread."
        )

    def _ended_stream(self, last_event_id: str) -> JSONResponse:
        return _refusal(
            f"Last-Event-ID {last_event_id[:64]!r} is the answer that ended its request's "
            "stream: nothing follows it. Read the run's result with get_thread, or send the "
            "request again."
        )


def _refusal(message: str) -> JSONResponse:
    body = {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": message}}
    return JSONResponse(body, status_code=400)


class _Tail(Protocol):
    """How `_follow` learns that the log may have grown."""

    def arm(self) -> None:
        """Called before each read of the log: an event stored after it ends the next wait."""

    async def wait(self) -> bool:
        """Return once the log may have grown; False: stop following."""


class _LocalTail:
    """A session of this process: woken by each event it stores, stopped when it ends."""

    def __init__(self, transport: _Transport) -> None:
        self._transport = transport
        self._changed: anyio.Event | None = None

    def arm(self) -> None:
        self._changed = self._transport.events.changed()

    async def wait(self) -> bool:
        assert self._changed is not None, "arm() comes first"
        if not self._transport.is_terminated:  # else no event will come: `terminate` woke all
            await self._changed.wait()
        return not self._transport.is_terminated


class _PolledTail:
    """A session of another replica: its events reach this one only through Redis, polled."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._deadline: float | None = None

    def arm(self) -> None:
        if self._deadline is None:
            self._deadline = anyio.current_time() + self._seconds

    async def wait(self) -> bool:
        await anyio.sleep(_POLL_SECONDS)
        return self._deadline is None or anyio.current_time() < self._deadline


async def _follow(
    after: Callable[[str], Awaitable[Found | None]], stream_id: str, last_id: str, tail: _Tail
) -> AsyncIterator[str]:
    """The SSE text of ``stream_id``'s events after ``last_id``, as stored, to its answer."""
    yield f"retry: {RETRY_MS}\n\n"
    while True:
        tail.arm()
        found = await after(last_id)
        if found is None:  # expired meanwhile: the client's next reconnection hears why
            return
        for event in found.later:
            last_id = event.event_id
            if event.message is None:
                continue
            yield _sse(event)
            if is_final(event, stream_id):
                return
        if not await tail.wait():
            return


def _sse(event: StoredEvent) -> str:
    return f"event: message\nid: {event.event_id}\ndata: {event.message}\n\n"
