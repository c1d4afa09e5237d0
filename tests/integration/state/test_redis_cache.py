"""The Redis tool-result cache backend: commands, expiry, sharing between replicas, selection."""

from __future__ import annotations

import asyncio

import pytest
import redis
from pydantic import SecretStr

from luminamind.config import Settings
from luminamind.state.cache import ToolCache, build_cache_backend, build_tool_cache
from luminamind.state.redis.cache import RedisCacheBackend
from luminamind.state.redis.conn import RedisOptions


@pytest.mark.parametrize("cluster", [False, True], ids=["standalone", "cluster"])
async def test_backend_commands(request: pytest.FixtureRequest, cluster: bool) -> None:
    url = request.getfixturevalue("redis_cluster_url" if cluster else "redis_url")
    backend = RedisCacheBackend(RedisOptions(url, cluster=cluster))
    try:
        assert await backend.aget("k") is None
        await backend.aset("k", b"\x00binary\xff", ttl_seconds=60)
        assert await backend.aget("k") == b"\x00binary\xff"
        await backend.aset("short", b"v", ttl_seconds=0.05)
        await asyncio.sleep(0.1)
        assert await backend.aget("short") is None
        for key in ("a*1", "a*2", "ab", "b"):  # '*' in a prefix is a literal, not a glob
            await backend.aset(key, key.encode(), ttl_seconds=60)
        await backend.aclear("a*")
        assert [await backend.aget(k) for k in ("a*1", "a*2", "ab", "b")] == [
            None,
            None,
            b"ab",
            b"b",
        ]
        await backend.adelete("b")
        await backend.adelete("b")  # absent is fine
        assert await backend.aget("b") is None
    finally:
        await backend.aclose()
    with redis.Redis.from_url(url) as client:
        assert client.pttl("lm:cache:k") > 55_000


async def test_replicas_share_results(redis_settings: Settings) -> None:
    settings = redis_settings.model_copy(
        update={"cache": redis_settings.cache.model_copy(update={"backend": "redis"})}
    )
    calls = 0

    async def compute() -> dict[str, object]:
        nonlocal calls
        calls += 1
        return {"answer": 42}

    one, two = build_tool_cache(settings), build_tool_cache(settings)
    assert one is not None
    assert two is not None
    try:
        first = await one.aget_or_compute("web_search", {"q": "x"}, ttl_seconds=60, compute=compute)
        second = await two.aget_or_compute(
            "web_search", {"q": "x"}, ttl_seconds=60, compute=compute
        )
    finally:
        await one.aclose()
        await two.aclose()
    assert first == ({"answer": 42}, False)
    assert second == ({"answer": 42}, True)
    assert calls == 1


def test_redis_url_selects_the_redis_cache_unless_told_otherwise(tmp_path: object) -> None:
    base = Settings(redis_url=SecretStr("redis://127.0.0.1:1/0"))
    assert isinstance(build_cache_backend(base), RedisCacheBackend)
    explicit = Settings(redis_url=SecretStr("redis://127.0.0.1:1/0"), cache={"backend": "memory"})
    assert build_cache_backend(explicit).name == "memory"  # type: ignore[union-attr]
    missing = Settings(cache={"backend": "redis"})
    assert build_cache_backend(missing) is None  # warned: no LUMINAMIND_REDIS_URL
    assert isinstance(ToolCache, type)
