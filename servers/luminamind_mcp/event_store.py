"""Resumable SSE streams: every event a session's streams carry, kept for a reconnecting client.

The SDK's streamable HTTP transport resumes streams through its ``EventStore`` interface
(``store_event`` / ``replay_events_after``) but ships no store, and hands one store to every
session while naming streams by JSON-RPC request id, which repeats from one session to the
next. So events live here per session (`SessionEvents`, one per session, made by
`EventLog.for_session`): a ``Last-Event-ID`` is looked up only among its own session's events,
and another client's ids are unknown, never replayed.

Two logs, both bounded in events per session, sessions and time:

- `MemoryEventLog`, for one process.
- `RedisEventLog` (``LUMINAMIND_REDIS_URL``): a sorted set per session, so a client whose
  replica went away can reconnect to another one (`replay_elsewhere`, used by the HTTP app).

Event ids are the session's own sequence numbers ("17"): opaque to the client, cheap to compare.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import anyio
import mcp_types as types
from mcp.server.streamable_http import EventCallback, EventId, EventMessage, EventStore, StreamId
from pydantic import TypeAdapter

__all__ = [
    "EventLog",
    "Found",
    "MemoryEventLog",
    "RedisEventLog",
    "SessionEvents",
    "StoredEvent",
    "is_final",
]

# How many events one session keeps (the oldest go first) and for how long after the last one.
DEFAULT_MAX_EVENTS = 2_000
DEFAULT_TTL_SECONDS = 3_600.0
# Sessions a memory log remembers at once (the least recently written go first), and the
# characters of messages it keeps in all.
_MAX_SESSIONS = 1_024
DEFAULT_MAX_BYTES = 64 * 1024 * 1024

_MESSAGE: TypeAdapter[types.JSONRPCMessage] = TypeAdapter(types.JSONRPCMessage)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One event of a session: its id, its stream and its message (None: a priming event)."""

    event_id: str
    stream_id: str
    message: str | None

    def parsed(self) -> types.JSONRPCMessage | None:
        """The JSON-RPC message, or None for a priming event."""
        return None if self.message is None else _MESSAGE.validate_json(self.message)


def is_final(event: StoredEvent, stream_id: str) -> bool:
    """True for the response that ends ``stream_id`` (a request's stream ends with its answer)."""
    message = event.parsed()
    return isinstance(message, types.JSONRPCResponse | types.JSONRPCError) and str(
        message.id
    ) == str(stream_id)


class Found(NamedTuple):
    """A known ``Last-Event-ID``: its event (the anchor) and its stream's later events."""

    anchor: StoredEvent
    later: Sequence[StoredEvent]

    @property
    def stream_id(self) -> str:
        """The stream the anchor belongs to: the one a client resumes."""
        return self.anchor.stream_id

    @property
    def ended(self) -> bool:
        """True when the anchor is the answer that ended its request's stream."""
        return is_final(self.anchor, self.anchor.stream_id)


