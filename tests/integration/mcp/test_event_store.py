"""The SSE event logs: per-session ids, bounds in events and time, in memory and in real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import mcp_types as types
import pytest
import redis.asyncio
from mcp.server.streamable_http import EventMessage

from luminamind_mcp.event_store import EventLog, MemoryEventLog, RedisEventLog


@pytest.fixture(params=["memory", "redis"])
async def make_log(request: pytest.FixtureRequest) -> AsyncIterator[type]:
    made: list[EventLog] = []

    def make(*, max_events: int = 100, ttl_seconds: float = 60.0) -> EventLog:
        if request.param == "memory":
            log: EventLog = MemoryEventLog(max_events=max_events, ttl_seconds=ttl_seconds)
        else:
            url = request.getfixturevalue("redis_url")
            client = redis.asyncio.Redis.from_url(url)
            log = RedisEventLog(client, max_events=max_events, ttl_seconds=ttl_seconds)
        made.append(log)
        return log

    yield make  # type: ignore[misc]
    for log in made:
        await log.aclose()


def _response(request_id: int, text: str) -> types.JSONRPCResponse:
    return types.JSONRPCResponse(jsonrpc="2.0", id=request_id, result={"text": text})


async def test_replay_is_per_session_and_per_stream(make_log: type) -> None:
    log = make_log()
    a, b = log.for_session("a"), log.for_session("b")
    primed = await a.store_event("1", None)
    other_stream = await a.store_event("2", _response(2, "other"))
    answer = await a.store_event("1", _response(1, "for a"))
    # Session b's ids are its own sequence: the same numbers, never a's events.
    assert await b.store_event("1", _response(1, "for b")) == primed
    sent: list[EventMessage] = []

    async def collect(event: EventMessage) -> None:
        sent.append(event)

    assert await a.replay_events_after(primed, collect) == "1"
    assert [(e.event_id, e.message.result) for e in sent] == [(answer, {"text": "for a"})]  # type: ignore[union-attr]
    sent.clear()
    assert await b.replay_events_after(answer, collect) is None  # b never issued that id
    assert await a.replay_events_after("not-a-number", collect) is None
    assert await a.replay_events_after(other_stream, collect) == "2"
    assert sent == []


async def test_an_answer_ends_its_stream(make_log: type) -> None:
    log = make_log()
    events = log.for_session("s")
    progress = types.JSONRPCNotification(jsonrpc="2.0", method="notifications/progress")
    during = await events.store_event("7", progress)
    answer = await events.store_event("7", _response(7, "done"))
    found = await events.after(during)
    assert found is not None
    assert (found.stream_id, found.ended) == ("7", False)
    assert [e.event_id for e in found.later] == [answer]
    ended = await events.after(answer)
    assert ended is not None
    assert (ended.ended, ended.later) == (True, [])
    assert ended.anchor.parsed() == _response(7, "done")


async def test_a_stored_event_wakes_who_waits_for_it(make_log: type) -> None:
    events = make_log().for_session("s")
    changed = events.changed()
    assert changed is events.changed()  # one event until something is stored
    assert not changed.is_set()
    await events.store_event("1", None)
    assert changed.is_set()
    assert not events.changed().is_set()  # the next store sets a new one
    waiting = events.changed()
    events.wake()  # as when the session ends
    assert waiting.is_set()


async def test_oldest_events_go_beyond_the_cap(make_log: type) -> None:
    log = make_log(max_events=3)
    ids = [await log.append("s", "1", f'"{n}"') for n in range(5)]
    assert await log.after("s", ids[0]) is None
    assert await log.after("s", ids[1]) is None
    found = await log.after("s", ids[2])
    assert found is not None
    assert [e.event_id for e in found[1]] == ids[3:]


async def test_events_expire(make_log: type) -> None:
    log = make_log(ttl_seconds=0.3)
    first = await log.append("s", "1", None)
    assert await log.after("s", first) is not None
    await anyio.sleep(0.6)
    assert await log.after("s", first) is None


async def test_memory_keeps_a_byte_budget_across_sessions() -> None:
    log = MemoryEventLog(max_bytes=1_000)
    old = [await log.append("old", "1", '"' + "x" * 300 + '"') for _ in range(3)]
    new = await log.append("new", "1", '"' + "y" * 300 + '"')
    # 4 x 302 characters exceed 1,000: the least recently written session loses its oldest.
    assert await log.after("old", old[0]) is None
    found = await log.after("old", old[1])
    assert found is not None
    assert [e.event_id for e in found[1]] == [old[2]]
    assert await log.after("new", new) is not None
    await log.aclose()
