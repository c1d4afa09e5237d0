"""State on plain Redis commands: checkpointers, thread metadata, the tool-result cache.

Imported only when the Redis backend is used (redis-py is not loaded otherwise). `RedisOptions`
(`conn`) says how to reach the server; the key layout and scripts are in `keys`; `base` holds
what the sync `RedisSaver` (`saver`) and `AsyncRedisSaver` (`aio`) share, their control flow
included.
"""

from __future__ import annotations

from luminamind.state.redis.aio import AsyncRedisSaver
from luminamind.state.redis.cache import RedisCacheBackend, build_redis_cache_backend
from luminamind.state.redis.conn import RedisOptions, redact_url
from luminamind.state.redis.saver import RedisSaver
from luminamind.state.redis.threads import RedisThreadStore

__all__ = [
    "AsyncRedisSaver",
    "RedisCacheBackend",
    "RedisOptions",
    "RedisSaver",
    "RedisThreadStore",
    "build_redis_cache_backend",
    "redact_url",
]
