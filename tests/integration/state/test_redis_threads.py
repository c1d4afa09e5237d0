"""Thread metadata stores behave alike: memory, SQLite, Redis and Redis Cluster."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis
from pydantic import SecretStr

from luminamind.config import Settings
from luminamind.errors import CheckpointError, ThreadNotFoundError
from luminamind.state.checkpointer import open_thread_store
from luminamind.state.redis import RedisOptions, RedisThreadStore
from luminamind.state.threads import MemoryThreadStore, SqliteThreadStore, ThreadStore
from tests.support.redis_server import free_port


@pytest.fixture(params=["memory", "sqlite", "redis", "redis-cluster"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ThreadStore]:
    kind = request.param
    if kind == "memory":
        yield MemoryThreadStore()
    elif kind == "sqlite":
        yield SqliteThreadStore(tmp_path / "threads.sqlite")
    else:
        cluster = kind == "redis-cluster"
        url = request.getfixturevalue("redis_cluster_url" if cluster else "redis_url")
        redis_store = RedisThreadStore(RedisOptions(url, cluster=cluster))
        yield redis_store
        await redis_store.aclose()


async def test_create_get_list_delete(store: ThreadStore) -> None:
    first = await store.create("t1", title="Fix the bug", surface="cli", workspace="/w")
    assert (first.title, first.surface, first.workspace, first.status) == (
        "Fix the bug",
        "cli",
        "/w",
        "idle",
    )
    again = await store.create("t1", title="other", surface="mcp", workspace="/x")
    assert again == first  # creating twice keeps the original
    await asyncio.sleep(0.002)
    await store.create("t2", title="Second", surface="mcp", workspace="/w")
    assert [t.thread_id for t in await store.list()] == ["t2", "t1"]
    await asyncio.sleep(0.002)
    await store.set_status("t1", "awaiting_approval")
    listed = await store.list()
    assert [t.thread_id for t in listed] == ["t1", "t2"]
    assert listed[0].status == "awaiting_approval"
    assert listed[0].updated_at > listed[0].created_at
    assert await store.find("nope") is None
    with pytest.raises(ThreadNotFoundError, match="nope"):
        await store.get("nope")
    await store.set_status("nope", "running")  # no such thread: nothing is created
    assert await store.find("nope") is None
    assert await store.delete("t1") is True
    assert await store.delete("t1") is False
    assert [t.thread_id for t in await store.list()] == ["t2"]


async def test_approve_all(store: ThreadStore) -> None:
    await store.create("a", title="x", surface="cli", workspace="/w")
    assert await store.approve_all("a") is False
    await store.set_approve_all("a", True)
    assert await store.approve_all("a") is True
    await store.set_approve_all("a", False)
    assert await store.approve_all("a") is False
    if not isinstance(store, MemoryThreadStore):  # the memory store records it regardless
        await store.set_approve_all("missing", True)
        assert await store.approve_all("missing") is False


async def test_redis_store_expires_with_the_ttl(redis_url: str) -> None:
    store = RedisThreadStore(RedisOptions(redis_url), ttl_seconds=0.2)
    await store.create("short", title="x", surface="cli", workspace="/w")
    assert [t.thread_id for t in await store.list()] == ["short"]
    await asyncio.sleep(0.35)
    assert await store.list() == []
    with redis.Redis.from_url(redis_url) as client:
        assert client.zcard("lm:thread-index") == 0  # the stale entry was dropped
    await store.aclose()


async def test_redis_store_failure_is_a_checkpoint_error() -> None:
    store = RedisThreadStore(RedisOptions(f"redis://:pw-9876543@127.0.0.1:{free_port()}/0"))
    with pytest.raises(CheckpointError, match=r"127\.0\.0\.1") as err:
        await store.list()
    assert "pw-9876543" not in str(err.value)
    await store.aclose()


def test_open_thread_store_follows_the_backend(settings: Settings, redis_url: str) -> None:
    assert isinstance(open_thread_store(settings), SqliteThreadStore)
    with_redis = settings.model_copy(update={"redis_url": SecretStr(redis_url)})
    assert isinstance(open_thread_store(with_redis), RedisThreadStore)
    forced = with_redis.model_copy(update={"state_backend": "sqlite"})
    assert isinstance(open_thread_store(forced), SqliteThreadStore)


async def test_run_owner_heartbeat_and_end(store: ThreadStore) -> None:
    """A run's mark: who holds the thread, renewed only while it still does."""
    await store.create("t1", title="x", surface="cli", workspace="/w")
    assert await store.run_owner("t1") is None
    await store.start_run("t1", "box-1:4242")
    owner = await store.run_owner("t1")
    assert owner is not None
    assert (owner.host, owner.pid) == ("box-1", 4242)
    assert (await store.get("t1")).status == "running"
    await asyncio.sleep(0.01)
    await store.beat_run("t1", "box-1:4242")
    renewed = await store.run_owner("t1")
    assert renewed is not None
    assert renewed.beat > owner.beat
    await store.beat_run("t1", "box-2:1")  # not the owner: nothing changes
    assert await store.run_owner("t1") == renewed
    await store.set_status("t1", "idle")  # the run ended
    assert await store.run_owner("t1") is None
    await store.beat_run("t1", "box-1:4242")  # a late heartbeat does not mark it again
    assert await store.run_owner("t1") is None
    assert (await store.get("t1")).status == "idle"
    await store.start_run("missing", "box-1:1")  # no such thread: nothing is created
    assert await store.find("missing") is None


async def test_redis_status_update_survives_a_server_that_lost_its_scripts(
    redis_url: str,
) -> None:
    """Status and index go in one pipeline by script hash; a flushed script cache reloads it."""
    store = RedisThreadStore(RedisOptions(redis_url))
    try:
        await store.create("t1", title="x", surface="cli", workspace="/w")
        await store.create("t2", title="y", surface="cli", workspace="/w")
        await store.client.script_flush()  # as after a restart or a failover
        await asyncio.sleep(0.002)
        await store.start_run("t1", "box-1:7")
        assert (await store.get("t1")).status == "running"
        assert [t.thread_id for t in await store.list()] == ["t1", "t2"]
        await store.client.script_flush()
        await store.set_status("t1", "idle")
        assert (await store.get("t1")).status == "idle"
    finally:
        await store.aclose()
