"""`RedisStore`: what the Redis stores beside the checkpointer share.

The thread store (`threads`) and the snapshot store (`luminamind.state.snapshots.redis`) keep
per-thread records under the checkpointer's key prefix, expire them with its TTL and turn
redis-py's errors into `CheckpointError` naming the server; this is that part, once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar, Self

import redis.exceptions

from luminamind.config import Settings
from luminamind.errors import CheckpointError
from luminamind.state.redis.conn import RedisClient, RedisOptions, aclose_client, connect_async

__all__ = ["RedisStore"]


class RedisStore:
    """A store of per-thread records on one Redis connection pool.

    Args:
        options: how to reach Redis.
        prefix: the key prefix shared with the checkpointer (``redis_key_prefix``).
        ttl_seconds: expire a thread's records this long after its last update.
        client: an existing client (tests, a shared pool); one is made from ``options``
            otherwise (it connects lazily, on first use).
    """

    # What the store is called in its error messages ("thread store", "snapshot store").
    kind: ClassVar[str] = "store"

    def __init__(
        self,
        options: RedisOptions,
        *,
        prefix: str = "lm",
        ttl_seconds: float | None = None,
        client: RedisClient | None = None,
    ) -> None:
        self.options = options
        self._prefix = prefix
        self._ttl_ms = int(ttl_seconds * 1000) if ttl_seconds else 0
        self.client = client if client is not None else connect_async(options)

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """The store for ``LUMINAMIND_REDIS_URL`` (connects lazily, on first use)."""
        return cls(
            RedisOptions.from_settings(settings),
            prefix=settings.redis_key_prefix,
            ttl_seconds=settings.redis_ttl_seconds,
        )

    @contextmanager
    def _guard(self, operation: str) -> Iterator[None]:
        try:
            yield
        except redis.exceptions.RedisError as exc:
            raise CheckpointError(
                f"Redis {self.kind} at {self.options.safe_url} failed to {operation}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    async def aclose(self) -> None:
        """Close the connection pool."""
        await aclose_client(self.client)