class EventLog(Protocol):
    """Where sessions' events are kept (the last ``max_events`` of a session, ``ttl_seconds``)."""

    max_events: int
    ttl_seconds: float

    def for_session(self, session_id: str) -> SessionEvents:
        """The SDK event store of one session."""
        ...

    async def append(self, session_id: str, stream_id: str, message: str | None) -> str:
        """Keep one event; returns its id."""
        ...

    async def after(self, session_id: str, event_id: str) -> Found | None:
        """``event_id``'s event and its stream's later events, or None if the id is unknown."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


class SessionEvents(EventStore):
    """The SDK's ``EventStore`` for one session, over a shared `EventLog`.

    It also tells a follower of the session's streams in this process when to look again
    (`changed`): every message the session sends is stored here before it is routed to a
    stream, so a follower that reads `after` whenever `changed` fires misses nothing.
    """

    def __init__(self, log: EventLog, session_id: str) -> None:
        self._log = log
        self._session_id = session_id
        self._changed: anyio.Event | None = None

    async def store_event(
        self, stream_id: StreamId, message: types.JSONRPCMessage | None
    ) -> EventId:
        text = (
            None if message is None else message.model_dump_json(by_alias=True, exclude_none=True)
        )
        event_id = await self._log.append(self._session_id, str(stream_id), text)
        self.wake()
        return event_id

    async def replay_events_after(
        self, last_event_id: EventId, send_callback: EventCallback
    ) -> StreamId | None:
        found = await self.after(last_event_id)
        if found is None:
            return None
        for event in found.later:
            message = event.parsed()
            if message is not None:
                await send_callback(EventMessage(message, event.event_id))
        return found.stream_id

    async def after(self, event_id: str) -> Found | None:
        """``event_id``'s event and its stream's later events, or None if the id is unknown."""
        return await self._log.after(self._session_id, event_id)

    def changed(self) -> anyio.Event:
        """Set at this session's next event stored by this process (or `wake`).

        Take it *before* reading `after`: an event stored after that read sets it.
        """
        if self._changed is None:
            self._changed = anyio.Event()
        return self._changed

    def wake(self) -> None:
        """Wake whoever waits on `changed` (the next call of `changed` gives a new event)."""
        if self._changed is not None:
            self._changed.set()
            self._changed = None


@dataclass
class _Session:
    seq: int = 0
    touched: float = field(default_factory=time.monotonic)
    events: OrderedDict[int, tuple[str, str | None]] = field(default_factory=OrderedDict)


class MemoryEventLog:
    """Events in this process's memory, bounded per session, in sessions, in bytes and in time.

    ``max_bytes`` caps the messages kept across all sessions (tool results can be large): past
    it, the oldest events of the least recently written sessions go first.
    """

    def __init__(
        self,
        *,
        max_events: int = DEFAULT_MAX_EVENTS,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        max_sessions: int = _MAX_SESSIONS,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.max_events = max_events
        self.ttl_seconds = ttl_seconds
        self._max_sessions = max_sessions
        self._max_bytes = max_bytes
        self._bytes = 0
        self._sessions: OrderedDict[str, _Session] = OrderedDict()

    def for_session(self, session_id: str) -> SessionEvents:
        """The SDK event store of one session."""
        return SessionEvents(self, session_id)

    def _drop_session(self, session_id: str) -> None:
        session = self._sessions.pop(session_id)
        self._bytes -= sum(len(m or "") for _, m in session.events.values())

    def _drop_oldest_event(self, session: _Session) -> None:
        _, (_, message) = session.events.popitem(last=False)
        self._bytes -= len(message or "")

    def _expire(self, now: float) -> None:
        while self._sessions:
            oldest_id, oldest = next(iter(self._sessions.items()))
            fresh = now - oldest.touched <= self.ttl_seconds
            if fresh and len(self._sessions) <= self._max_sessions and oldest.events:
                break
            self._drop_session(oldest_id)
        while self._bytes > self._max_bytes and self._sessions:
            oldest_id, oldest = next(iter(self._sessions.items()))
            if oldest.events:
                self._drop_oldest_event(oldest)
            else:
                self._drop_session(oldest_id)

    async def append(self, session_id: str, stream_id: str, message: str | None) -> str:
        now = time.monotonic()
        session = self._sessions.pop(session_id, None) or _Session()
        self._sessions[session_id] = session
        session.seq += 1
        session.touched = now
        session.events[session.seq] = (stream_id, message)
        self._bytes += len(message or "")
        while len(session.events) > self.max_events:
            self._drop_oldest_event(session)
        self._expire(now)
        return str(session.seq)

    async def after(self, session_id: str, event_id: str) -> Found | None:
        self._expire(time.monotonic())
        session = self._sessions.get(session_id)
        seq = _seq(event_id)
        if session is None or seq is None or seq not in session.events:
            return None
        stream_id, message = session.events[seq]
        later = [
            StoredEvent(str(n), s, m)
            for n, (s, m) in session.events.items()
            if n > seq and s == stream_id
        ]
        return Found(StoredEvent(str(seq), stream_id, message), later)

    async def aclose(self) -> None:
        self._sessions.clear()
        self._bytes = 0


def _seq(event_id: str) -> int | None:
    return int(event_id) if event_id.isdigit() and len(event_id) < 19 else None


# INCR the session's counter, add the event under it, drop the oldest beyond the cap, renew
# both keys' expiry: one round trip, atomic, so two writers of a session never share an id.
_APPEND = """
local seq = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], seq, seq .. ':' .. ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -tonumber(ARGV[2]) - 1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return seq
"""


class RedisEventLog:
    """Events in Redis, shared by every replica: a sorted set per session, scored by id.

    Keys (hash-tagged by session, so a cluster keeps a session in one slot)::

        <prefix>:mcp:{<session>}:seq   the session's last event id
        <prefix>:mcp:{<session>}:ev    ZSET  "<id>:<[stream, message]>" scored by id
    """

    def __init__(
        self,
        client: Any,  # Any: a redis-py asyncio client (standalone, sentinel or cluster)
        *,
        prefix: str = "lm",
        max_events: int = DEFAULT_MAX_EVENTS,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
    ) -> None:
        self.client = client
        self._prefix = prefix
        self.max_events = max_events
        self.ttl_seconds = ttl_seconds
        self._ttl_ms = max(1, int(ttl_seconds * 1000))
        self._append = client.register_script(_APPEND)

    def for_session(self, session_id: str) -> SessionEvents:
        """The SDK event store of one session."""
        return SessionEvents(self, session_id)

    def _keys(self, session_id: str) -> tuple[str, str]:
        base = f"{self._prefix}:mcp:{{{session_id}}}"
        return f"{base}:seq", f"{base}:ev"

    async def append(self, session_id: str, stream_id: str, message: str | None) -> str:
        body = json.dumps([stream_id, message], ensure_ascii=False, separators=(",", ":"))
        seq = await self._append(
            keys=list(self._keys(session_id)), args=[body, self.max_events, self._ttl_ms]
        )
        return str(int(seq))

    async def after(self, session_id: str, event_id: str) -> Found | None:
        seq = _seq(event_id)
        if seq is None:
            return None
        _, events_key = self._keys(session_id)
        members: list[bytes] = await self.client.zrangebyscore(events_key, seq, "+inf")
        decoded = [_decode(m) for m in members]
        if not decoded or decoded[0].event_id != str(seq):
            return None
        anchor = decoded[0]
        return Found(anchor, [e for e in decoded[1:] if e.stream_id == anchor.stream_id])

    async def aclose(self) -> None:
        await self.client.aclose()


def _decode(member: bytes | str) -> StoredEvent:
    text = member.decode("utf-8") if isinstance(member, bytes) else member
    seq, _, body = text.partition(":")
    stream_id, message = json.loads(body)
    return StoredEvent(seq, str(stream_id), message)
