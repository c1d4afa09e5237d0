"""Checkpointer benchmark: Redis vs SQLite (ours and LangGraph's) vs in-memory, same checkpoints.

One run, one machine: put and get_tuple latency (p50/p95) and throughput for each saver on an
identical stream of agent-like checkpoints; the time to load (resume) the latest state of a
1,000-step thread; and a bare Redis ``SET`` round trip on the same server and client type, the
floor any Redis saver pays. Target: Redis put p50 within 2x of that SET.
Run: ``.venv/bin/python bench/checkpoint.py``.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

import redis.asyncio  # noqa: E402
from langgraph.checkpoint.base import BaseCheckpointSaver  # noqa: E402
from langgraph.checkpoint.base.id import uuid6  # noqa: E402
from langgraph.checkpoint.memory import InMemorySaver  # noqa: E402
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver  # noqa: E402

from bench._report import machine_line, write_section  # noqa: E402
from luminamind.state.redis import AsyncRedisSaver  # noqa: E402
from luminamind.state.redis.conn import RedisOptions  # noqa: E402
from luminamind.state.sqlite_saver import open_sqlite_checkpointer  # noqa: E402
from tests.support.redis_server import RedisServer  # noqa: E402

PUTS = 2000  # checkpoints per saver in the latency run (20 threads x 100 steps)
THREADS = 20
RESUME_STEPS = 1000
RESUME_LOADS = 30


def _checkpoint(step: int, messages: list[dict[str, str]], parent: str | None) -> Any:
    versions = {"messages": f"{step + 1:032}.0", "todos": f"{step // 10 + 1:032}.0"}
    return {
        "v": 4,
        "id": str(uuid6(clock_seq=step)),
        "ts": "2026-01-01T00:00:00+00:00",
        "channel_values": {"messages": messages, "todos": [{"t": "plan", "s": "done"}]},
        "channel_versions": versions,
        "versions_seen": {"agent": {"messages": versions["messages"]}},
        "updated_channels": ["messages"],
    }, parent


def _message(step: int) -> dict[str, str]:
    return {"role": "assistant" if step % 2 else "user", "content": f"step {step}: " + "x" * 40}


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e6


async def _put_stream(
    saver: BaseCheckpointSaver[Any], probe: redis.asyncio.Redis | None = None
) -> tuple[list[float], list[float], float, list[float]]:
    """Put PUTS checkpoints (a sliding 10-message window per thread), then read them back.

    With ``probe``, a bare SET is timed right before each put, so both see the same load (the
    machine is shared; interleaving keeps background noise out of the ratio).
    """
    puts: list[float] = []
    sets: list[float] = []
    configs = []
    started = time.perf_counter()
    for t in range(THREADS):
        parent: str | None = None
        window: list[dict[str, str]] = []
        for step in range(PUTS // THREADS):
            window = [*window[-9:], _message(step)]
            cp, _ = _checkpoint(step, window, parent)
            config = {"configurable": {"thread_id": f"bench-{t}", "checkpoint_ns": ""}}
            if parent:
                config["configurable"]["checkpoint_id"] = parent
            new = {"messages": cp["channel_versions"]["messages"]}
            if step % 10 == 0:
                new["todos"] = cp["channel_versions"]["todos"]
            if probe is not None:
                t0 = time.perf_counter()
                await probe.set(f"bench:set:{step % 100}", b"x" * 64)
                sets.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            saved = await saver.aput(config, cp, {"source": "loop", "step": step}, new)
            puts.append(time.perf_counter() - t0)
            parent = saved["configurable"]["checkpoint_id"]
            configs.append(saved)
    elapsed = time.perf_counter() - started - sum(sets)
    gets: list[float] = []
    for config in configs:
        t0 = time.perf_counter()
        found = await saver.aget_tuple(config)
        gets.append(time.perf_counter() - t0)
        assert found is not None
    return puts, gets, elapsed, sets


async def _resume(saver: BaseCheckpointSaver[Any]) -> float:
    """Median time to load the latest state of a thread with RESUME_STEPS checkpoints."""
    parent = None
    messages: list[dict[str, str]] = []
    for step in range(RESUME_STEPS):
        messages = [*messages, _message(step)]
        cp, _ = _checkpoint(step, messages, parent)
        config = {"configurable": {"thread_id": "resume", "checkpoint_ns": ""}}
        if parent:
            config["configurable"]["checkpoint_id"] = parent
        saved = await saver.aput(
            config,
            cp,
            {"source": "loop", "step": step},
            {"messages": cp["channel_versions"]["messages"]},
        )
        parent = saved["configurable"]["checkpoint_id"]
    loads = []
    for _ in range(RESUME_LOADS):
        t0 = time.perf_counter()
        found = await saver.aget_tuple({"configurable": {"thread_id": "resume"}})
        loads.append(time.perf_counter() - t0)
        assert found is not None
        assert len(found.checkpoint["channel_values"]["messages"]) == RESUME_STEPS
    return statistics.median(loads) * 1e3


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, RedisServer(Path(tmp) / "redis") as server:

        @asynccontextmanager
        async def sqlite() -> AsyncIterator[BaseCheckpointSaver[Any]]:
            async with AsyncSqliteSaver.from_conn_string(f"{tmp}/{time.time_ns()}.db") as s:
                await s.setup()
                # The pragmas LuminaMind's own saver sets (`luminamind.state.sqlite_saver`).
                for pragma in ("journal_mode=WAL", "busy_timeout=5000", "synchronous=NORMAL"):
                    await s.conn.execute(f"PRAGMA {pragma}")
                yield s

        @asynccontextmanager
        async def ours() -> AsyncIterator[BaseCheckpointSaver[Any]]:
            async with open_sqlite_checkpointer(Path(tmp) / f"{time.time_ns()}.db") as s:
                yield s

        @asynccontextmanager
        async def memory() -> AsyncIterator[BaseCheckpointSaver[Any]]:
            yield InMemorySaver()

        @asynccontextmanager
        async def rds() -> AsyncIterator[BaseCheckpointSaver[Any]]:
            async with AsyncRedisSaver(RedisOptions(server.url), prefix=f"b{time.time_ns()}") as s:
                yield s

        savers: dict[str, Callable[[], AbstractAsyncContextManager[BaseCheckpointSaver[Any]]]] = {
            "Redis (AsyncRedisSaver)": rds,
            "SQLite, LuminaMind's (`SqliteCheckpointer`, the default)": ours,
            "SQLite, LangGraph's `AsyncSqliteSaver` (aiosqlite)": sqlite,
            "in-memory (InMemorySaver)": memory,
        }
        probe = redis.asyncio.Redis.from_url(server.url)
        set_samples: list[float] = []
        rows = []
        redis_put_p50 = 0.0
        for name, factory in savers.items():
            is_redis = name.startswith("Redis")
            async with factory() as saver:
                await _put_stream(saver)  # warm-up run (scripts loaded, caches hot)
            async with factory() as saver:
                puts, gets, elapsed, sets = await _put_stream(saver, probe if is_redis else None)
            set_samples += sets
            async with factory() as saver:
                resume_ms = await _resume(saver)
            if is_redis:
                redis_put_p50 = _pct(puts, 0.5)
            rows.append(
                f"| {name} | {_pct(puts, 0.5):.0f} | {_pct(puts, 0.95):.0f} | "
                f"{PUTS / elapsed:,.0f} | {_pct(gets, 0.5):.0f} | {_pct(gets, 0.95):.0f} | "
                f"{resume_ms:.1f} |"
            )
            print(rows[-1], flush=True)
        await probe.aclose()
        set_p50 = _pct(set_samples, 0.5)
        ratio = redis_put_p50 / set_p50
        report = f"""## Checkpointers (`bench/checkpoint.py`)

