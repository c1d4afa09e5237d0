"""The MCP task record stores: memory, SQLite (a real file) and Redis (a real server).

Each keeps a record until its expiry, finds it by id and lists a principal's records oldest
first; a store that cannot be used is a JSON-RPC internal error naming what to fix.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import mcp_types as types
import pytest
from mcp.shared.exceptions import MCPError
from pydantic import SecretStr

from luminamind.config import Settings
from luminamind.state.redis.conn import RedisOptions, connect_async
from luminamind_mcp.task_store import (
    MemoryTaskStore,
    RedisTaskStore,
    SqliteTaskStore,
    TaskRecord,
    TaskStore,
    open_task_store,
)


def record(
    task_id: str, principal: str = "token:a", *, age: float = 0, ttl_ms: int = 60_000
) -> TaskRecord:
    now = time.time() - age
    return TaskRecord(
        task_id=task_id,
        principal=principal,
        session_id="http:s1",
        tool="run_task",
        thread_id="t-1",
        created_at=now,
        updated_at=now,
        ttl_ms=ttl_ms,
    )


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TaskStore]:
    chosen: TaskStore
    if request.param == "memory":
        chosen = MemoryTaskStore()
    elif request.param == "sqlite":
        chosen = SqliteTaskStore(tmp_path / "data" / "mcp_tasks.sqlite")
    else:
        url: str = request.getfixturevalue("redis_url")
        chosen = RedisTaskStore(connect_async(RedisOptions(url=url)), prefix="lm-test")
    yield chosen
    await chosen.aclose()


async def test_put_get_list_and_replace(store: TaskStore) -> None:
    assert await store.get("nope") is None
    await store.put(record("b", age=1))
    await store.put(record("a", age=2))
    await store.put(record("c", principal="token:other"))
    assert [r.task_id for r in await store.list("token:a")] == ["a", "b"]
    assert [r.task_id for r in await store.list("token:other")] == ["c"]
    assert await store.list("anonymous") == []
    done = record("b", age=1).model_copy(
        update={"status": "completed", "result": {"content": [], "isError": False}}
    )
    await store.put(done)
    got = await store.get("b")
    assert got is not None
    assert got.status == "completed"
    assert got.terminal
    assert got.result == {"content": [], "isError": False}


async def test_expired_records_are_gone(store: TaskStore) -> None:
    # Created 2 s ago with a 1 s lifetime: expired already (Redis gets the shortest PX, 1 ms).
    await store.put(record("old", age=2, ttl_ms=1_000))
    await store.put(record("new"))
    time.sleep(0.01)
    assert await store.get("old") is None
    assert [r.task_id for r in await store.list("token:a")] == ["new"]


async def test_an_unusable_sqlite_store_names_the_fix(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data directory should be")
    store = SqliteTaskStore(blocker / "mcp_tasks.sqlite")
    with pytest.raises(MCPError) as info:
        await store.get("x")
    assert info.value.error.code == types.INTERNAL_ERROR
    assert "LUMINAMIND_DATA_DIR" in info.value.error.message


async def test_an_unreachable_redis_names_the_setting_not_the_url() -> None:
    url = "redis://:secret-password@127.0.0.1:1/0"
    options = RedisOptions(url=url, connect_timeout=0.2, retries=0)
    store = RedisTaskStore(connect_async(options), prefix="lm-test")
    try:
        with pytest.raises(MCPError) as info:
            await store.get("x")
    finally:
        await store.aclose()
    assert info.value.error.code == types.INTERNAL_ERROR
    assert "LUMINAMIND_REDIS_URL" in info.value.error.message
    assert "secret-password" not in info.value.error.message


def test_the_store_follows_the_checkpointer_backend(settings: Settings, tmp_path: Path) -> None:
    local = settings.model_copy(update={"state_backend": "auto", "data_dir": tmp_path})
    assert isinstance(open_task_store(local), SqliteTaskStore)
    memory = settings.model_copy(update={"state_backend": "memory"})
    assert isinstance(open_task_store(memory), MemoryTaskStore)
    remote = local.model_copy(update={"redis_url": SecretStr("redis://127.0.0.1:6379/0")})
    assert isinstance(open_task_store(remote), RedisTaskStore)
