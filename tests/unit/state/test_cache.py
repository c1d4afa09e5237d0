"""The tool-result cache: hits, expiry, bounds, single-flight, degradation, executor wiring."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Annotated, Any

import pytest
from prometheus_client import REGISTRY
from pydantic import BaseModel, Field
from structlog.testing import capture_logs

from luminamind.config import Settings, load_settings
from luminamind.state._cache_sqlite import SqliteCacheBackend
from luminamind.state.cache import (
    MemoryCacheBackend,
    ResilientBackend,
    ToolCache,
    build_tool_cache,
    cache_key,
)
from luminamind.tools.context import ToolContext
from luminamind.tools.executor import ToolExecutor
from luminamind.tools.registry import ToolRegistry, tool


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Counter:
    """A compute function that counts its runs and can be slowed down or made to fail."""

    def __init__(self, *, delay: float = 0.0, error: Exception | None = None) -> None:
        self.runs = 0
        self.delay = delay
        self.error = error

    async def __call__(self) -> dict[str, Any]:
        self.runs += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error
        return {"value": self.runs, "text": "résumé"}


class BrokenBackend:
    """A backend whose every method raises, as a dead Redis or a corrupt disk would."""

    name = "broken"

    def __init__(self) -> None:
        self.calls = 0

    async def aget(self, key: str) -> bytes | None:
        self.calls += 1
        raise ConnectionError("backend is down")

    async def aset(self, key: str, value: bytes, *, ttl_seconds: float) -> None:
        self.calls += 1
        raise ConnectionError("backend is down")

    async def adelete(self, key: str) -> None:
        raise ConnectionError("backend is down")

    async def aclear(self, prefix: str) -> None:
        raise ConnectionError("backend is down")

    async def aclose(self) -> None:
        raise ConnectionError("backend is down")


def metric(cache: str, result: str) -> float:
    labels = {"cache": cache, "result": result}
    return REGISTRY.get_sample_value("luminamind_cache_requests_total", labels) or 0.0


def test_keys_are_canonical() -> None:
    a = cache_key("tool", "web_search", {"query": "x", "num_results": 5})
    b = cache_key("tool", "web_search", {"num_results": 5, "query": "x"})
    assert a == b
    assert a != cache_key("tool", "web_search", {"query": "x", "num_results": 6})
    assert a != cache_key("tool", "fetch_as_markdown", {"query": "x", "num_results": 5})
    assert a.startswith("lm:tool:v")
    assert ":web_search:" in a


@pytest.fixture(params=["memory", "sqlite"])
def backend_and_clock(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    clock = FakeClock()
    if request.param == "memory":
        return MemoryCacheBackend(clock=clock), clock
    return SqliteCacheBackend(tmp_path / "c.sqlite3", clock=clock), clock


async def test_hit_then_expiry(backend_and_clock: Any) -> None:
    backend, clock = backend_and_clock
    cache = ToolCache(backend, max_ttl_seconds=3600)
    compute = Counter()
    hits, misses = metric("tool", "hit"), metric("tool", "miss")
    first = await cache.aget_or_compute("t", {"a": 1}, ttl_seconds=60, compute=compute)
    second = await cache.aget_or_compute("t", {"a": 1}, ttl_seconds=60, compute=compute)
    assert first == ({"value": 1, "text": "résumé"}, False)
    assert second == ({"value": 1, "text": "résumé"}, True)
    assert (metric("tool", "hit") - hits, metric("tool", "miss") - misses) == (1, 1)
    clock.now += 59
    assert (await cache.aget_or_compute("t", {"a": 1}, ttl_seconds=60, compute=compute))[1]
    clock.now += 2
    again = await cache.aget_or_compute("t", {"a": 1}, ttl_seconds=60, compute=compute)
    assert again == ({"value": 2, "text": "résumé"}, False)
    await cache.aclose()


async def test_settings_ttl_caps_the_tool_ttl() -> None:
    clock = FakeClock()
    cache = ToolCache(MemoryCacheBackend(clock=clock), max_ttl_seconds=10)
    compute = Counter()
    await cache.aget_or_compute("t", {}, ttl_seconds=3600, compute=compute)
    clock.now += 11
    await cache.aget_or_compute("t", {}, ttl_seconds=3600, compute=compute)
    assert compute.runs == 2


async def test_single_flight_under_20_concurrent_calls() -> None:
    cache = ToolCache(MemoryCacheBackend())
    compute = Counter(delay=0.05)
    results = await asyncio.gather(
        *(
            cache.aget_or_compute("t", {"q": "same"}, ttl_seconds=60, compute=compute)
            for _ in range(20)
        )
    )
    assert compute.runs == 1
    assert {r[0]["value"] for r in results} == {1}
    assert sum(hit for _data, hit in results) == 19  # everyone but the one who computed
    assert cache._flights == {}


async def test_single_flight_shares_failures_and_does_not_cache_them() -> None:
    cache = ToolCache(MemoryCacheBackend())
    failing = Counter(delay=0.02, error=RuntimeError("upstream 500"))
    results = await asyncio.gather(
        *(cache.aget_or_compute("t", {}, ttl_seconds=60, compute=failing) for _ in range(5)),
        return_exceptions=True,
    )
    assert failing.runs == 1
    assert all(isinstance(r, RuntimeError) for r in results)
    ok = Counter()
    assert await cache.aget_or_compute("t", {}, ttl_seconds=60, compute=ok) == (
        {"value": 1, "text": "résumé"},
        False,
    )


async def test_a_cancelled_caller_does_not_cancel_the_others() -> None:
    cache = ToolCache(MemoryCacheBackend())
    compute = Counter(delay=0.1)
    first = asyncio.create_task(cache.aget_or_compute("t", {}, ttl_seconds=60, compute=compute))
    second = asyncio.create_task(cache.aget_or_compute("t", {}, ttl_seconds=60, compute=compute))
    await asyncio.sleep(0.02)
    first.cancel()
    assert (await second)[0]["value"] == 1
    assert first.cancelled()

    slow = Counter(delay=5)
    only = asyncio.create_task(cache.aget_or_compute("u", {}, ttl_seconds=60, compute=slow))
    await asyncio.sleep(0.02)
    only.cancel()
    with pytest.raises(asyncio.CancelledError):
        await only
    await asyncio.sleep(0)
    assert cache._flights == {}  # the last caller leaving stopped the computation


async def test_broken_backend_degrades_to_no_cache_with_one_warning() -> None:
    backend = BrokenBackend()
    cache = ToolCache(backend, retry_seconds=60)
    compute = Counter()
    errors = metric("tool", "error")
    with capture_logs() as logs:
        for _ in range(5):
            _data, hit = await cache.aget_or_compute("t", {}, ttl_seconds=60, compute=compute)
            assert hit is False
    assert compute.runs == 5  # every call still answered
    assert backend.calls == 1  # bypassed after the first failure
    warnings = [e for e in logs if e["log_level"] == "warning"]
    assert len(warnings) == 1
    assert warnings[0]["event"] == "cache_backend_failed"
    assert "backend is down" in warnings[0]["error"]
    assert metric("tool", "error") - errors == 5
    await cache.aclose()  # closing a broken backend does not raise


async def test_backend_is_retried_after_the_bypass_window_and_recovery_is_logged() -> None:
    clock = FakeClock()
    healthy = MemoryCacheBackend()
    guarded = ResilientBackend(healthy, cache="tool", retry_seconds=30, clock=clock)
    original = healthy.aget

    async def flaky_get(key: str) -> bytes | None:
        raise OSError("disk I/O error")

    healthy.aget = flaky_get  # type: ignore[method-assign]
    with capture_logs() as logs:
        assert not isinstance(await guarded.aget("k"), bytes)
        assert not guarded.available
        healthy.aget = original  # type: ignore[method-assign]
        clock.now += 31
        assert guarded.available
        await guarded.aset("k", b"v", ttl_seconds=60)
        assert await guarded.aget("k") == b"v"
    assert [e["event"] for e in logs] == ["cache_backend_failed", "cache_backend_recovered"]


async def test_a_hung_backend_counts_as_failed() -> None:
    class Hung(MemoryCacheBackend):
        async def aget(self, key: str) -> bytes | None:
            await asyncio.sleep(10)
            return None

    guarded = ResilientBackend(Hung(), cache="tool", timeout_seconds=0.05)
    with capture_logs() as logs:
        assert not isinstance(await guarded.aget("k"), bytes)
    assert logs[0]["event"] == "cache_backend_failed"


async def test_unusable_sqlite_file_degrades_with_one_warning(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the cache directory should be")
    settings = load_settings(
        workspace=tmp_path,
        data_dir=tmp_path / "data",
        cache={"backend": "sqlite", "path": str(blocker / "cache.sqlite3")},
    )
    cache = build_tool_cache(settings)
    assert cache is not None
    compute = Counter()
    with capture_logs() as logs:
        for _ in range(3):
            await cache.aget_or_compute("t", {}, ttl_seconds=60, compute=compute)
    assert compute.runs == 3
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["cache_backend_failed"]
    await cache.aclose()


async def test_corrupt_entries_are_misses(tmp_path: Path) -> None:
    backend = SqliteCacheBackend(tmp_path / "c.sqlite3")
    cache = ToolCache(backend)
    await backend.aset(cache_key("tool", "t", {}), b"{not json", ttl_seconds=60)
    assert await cache.aget_or_compute("t", {}, ttl_seconds=60, compute=Counter()) == (
        {"value": 1, "text": "résumé"},
        False,
    )
    assert (await cache.aget_or_compute("t", {}, ttl_seconds=60, compute=Counter()))[1]
    await cache.aclose()


async def test_bounds() -> None:
    memory = MemoryCacheBackend(max_entries=3, max_bytes=1000)
    for i in range(5):
        await memory.aset(f"k{i}", b"x" * 10, ttl_seconds=60)
    assert len(memory) == 3
    assert await memory.aget("k0") is None
    await memory.aget("k2")  # k2 becomes most recently used
    await memory.aset("k5", b"x" * 10, ttl_seconds=60)
    assert await memory.aget("k2") is not None
    assert await memory.aget("k3") is None
    await memory.aset("big", b"x" * 995, ttl_seconds=60)  # evicts by bytes
    assert len(memory) == 1

    cache = ToolCache(MemoryCacheBackend(), max_entry_bytes=50)
    big = Counter()

    async def large() -> dict[str, Any]:
        await big()
        return {"blob": "y" * 100}

    await cache.aget_or_compute("t", {}, ttl_seconds=60, compute=large)
    await cache.aget_or_compute("t", {}, ttl_seconds=60, compute=large)
    assert big.runs == 2  # too large to store, still returned


async def test_sqlite_bound_and_sharing_between_instances(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    first = SqliteCacheBackend(path, max_entries=5)
    for i in range(20):
        await first.aset(f"k{i:02d}", b"v", ttl_seconds=60)
    assert len(first) == 5
    second = SqliteCacheBackend(path)  # another process would see the same rows
    assert await second.aget("k19") == b"v"
    await second.aclear("k1")
    assert await first.aget("k19") is None
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    await first.aclose()
    await second.aclose()


class Echo(BaseModel):
    text: str
    runs: int


RUNS: list[str] = []


@tool(family="system", read_only=True, cacheable=True, cache_ttl_seconds=60)
async def echo(
    ctx: ToolContext, *, text: Annotated[str, Field(description="what to echo")]
) -> Echo:
    """Echo the text (counts its runs)."""
    RUNS.append(text)
    return Echo(text=text, runs=len(RUNS))


async def test_executor_uses_the_cache_and_honours_bypass(tmp_path: Path) -> None:
    settings: Settings = load_settings(workspace=tmp_path, data_dir=tmp_path / "data")
    cache = build_tool_cache(settings)
    assert isinstance(cache, ToolCache)
    assert isinstance(cache.backend.backend, SqliteCacheBackend)
    executor = ToolExecutor(ToolRegistry([echo]), cache=cache)
    context = ToolContext.from_settings(settings)
    RUNS.clear()
    first = await executor.acall("echo", {"text": "hi"}, context=context)
    second = await executor.acall("echo", {"text": "hi"}, context=context)
    assert first == second == Echo(text="hi", runs=1)
    bypass = await executor.acall("echo", {"text": "hi"}, context=context, use_cache=False)
    assert isinstance(bypass, Echo)
    assert bypass.runs == 2
    assert (settings.data_dir / "cache.sqlite3").exists()
    await cache.aclose()


def test_build_tool_cache_choices(tmp_path: Path) -> None:
    def build(**cache: Any) -> Any:
        return build_tool_cache(load_settings(workspace=tmp_path, cache=cache))

    assert build(enabled=False) is None
    memory = build(backend="memory")
    assert isinstance(memory.backend.backend, MemoryCacheBackend)