{machine_line()}; Redis server: `{server.binary.name}` on 127.0.0.1 (no AOF), redis-py asyncio.
{PUTS} agent-like checkpoints ({THREADS} threads x {PUTS // THREADS} steps, a 10-message window
and a TODO list; one or two channels change per step), the same stream for every saver; then
every checkpoint read back by id. Resume: load the latest state of a {RESUME_STEPS}-step thread
holding {RESUME_STEPS} messages (median of {RESUME_LOADS}). Latencies in microseconds.

| saver | put p50 | put p95 | puts/s | get p50 | get p95 | resume 1,000 steps (ms) |
|---|---:|---:|---:|---:|---:|---:|
{chr(10).join(rows)}

Bare Redis `SET` (64 bytes) round trip, same server and client type, timed right before each
Redis put: p50 {set_p50:.0f} µs,
p95 {_pct(set_samples, 0.95):.0f} µs. **Redis put p50 / SET p50 = {ratio:.2f}x** (target <= 2x):
a put is one `EVALSHA` (checkpoint, index, changed channel values and TTLs in one atomic
script), so it pays one round trip plus serialisation.

Both SQLite savers run LangGraph's SQL on the same pragmas (WAL, `synchronous=NORMAL`).
LangGraph's `AsyncSqliteSaver` sends each statement, cursor, fetch and commit to aiosqlite's
thread; LuminaMind's runs LangGraph's synchronous `SqliteSaver` whole on its own thread, one
trip per call (`luminamind.state.sqlite_saver`).
"""
        write_section("checkpoint", report)
        print(report)


if __name__ == "__main__":
    asyncio.run(main())
