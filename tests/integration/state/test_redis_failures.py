"""Redis failures, with real server processes killed and restarted:

- unreachable at start: one `CheckpointError` naming the URL, password redacted;
- Redis dies in the middle of a graph run: the step fails with that error, nothing is
  half-written, and the thread resumes from its last checkpoint once Redis is back;
- restart (clean or SIGKILL) with AOF on: every thread survives;
- the tool-result cache degrades to no cache while Redis is down, and recovers.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, TypedDict

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.conformance.test_utils import generate_config
from langgraph.graph import END, START, StateGraph
from pydantic import SecretStr

from luminamind.config import Settings
from luminamind.errors import CheckpointError
from luminamind.state.cache import ToolCache
from luminamind.state.checkpointer import open_checkpointer
from luminamind.state.redis import AsyncRedisSaver
from luminamind.state.redis.cache import RedisCacheBackend
from luminamind.state.redis.conn import RedisOptions
from tests.support.redis_server import RedisServer, free_port


def _fast(url: str) -> RedisOptions:
    """Options that give up quickly on a dead server."""
    return RedisOptions(url, retries=1, socket_timeout=1.0, connect_timeout=0.5)


async def test_unreachable_at_start_names_the_url(settings: Settings) -> None:
    port = free_port()
    url = f"redis://:hunter2-secret@127.0.0.1:{port}/0"
    with pytest.raises(CheckpointError) as err:
        async with open_checkpointer(settings.model_copy(update={"redis_url": SecretStr(url)})):
            pass
    message = str(err.value)
    assert f"redis://:[REDACTED]@127.0.0.1:{port}/0" in message
    assert "hunter2-secret" not in message
    assert "failed to connect" in message


class _State(TypedDict):
    done: list[str]


def _graph(saver: AsyncRedisSaver, on_two: Any) -> Any:  # Any: node callback, compiled graph
    def one(state: _State) -> dict[str, list[str]]:
        return {"done": [*state["done"], "one"]}

    def two(state: _State) -> dict[str, list[str]]:
        on_two()
        return {"done": [*state["done"], "two"]}

    def three(state: _State) -> dict[str, list[str]]:
        return {"done": [*state["done"], "three"]}

    builder = StateGraph(_State)
    for name, node in (("one", one), ("two", two), ("three", three)):
        builder.add_node(name, node)
    builder.add_edge(START, "one")
    builder.add_edge("one", "two")
    builder.add_edge("two", "three")
    builder.add_edge("three", END)
    return builder.compile(checkpointer=saver)


async def test_redis_dies_mid_task_and_the_thread_resumes(tmp_path: Path) -> None:
    server = RedisServer(tmp_path, appendonly=True).start()
    config: RunnableConfig = {"configurable": {"thread_id": "mid-task"}}
    kills: list[int] = []

    def kill_once() -> None:
        if not kills:
            kills.append(1)
            server.kill()  # Redis dies while node "two" runs; its checkpoint cannot be saved

    try:
        async with AsyncRedisSaver(_fast(server.url)) as saver:
            graph = _graph(saver, kill_once)
            with pytest.raises(CheckpointError, match=f"127.0.0.1:{server.port}"):
                # durability="sync": each checkpoint is saved before the next step starts, so
                # the one after "one" is known to be in Redis when "two" kills it.
                await graph.ainvoke({"done": []}, config, durability="sync")
            server.start()  # same port, same AOF: the saver's pool reconnects by itself
            state = await graph.aget_state(config)
            assert state.values == {"done": ["one"]}  # the last complete checkpoint
            assert state.next == ("two",)
            history = [s async for s in graph.aget_state_history(config)]
            for snapshot in history:  # every stored checkpoint loads whole
                assert set(snapshot.values) <= {"done"}
            final = await graph.ainvoke(None, config)
            assert final == {"done": ["one", "two", "three"]}
            assert len(kills) == 1
    finally:
        server.kill()


async def test_a_killed_write_is_all_or_nothing(tmp_path: Path) -> None:
    """SIGKILL while many puts are in flight: each checkpoint is whole or absent."""
    server = RedisServer(tmp_path, appendonly=True).start()
    try:
        async with AsyncRedisSaver(_fast(server.url)) as saver:
            graph = _graph(saver, lambda: None)

            async def run(i: int) -> None:
                await graph.ainvoke({"done": []}, {"configurable": {"thread_id": f"t{i}"}})

            tasks = [asyncio.create_task(run(i)) for i in range(40)]
            await asyncio.sleep(0.01)
            server.kill()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            assert any(isinstance(r, CheckpointError) for r in results)
            server.start()
            for i in range(40):
                async for tup in saver.alist(generate_config(f"t{i}")):
                    versions = tup.checkpoint["channel_versions"]
                    if "done" in versions:
                        assert "done" in tup.checkpoint["channel_values"]
    finally:
        server.kill()


@pytest.mark.parametrize("how", ["stop", "kill"])
async def test_threads_survive_a_restart_with_aof(tmp_path: Path, how: str) -> None:
    server = RedisServer(tmp_path, appendonly=True).start()
    try:
        async with AsyncRedisSaver(_fast(server.url)) as saver:
            graph = _graph(saver, lambda: None)
            for i in range(5):
                await graph.ainvoke({"done": []}, {"configurable": {"thread_id": f"aof-{i}"}})
        server.stop() if how == "stop" else server.kill()
        server.start()
        async with AsyncRedisSaver(_fast(server.url)) as saver:
            graph = _graph(saver, lambda: None)
            for i in range(5):
                state = await graph.aget_state({"configurable": {"thread_id": f"aof-{i}"}})
                assert state.values == {"done": ["one", "two", "three"]}
            listed = {t.config["configurable"]["thread_id"] async for t in saver.alist(None)}
            assert listed == {f"aof-{i}" for i in range(5)}
    finally:
        server.kill()


async def test_cache_degrades_while_redis_is_down(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = RedisServer(tmp_path).start()
    backend = RedisCacheBackend(RedisOptions(server.url, retries=0, socket_timeout=0.5))
    cache = ToolCache(backend, retry_seconds=0.2)
    calls = 0

    async def compute() -> dict[str, object]:
        nonlocal calls
        calls += 1
        return {"n": calls}

    async def call() -> tuple[dict[str, Any], bool]:
        return await cache.aget_or_compute(
            "get_weather", {"city": "Oslo"}, ttl_seconds=60, compute=compute
        )

    try:
        assert await call() == ({"n": 1}, False)
        assert await call() == ({"n": 1}, True)
        server.kill()
        with caplog.at_level(logging.WARNING):
            assert await call() == ({"n": 2}, False)  # computed, not failed
            assert await call() == ({"n": 3}, False)  # bypassed: no second round of errors
        server.start()
        await asyncio.sleep(0.25)  # past retry_seconds: the backend is tried again
        assert await call() == ({"n": 4}, False)
        assert await call() == ({"n": 4}, True)
    finally:
        await cache.aclose()
        server.kill()
