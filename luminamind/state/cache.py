"""The tool-result cache: backends, single-flight, degradation to no cache.

Backends implement `CacheBackend`, a small async key-value protocol with TTLs. Values are bytes
(compact JSON written by the caches), keys are strings made by `cache_key`:
``lm:<namespace>:v<version>:<name>:<sha256 of the canonical arguments>``. The built-in backends
are `MemoryCacheBackend` (LRU, bounded by entries and bytes) and
``luminamind.state._cache_sqlite.SqliteCacheBackend`` (the default; one file in the data dir).

A Redis backend plugs in as ``luminamind.state.redis.cache.build_redis_cache_backend(settings)``
returning a `CacheBackend`; `build_cache_backend` imports it when ``cache.backend = "redis"``,
or when ``LUMINAMIND_REDIS_URL`` is set and ``cache.backend`` is not (replicas share the cache).
The protocol maps onto plain Redis commands: ``aget`` = GET, ``aset`` = SET key value PX ttl,
``adelete`` = DEL, ``aclear(prefix)`` = SCAN MATCH prefix* + UNLINK, ``aclose`` closes the pool.
Backends raise whatever their client raises; callers wrap them in `ResilientBackend`, which
turns failures into cache misses, logs ONE ``cache_backend_failed`` warning, bypasses the
backend for ``cache.retry_seconds`` and then tries it again (logging ``cache_backend_recovered``
when it works). A dead cache never fails a tool call.

`ToolCache` is what ``luminamind.tools.executor.ToolExecutor`` uses (the ``ToolResultCache``
protocol). Concurrent identical calls in one process run once (single-flight: one task per key,
awaited by every caller; it is cancelled only when every caller has gone). Look-ups are counted
in ``luminamind_cache_requests_total{cache="tool", result="hit|miss|error"}``; callers that
joined a running flight count as hits, calls made while the backend is bypassed as errors.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from luminamind import __version__
from luminamind.config import Settings
from luminamind.errors import ConfigError
from luminamind.observability.metrics import get_metrics

__all__ = [
    "CacheBackend",
    "MemoryCacheBackend",
    "ResilientBackend",
    "ToolCache",
    "build_cache_backend",
    "build_tool_cache",
    "cache_key",
]

_log = structlog.get_logger(__name__)
JsonDict = dict[str, Any]  # Any: JSON values
Clock = Callable[[], float]


class CacheBackend(Protocol):
    """An async key-value store with per-entry TTLs (memory, SQLite, Redis)."""

    name: str

    async def aget(self, key: str) -> bytes | None:
        """The value, or None when absent or expired."""
        ...

    async def aset(self, key: str, value: bytes, *, ttl_seconds: float) -> None:
        """Store ``value`` for ``ttl_seconds``; may evict other entries to stay bounded."""
        ...

    async def adelete(self, key: str) -> None:
        """Remove one entry (absent is fine)."""
        ...

    async def aclear(self, prefix: str) -> None:
        """Remove every entry whose key starts with ``prefix``."""
        ...

    async def aclose(self) -> None:
        """Release connections, threads and files."""
        ...


def cache_key(namespace: str, name: str, payload: Mapping[str, Any] | str) -> str:
    """A backend key: namespace, version, name and the SHA-256 of the canonical payload.

    Mappings are serialised as canonical JSON (sorted keys, no spaces), so argument order and
    spacing never split the cache. The version keeps entries from older result models apart.
    """
    if isinstance(payload, str):
        text = payload
    else:
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return f"lm:{namespace}:v{__version__}:{name}:{digest}"


class MemoryCacheBackend:
    """An in-process LRU bounded by entry count and total bytes."""

    name = "memory"

    def __init__(
        self, *, max_entries: int = 10_000, max_bytes: int = 64_000_000, clock: Clock = time.time
    ) -> None:
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._bytes = 0
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._clock = clock

    def __len__(self) -> int:
        return len(self._entries)

    async def aget(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return entry[1]

    async def aset(self, key: str, value: bytes, *, ttl_seconds: float) -> None:
        if len(value) > self._max_bytes:
            return
        self._drop(key)
        self._entries[key] = (self._clock() + ttl_seconds, value)
        self._bytes += len(value)
        while len(self._entries) > self._max_entries or self._bytes > self._max_bytes:
            self._drop(next(iter(self._entries)))  # least recently used first

    async def adelete(self, key: str) -> None:
        self._drop(key)

    async def aclear(self, prefix: str) -> None:
        for key in [k for k in self._entries if k.startswith(prefix)]:
            self._drop(key)

    async def aclose(self) -> None:
        self._entries.clear()
        self._bytes = 0

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= len(entry[1])


class _Unavailable:
    """Marker: the backend failed or is being bypassed (distinct from a miss)."""


UNAVAILABLE = _Unavailable()


class ResilientBackend:
    """Wraps a backend so that failures become misses, with one warning per outage.

    Args:
        backend: the real backend.
        cache: ``tool`` or ``llm`` (log and metric context).
        retry_seconds: how long to bypass the backend after a failure before trying again.
        timeout_seconds: a backend call slower than this counts as a failure.
    """

    def __init__(
        self,
        backend: CacheBackend,
        *,
        cache: str,
        retry_seconds: float = 60.0,
        timeout_seconds: float = 2.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self.backend = backend
        self._cache = cache
        self._retry = retry_seconds
        self._timeout = timeout_seconds
        self._clock = clock
        self._down_until: float | None = None
        self._warned = False

    @property
    def available(self) -> bool:
        """False while the backend is bypassed after a failure."""
        return self._down_until is None or self._clock() >= self._down_until

    async def _call(self, operation: str, call: Awaitable[Any]) -> Any:  # Any: per operation
        if not self.available:
            if asyncio.iscoroutine(call):
                call.close()  # never awaited: do not leave a "never awaited" warning behind
            return UNAVAILABLE
        try:
            async with asyncio.timeout(self._timeout):
                result = await call
        except Exception as exc:
            # The boundary: any backend failure (I/O, driver, protocol) means "no cache".
            self._failed(operation, exc)
            return UNAVAILABLE
        if self._down_until is not None:
            self._down_until = None
            self._warned = False
            _log.info("cache_backend_recovered", cache=self._cache, backend=self.backend.name)
        return result

    def _failed(self, operation: str, exc: Exception) -> None:
        self._down_until = self._clock() + self._retry
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        get_metrics().errors_total.labels("cache", "cache_backend_failed").inc()
        if self._warned:
            _log.debug("cache_backend_still_failing", cache=self._cache, error=error)
            return
        self._warned = True
        _log.warning(
            "cache_backend_failed",
            cache=self._cache,
            backend=self.backend.name,
            operation=operation,
            error=error,
            bypass_seconds=self._retry,
            hint="results are computed without the cache until the backend works again",
        )

    async def aget(self, key: str) -> bytes | _Unavailable | None:
        result: bytes | _Unavailable | None = await self._call("get", self.backend.aget(key))
        return result

    async def aset(self, key: str, value: bytes, *, ttl_seconds: float) -> None:
        await self._call("set", self.backend.aset(key, value, ttl_seconds=ttl_seconds))

    async def adelete(self, key: str) -> None:
        await self._call("delete", self.backend.adelete(key))

    async def aclear(self, prefix: str) -> None:
        await self._call("clear", self.backend.aclear(prefix))

    async def aclose(self) -> None:
        try:
            await self.backend.aclose()
        except Exception as exc:  # closing a broken backend must not fail shutdown
            _log.debug("cache_backend_close_failed", cache=self._cache, error=str(exc))


@dataclass
class _Flight:
    task: asyncio.Task[tuple[JsonDict, bool]]
    waiters: int = 0


class ToolCache:
    """The tool-result cache the executor uses (see the module docstring).

    Args:
        backend: where entries live (wrapped in `ResilientBackend` here).
        max_ttl_seconds: upper bound on every tool's TTL (``cache.ttl_seconds``).
        max_entry_bytes: results larger than this are returned but not stored.
        retry_seconds: bypass time after a backend failure.
    """

    def __init__(
        self,
        backend: CacheBackend,
        *,
        max_ttl_seconds: float = 3600.0,
        max_entry_bytes: int = 2_000_000,
        retry_seconds: float = 60.0,
    ) -> None:
        self.backend = ResilientBackend(backend, cache="tool", retry_seconds=retry_seconds)
        self._max_ttl = max_ttl_seconds
        self._max_entry_bytes = max_entry_bytes
        self._flights: dict[str, _Flight] = {}
        self._requests = get_metrics().cache_requests_total

    async def aget_or_compute(
        self,
        tool: str,
        arguments: Mapping[str, Any],
        *,
        ttl_seconds: float,
        compute: Callable[[], Awaitable[JsonDict]],
    ) -> tuple[JsonDict, bool]:
        """Return ``(result, hit)``; concurrent identical calls compute once."""
        key = cache_key("tool", tool, arguments)
        flight = self._flights.get(key)
        joined = flight is not None
        if flight is None:
            ttl = min(ttl_seconds, self._max_ttl)
            flight = _Flight(asyncio.create_task(self._fill(key, ttl, compute)))
            self._flights[key] = flight
            flight.task.add_done_callback(lambda _t: self._forget(key, _t))
        flight.waiters += 1
        try:
            data, hit = await asyncio.shield(flight.task)
        except asyncio.CancelledError:
            # Shield keeps the computation alive for the other callers; stop it with the last.
            if not flight.task.done() and flight.waiters == 1:
                flight.task.cancel()
            raise
        finally:
            flight.waiters -= 1
        if joined:
            self._requests.labels("tool", "hit").inc()
        return data, hit or joined

    def _forget(self, key: str, task: asyncio.Task[tuple[JsonDict, bool]]) -> None:
        flight = self._flights.get(key)
        if flight is not None and flight.task is task:
            del self._flights[key]

    async def _fill(
        self, key: str, ttl: float, compute: Callable[[], Awaitable[JsonDict]]
    ) -> tuple[JsonDict, bool]:
        raw = await self.backend.aget(key)
        if isinstance(raw, bytes):
            try:
                data = json.loads(raw)
            except ValueError:
                data = None  # a corrupt entry is a miss; the fresh result overwrites it
            if isinstance(data, dict):
                self._requests.labels("tool", "hit").inc()
                return data, True
        self._requests.labels("tool", "error" if raw is UNAVAILABLE else "miss").inc()
        data = await compute()
        encoded = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        if len(encoded) <= self._max_entry_bytes:
            await self.backend.aset(key, encoded, ttl_seconds=ttl)
        else:
            _log.debug("cache_entry_too_large", key=key, size=len(encoded))
        return data, False

    async def ainvalidate(self, tool: str, arguments: Mapping[str, Any]) -> None:
        """Drop the cached result of one call."""
        await self.backend.adelete(cache_key("tool", tool, arguments))

    async def aclose(self) -> None:
        """Close the backend."""
        await self.backend.aclose()


def build_cache_backend(settings: Settings) -> CacheBackend | None:
    """The backend ``settings.cache.backend`` names (None, with a warning, if it cannot exist)."""
    cache = settings.cache
    backend_name = cache.backend
    if settings.redis_url is not None and "backend" not in cache.model_fields_set:
        backend_name = "redis"  # replicas that share Redis share the cache unless told otherwise
    if backend_name == "memory":
        return MemoryCacheBackend(max_entries=cache.max_entries, max_bytes=cache.max_memory_bytes)
    if backend_name == "sqlite":
        from luminamind.state._cache_sqlite import SqliteCacheBackend

        path = cache.path or settings.data_dir / "cache.sqlite3"
        return SqliteCacheBackend(path, max_entries=cache.max_entries)
    try:
        from luminamind.state.redis import cache as redis_cache

        backend: CacheBackend = redis_cache.build_redis_cache_backend(settings)
    except (ImportError, ConfigError) as exc:  # no redis package, or no/bad LUMINAMIND_REDIS_URL
        _log.warning("cache_backend_unavailable", backend="redis", error=str(exc))
        return None
    return backend


def build_tool_cache(settings: Settings) -> ToolCache | None:
    """The tool-result cache for ``settings`` (None when disabled or impossible)."""
    if not settings.cache.enabled:
        return None
    backend = build_cache_backend(settings)
    if backend is None:
        return None
    return ToolCache(
        backend,
        max_ttl_seconds=settings.cache.ttl_seconds,
        max_entry_bytes=settings.cache.max_entry_bytes,
        retry_seconds=settings.cache.retry_seconds,
    )
