"""The SQLite checkpointer's own promises (the shared saver suite covers what it stores).

One trip to its worker thread per call, the connection used from that thread only (or under
the saver's lock from a caller's thread, for LangGraph's synchronous API), calls that overlap
without losing anything or deadlocking, and nothing left open after its block.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.base import ChannelVersions
from langgraph.checkpoint.conformance.test_utils import (
    generate_checkpoint,
    generate_config,
    generate_metadata,
)

from luminamind.state.sqlite_saver import SqliteCheckpointer, open_sqlite_checkpointer


@pytest.fixture
async def saver(tmp_path: Path) -> AsyncIterator[SqliteCheckpointer]:
    async with open_sqlite_checkpointer(tmp_path / "checkpoints.sqlite") as opened:
        yield opened


async def _put(saver: SqliteCheckpointer, thread_id: str, parent: Any = None) -> Any:
    config = generate_config(thread_id)
    if parent is not None:
        config["configurable"]["checkpoint_id"] = parent["configurable"]["checkpoint_id"]
    versions: ChannelVersions = {"messages": saver.get_next_version(None, None)}
    checkpoint = generate_checkpoint(channel_values={"messages": ["hi"]}, channel_versions=versions)
    return await saver.aput(config, checkpoint, generate_metadata(step=0), versions)


class _TripCounter:
    """Counts the calls the saver hands to its worker thread."""

    def __init__(self, saver: SqliteCheckpointer) -> None:
        self.trips = 0
        submit = saver._worker.submit

        def counting(*args: Any, **kwargs: Any) -> Any:
            self.trips += 1
            return submit(*args, **kwargs)

        saver._worker.submit = counting  # type: ignore[method-assign]


async def test_every_async_call_is_one_trip_to_the_worker(saver: SqliteCheckpointer) -> None:
    counter = _TripCounter(saver)
    first = await _put(saver, "t1")
    assert counter.trips == 1
    await saver.aput_writes(first, [("messages", "a"), ("todos", ["b"]), ("x", 1)], "task-1")
    assert counter.trips == 2
    found = await saver.aget_tuple(first)
    assert found is not None
    assert len(found.pending_writes or []) == 3
    assert counter.trips == 3
    assert [t.config async for t in saver.alist(generate_config("t1"))] == [found.config]
    assert counter.trips == 4
    history = await saver.aget_delta_channel_history(config=first, channels=["messages"])
    assert set(history) == {"messages"}
    assert counter.trips == 5
    await saver.adelete_thread("t1")
    assert counter.trips == 6
    assert await saver.aget_tuple(first) is None


async def test_statements_run_on_the_worker_thread_only(saver: SqliteCheckpointer) -> None:
    threads: set[int] = set()
    saver.conn.set_trace_callback(lambda _sql: threads.add(threading.get_ident()))
    config = await _put(saver, "t1")
    await saver.aput_writes(config, [("messages", "a")], "task-1")
    assert await saver.aget_tuple(config) is not None
    assert [t async for t in saver.alist(None)]
    assert len(threads) == 1
    assert threading.get_ident() not in threads  # never the event loop's thread


async def test_overlapping_calls_lose_nothing(saver: SqliteCheckpointer) -> None:
    configs = await asyncio.gather(*(_put(saver, f"t{i}") for i in range(40)))
    await asyncio.gather(
        *(saver.aput_writes(c, [("messages", i)], f"task-{i}") for i, c in enumerate(configs))
    )
    found = await asyncio.gather(*(saver.aget_tuple(c) for c in configs))
    assert [t.pending_writes[0][2] for t in found if t and t.pending_writes] == list(range(40))


async def test_a_listing_in_progress_does_not_block_other_calls(
    saver: SqliteCheckpointer,
) -> None:
    parent = None
    for _ in range(30):
        parent = await _put(saver, "long", parent)
    listing = saver.alist(generate_config("long"))
    assert await anext(listing) is not None  # suspended mid-listing, as a slow consumer is
    assert await asyncio.wait_for(_put(saver, "other"), timeout=10) is not None
    assert len([t async for t in listing]) == 29


async def test_the_synchronous_api_works_from_another_thread(saver: SqliteCheckpointer) -> None:
    """LangGraph's sync graph methods (e.g. ``get_state`` in a worker thread) use the same saver."""
    config = await _put(saver, "t1")
    results = await asyncio.gather(
        *(asyncio.to_thread(saver.get_tuple, config) for _ in range(8)),
        *(saver.aget_tuple(config) for _ in range(8)),
    )
    assert all(r is not None and r.config == config for r in results)


async def test_nothing_is_left_open_after_the_block(tmp_path: Path) -> None:
    async with open_sqlite_checkpointer(tmp_path / "c.sqlite") as saver:
        await _put(saver, "t1")
        worker = saver._worker
    with pytest.raises(sqlite3.ProgrammingError):
        saver.conn.execute("SELECT 1")
    assert worker._shutdown
    assert not [t for t in threading.enumerate() if t.name.startswith("luminamind-checkpoints")]


async def test_the_file_survives_for_the_next_process(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    async with open_sqlite_checkpointer(path) as saver:
        config = await _put(saver, "t1")
    async with open_sqlite_checkpointer(path) as reopened:
        found = await reopened.aget_tuple(config)
    assert found is not None
    assert found.checkpoint["channel_values"] == {"messages": ["hi"]}
    journal = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()
    assert journal == ("wal",)
