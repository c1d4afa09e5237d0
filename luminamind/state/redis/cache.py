"""The Redis backend of the tool-result cache (`luminamind.state.cache.CacheBackend`).

Entries are plain strings with a millisecond expiry (``SET key value PX ttl``), so Redis evicts
them by itself and every replica sharing the server shares the cache. The client fails fast
(1 s socket timeout, one retry): `ResilientBackend` turns a failure into a miss and bypasses the
backend for a while, so a dead Redis slows no tool call down and fails none.
"""

from __future__ import annotations

from luminamind.config import Settings
from luminamind.state.redis.conn import RedisClient, RedisOptions, aclose_client, connect_async

__all__ = ["RedisCacheBackend", "build_redis_cache_backend"]

_CLEAR_BATCH = 500


class RedisCacheBackend:
    """A `CacheBackend` over one Redis server, sentinel-managed master or cluster.

    Args:
        options: how to reach Redis (the cache uses short timeouts; see the module docstring).
        prefix: prepended to every key (``<prefix>:cache:``), so deployments can share a server.
    """

    name = "redis"

    def __init__(
        self, options: RedisOptions, *, prefix: str = "lm", client: RedisClient | None = None
    ) -> None:
        self.options = options
        self._prefix = f"{prefix}:cache:"
        self.client = client if client is not None else connect_async(options)

    def _key(self, key: str) -> str:
        return self._prefix + key

    async def aget(self, key: str) -> bytes | None:
        value: bytes | None = await self.client.get(self._key(key))
        return value

    async def aset(self, key: str, value: bytes, *, ttl_seconds: float) -> None:
        await self.client.set(self._key(key), value, px=max(1, int(ttl_seconds * 1000)))

    async def adelete(self, key: str) -> None:
        await self.client.unlink(self._key(key))

    async def aclear(self, prefix: str) -> None:
        # SCAN, not KEYS: clearing is rare and must not block the server. Keys are unlinked one
        # per command in a pipeline, since on a cluster they live in different slots.
        pattern = _escape_glob(self._key(prefix)) + "*"
        batch: list[bytes] = []
        async for key in self.client.scan_iter(match=pattern, count=_CLEAR_BATCH):
            batch.append(key)
            if len(batch) >= _CLEAR_BATCH:
                await self._unlink(batch)
                batch = []
        if batch:
            await self._unlink(batch)

    async def _unlink(self, keys: list[bytes]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            # execute_command: a cluster pipeline's unlink() is a coroutine that splits by slot
            pipe.execute_command("UNLINK", key)
        await pipe.execute()

    async def aclose(self) -> None:
        await aclose_client(self.client)


def _escape_glob(text: str) -> str:
    """Escape SCAN's glob characters so a prefix matches only itself."""
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


def build_redis_cache_backend(settings: Settings) -> RedisCacheBackend:
    """The cache backend for ``LUMINAMIND_REDIS_URL`` (connects lazily, on first use)."""
    base = RedisOptions.from_settings(settings)
    options = RedisOptions(
        url=base.url,
        cluster=base.cluster,
        socket_timeout=min(base.socket_timeout, 1.0),
        connect_timeout=min(base.connect_timeout, 1.0),
        retries=1,
        max_connections=base.max_connections,
    )
    return RedisCacheBackend(options, prefix=settings.redis_key_prefix)
