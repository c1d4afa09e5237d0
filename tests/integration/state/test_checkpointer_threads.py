"""The checkpointer factory and the thread stores, on real SQLite files."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from pydantic import SecretStr

from luminamind.config import Settings
from luminamind.errors import CheckpointError, ConfigError, ThreadNotFoundError
from luminamind.state.checkpointer import backend_of, checkpoint_path, open_checkpointer
from luminamind.state.threads import (
    MemoryThreadStore,
    SqliteThreadStore,
    ThreadStore,
    title_from,
)


def test_backend_selection(settings: Settings) -> None:
    assert backend_of(settings) == "sqlite"
    with_redis = settings.model_copy(update={"redis_url": SecretStr("redis://127.0.0.1:1/0")})
    assert backend_of(with_redis) == "redis"
    forced = with_redis.model_copy(update={"state_backend": "sqlite"})
    assert backend_of(forced) == "sqlite"


async def test_memory_and_sqlite_checkpointers(settings: Settings) -> None:
    memory = settings.model_copy(update={"state_backend": "memory"})
    async with open_checkpointer(memory) as saver:
        assert isinstance(saver, InMemorySaver)
    async with open_checkpointer(settings) as saver:
        assert type(saver).__name__ == "SqliteCheckpointer"
        assert [t async for t in saver.alist(None)] == []
    assert checkpoint_path(settings).exists()


async def test_unusable_sqlite_path_is_a_checkpoint_error(
    settings: Settings, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("file in the way")
    broken = settings.model_copy(update={"data_dir": blocker / "data"})
    with pytest.raises(CheckpointError, match="checkpoint database"):
        async with open_checkpointer(broken):
            pass


async def test_redis_backend_without_url_is_a_config_error(settings: Settings) -> None:
    redis = settings.model_copy(update={"state_backend": "redis", "redis_url": None})
    with pytest.raises(ConfigError, match="LUMINAMIND_REDIS_URL"):
        async with open_checkpointer(redis):
            pass


def test_title_from_first_line() -> None:
    assert title_from("\n  Fix the bug\nin app.py") == "Fix the bug"
    assert title_from("   ") == "(untitled)"
    long = title_from("x" * 200)
    assert len(long) == 80
    assert long.endswith("…")


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ThreadStore:
    if request.param == "memory":
        return MemoryThreadStore()
    return SqliteThreadStore(tmp_path / "threads.sqlite")


async def test_thread_store_lifecycle(store: ThreadStore) -> None:
    first = await store.create("a", title="First", surface="cli", workspace="/w")
    again = await store.create("a", title="Other", surface="mcp", workspace="/x")
    assert again == first  # creating twice keeps the original
    await asyncio.sleep(0.01)
    await store.create("b", title="Second", surface="lsp", workspace="/w")
    assert [t.thread_id for t in await store.list()] == ["b", "a"]
    await asyncio.sleep(0.01)
    await store.set_status("a", "awaiting_approval")
    listed = await store.list()
    assert [t.thread_id for t in listed] == ["a", "b"]
    assert listed[0].status == "awaiting_approval"
    assert listed[0].updated_at > listed[0].created_at
    assert await store.approve_all("a") is False
    await store.set_approve_all("a", True)
    assert await store.approve_all("a") is True
    assert await store.approve_all("b") is False
    assert await store.delete("a") is True
    assert await store.delete("a") is False
    assert await store.find("a") is None
    with pytest.raises(ThreadNotFoundError, match="no thread 'a'"):
        await store.get("a")


async def test_sqlite_store_is_shared_between_instances(tmp_path: Path) -> None:
    path = tmp_path / "threads.sqlite"
    await SqliteThreadStore(path).create("t", title="T", surface="cli", workspace="/w")
    assert (await SqliteThreadStore(path).get("t")).title == "T"


async def test_sqlite_store_commits_without_an_fsync_each(tmp_path: Path) -> None:
    """WAL with synchronous=NORMAL, as the checkpointer: a run's status write never waits for
    the disk (it was the most variable part of sending a message, bench/agent_overhead.py)."""
    store = SqliteThreadStore(tmp_path / "threads.sqlite")
    modes = await store._run(
        lambda conn: (
            conn.execute("PRAGMA journal_mode").fetchone()[0],
            conn.execute("PRAGMA synchronous").fetchone()[0],
        )
    )
    assert modes == ("wal", 1)  # 1: NORMAL (FULL, SQLite's default, is 2)


def test_sqlite_store_on_a_corrupt_file_is_a_checkpoint_error(tmp_path: Path) -> None:
    path = tmp_path / "threads.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CheckpointError, match="thread database"):
        SqliteThreadStore(path)


async def test_a_thread_database_from_before_run_owners_gains_them(tmp_path: Path) -> None:
    """A threads.sqlite made before runs recorded their owner opens, keeps its rows, and works."""
    path = tmp_path / "threads.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(
            "CREATE TABLE threads (thread_id TEXT PRIMARY KEY, title TEXT NOT NULL, "
            "surface TEXT NOT NULL, workspace TEXT NOT NULL, created_at TEXT NOT NULL, "
            "updated_at TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'idle', "
            "approve_all INTEGER NOT NULL DEFAULT 0);"
            "INSERT INTO threads (thread_id, title, surface, workspace, created_at, updated_at) "
            "VALUES ('old', 'Old', 'cli', '/w', '2026-01-01T00:00:00+00:00', "
            "'2026-01-01T00:00:00+00:00');"
        )
    conn.close()
    store = SqliteThreadStore(path)
    SqliteThreadStore(path)  # a second process opening it meanwhile changes nothing
    assert (await store.get("old")).title == "Old"
    assert await store.run_owner("old") is None
    await store.start_run("old", "host:7")
    owner = await store.run_owner("old")
    assert owner is not None
    assert (owner.host, owner.pid) == ("host", 7)
