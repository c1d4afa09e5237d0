"""Tool-result cache benchmark: a replayed fetch_as_markdown workload with 60 % repeats.

A local server answers every page after 50 ms (a typical remote site). The workload is replayed
through the real tool runtime (executor, audit log, metrics, cache) once per backend; a request
is a hit when the server did not see it. Run: ``.venv/bin/python bench/cache.py``.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from support.http_servers import LocalHttpServer, Reply  # noqa: E402

from bench._report import machine_line, write_section  # noqa: E402
from luminamind.config import load_settings  # noqa: E402
from luminamind.observability.logging import configure_logging  # noqa: E402
from luminamind.runtime import build_tool_runtime  # noqa: E402
from luminamind.tools import web  # noqa: E402
from luminamind.tools.registry import ToolRegistry  # noqa: E402

REQUESTS = 400
REPEAT_SHARE = 0.6
LATENCY = 0.05
PAGE = (
    "<html><head><title>Page {i}</title></head>"
    "<body><article><h1>Page {i}</h1>{body}</article></body></html>"
)
PARAGRAPH = "<p>" + "Benchmark content that looks like a documentation page. " * 12 + "</p>"


def workload(seed: int = 7) -> list[int]:
    """Page numbers to request: each is a repeat of an earlier page with p = 0.6."""
    rng = random.Random(seed)
    seen: list[int] = []
    order: list[int] = []
    for _ in range(REQUESTS):
        if seen and rng.random() < REPEAT_SHARE:
            order.append(rng.choice(seen))
        else:
            seen.append(len(seen))
            order.append(seen[-1])
    return order


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def replay(server: LocalHttpServer, backend: str, order: list[int]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            workspace=tmp,
            data_dir=Path(tmp) / "data",
            web={"allowed_hosts": ["127.0.0.1"]},
            cache={"backend": backend},
        )
        runtime = build_tool_runtime(settings, surface="cli", registry=ToolRegistry(web.TOOLS))
        hits: list[float] = []
        misses: list[float] = []
        for page in order:
            before = len(server.requests)
            started = time.perf_counter()
            await runtime.executor.acall(
                "fetch_as_markdown",
                {"url": server.url(f"/{backend}/{page}")},
                context=runtime.context,
            )
            elapsed = (time.perf_counter() - started) * 1000
            (misses if len(server.requests) > before else hits).append(elapsed)
        cache = runtime.executor.cache
        if cache is not None and hasattr(cache, "aclose"):
            await cache.aclose()
    return {
        "hit_rate": len(hits) / len(order),
        "hit_median": statistics.median(hits),
        "hit_p95": percentile(hits, 0.95),
        "miss_median": statistics.median(misses),
        "miss_p95": percentile(misses, 0.95),
        "speedup": statistics.median(misses) / statistics.median(hits),
    }


def main() -> None:
    configure_logging(level="WARNING", fmt="console")
    order = workload()
    results: dict[str, dict[str, float]] = {}
    with LocalHttpServer() as server:
        for backend in ("sqlite", "memory"):
            for i in set(order):
                server.route(
                    f"/{backend}/{i}",
                    Reply.html(PAGE.format(i=i, body=PARAGRAPH * 3), delay=LATENCY),
                )
            results[backend] = asyncio.run(replay(server, backend, order))
    lines = [
        "## Tool-result cache (`bench/cache.py`)",
        "",
        f"{machine_line()}. {REQUESTS} `fetch_as_markdown` calls through the tool runtime "
        f"(executor, audit log, metrics), {REPEAT_SHARE:.0%} of them repeats of earlier URLs, "
        f"against a local server that answers after {LATENCY * 1000:.0f} ms. Target: a hit "
        "in under 1 ms (median).",
        "",
        "| backend | hit rate | hit median | hit p95 | miss median | miss p95 | miss/hit |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for backend, r in results.items():
        lines.append(
            f"| {backend} | {r['hit_rate']:.1%} | {r['hit_median']:.3f} ms | {r['hit_p95']:.3f} ms "
            f"| {r['miss_median']:.1f} ms | {r['miss_p95']:.1f} ms | {r['speedup']:.0f}x |"
        )
    report = "\n".join(lines)
    print(report)
    write_section("cache", report)


if __name__ == "__main__":
    main()
