"""Load benchmark: two HTTP replicas sharing one Redis under 50 concurrent MCP clients.

Two ``luminamind mcp --http --stateless`` processes (each with its own data dir, so only Redis
carries threads, checkpoints and the tool cache) and one scripted LLM server (a separate process
answering every model call after a fixed delay: first a ``read_file`` tool call, then the
answer). 50 official MCP clients over streamable HTTP, spread across the replicas, each loop for
a bounded time: ``run_task`` on a new thread (model -> read_file -> model -> answer), then a plain
``read_file`` call. Reported: throughput, p50/p95 latency, errors, lost threads (every thread's
final state is read back through a replica and checked in Redis), RSS per replica (psutil), and
the server's overhead per task beyond the scripted model's latency (target: zero errors, no lost
threads, overhead p95 < 100 ms).

One load run per ``--model-delay`` (default 0.25 s, where the clients ask for more than two CPUs
can give, and 5 s, where they do not), then one client alone (the cost of a task without
queueing). Run: ``.venv/bin/python bench/load.py [--clients 50] [--seconds 30]
[--model-delay 0.25 5] [--no-write]``, or ``python -m bench load``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ leads sys.path and bench/mcp.py would shadow the mcp SDK.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

import httpx  # noqa: E402
import psutil  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from bench._report import machine_line, write_section  # noqa: E402
from tests.support.llm_server import LLMRequest, ScriptedLLM, Turn  # noqa: E402
from tests.support.mcp_clients import (  # noqa: E402
    TOKEN,
    HttpServer,
    http_session,
    populate,
    start_http_server,
    stop,
)
from tests.support.redis_server import RedisServer  # noqa: E402

REPLICAS = 2
TASK = "What does hello.txt say?"
ANSWER = "hello.txt says hello, world."
MODEL_CALLS_PER_TASK = 2


@dataclass
class Stats:
    """What the clients saw."""

    task: list[float] = field(default_factory=list)
    read: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    threads: list[tuple[str, int]] = field(default_factory=list)  # (thread id, replica)
    completed: set[str] = field(default_factory=set)


# --- the scripted model, in its own process ------------------------------------------------


def serve_llm(delay: float) -> None:
    """Serve the scripted model until stdin closes: every call waits ``delay`` seconds."""

    def respond(request: LLMRequest) -> Turn:
        if request.last_message.get("role") == "tool":
            return Turn.text(ANSWER, delay=delay, usage=(120, 12))
        return Turn.tool_calls(("read_file", {"path": "hello.txt"}), delay=delay, usage=(100, 8))

    with ScriptedLLM() as llm:
        llm.responder = respond
        # The variables pointing a luminamind process at this server, as one JSON line.
        sys.stdout.write(json.dumps(llm.env()) + "\n")
        sys.stdout.flush()
        sys.stdin.read()  # the parent closes our stdin when it is done (or dies)


def start_llm(delay: float) -> tuple[subprocess.Popen[str], dict[str, str]]:
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve-llm", str(delay)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stdout is not None
    return process, json.loads(process.stdout.readline())


# --- the clients -----------------------------------------------------------------------------


async def client(
    index: int, server: HttpServer, replica: int, until: float, stats: Stats, *, start_in: float
) -> None:
    async with http_session(server.url) as session:
        # Staggered starts: clients in lockstep would all wake when the model answers at the
        # same instant and queue behind each other, which no real traffic does.
        await asyncio.sleep(start_in)
        n = 0
        while time.monotonic() < until:
            thread = f"load-{index}-{n}"
            n += 1
            stats.threads.append((thread, replica))
            started = time.perf_counter()
            try:
                result = await session.call_tool("run_task", {"task": TASK, "thread_id": thread})
                data = result.structured_content or {}
                if result.is_error or data.get("status") != "completed":
                    stats.errors[f"run_task: {_text(result)[:160]}"] += 1
                else:
                    stats.completed.add(thread)
            except Exception as exc:
                stats.errors[f"run_task: {type(exc).__name__}: {exc}"[:200]] += 1
            stats.task.append(time.perf_counter() - started)
            started = time.perf_counter()
            try:
                result = await session.call_tool("read_file", {"path": "hello.txt"})
                if result.is_error:
                    stats.errors[f"read_file: {_text(result)[:160]}"] += 1
            except Exception as exc:
                stats.errors[f"read_file: {type(exc).__name__}: {exc}"[:200]] += 1
            stats.read.append(time.perf_counter() - started)


def _text(result: Any) -> str:  # Any: a CallToolResult
    block = result.content[0] if result.content else None
    return str(getattr(block, "text", block))


async def warm_up(servers: list[HttpServer]) -> None:
    """One task per replica first: the agent stack loads once per process."""
    for i, server in enumerate(servers):
        async with http_session(server.url) as session:
            result = await session.call_tool("run_task", {"task": TASK, "thread_id": f"warm-{i}"})
            if result.is_error:
                raise RuntimeError(f"warm-up failed on replica {i}: {_text(result)}")


async def verify(servers: list[HttpServer], redis: RedisServer, stats: Stats) -> Counter[str]:
    """Read every thread back through a replica (round robin) and look for it in Redis."""
    lost: Counter[str] = Counter()
    queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
    for i, (thread, _) in enumerate(stats.threads):
        queue.put_nowait((i, thread))

    async def worker(w: int) -> None:
        async with http_session(servers[w % len(servers)].url) as session:
            while not queue.empty():
                _, thread = queue.get_nowait()
                result = await session.call_tool("get_thread", {"thread_id": thread})
                data = result.structured_content or {}
                messages = data.get("messages") or []
                info = data.get("info") or {}
                if result.is_error:
                    lost["not found"] += 1
                elif info.get("status") != "idle" or data.get("pending_approvals"):
                    lost[f"status {info.get('status')}"] += 1
                elif not messages or ANSWER not in str(messages[-1].get("content")):
                    lost["no final answer"] += 1

    await asyncio.gather(*(worker(w) for w in range(10)))
    with redis.client() as r:
        indexed = {t.decode() for t in r.zrange("lm:threads", 0, -1)}
    missing = {t for t, _ in stats.threads} - indexed
    if missing:
        lost["not in the Redis thread index"] += len(missing)
    return lost


# --- measuring the replicas ------------------------------------------------------------------


class Resources:
    """Each replica's resident memory (sampled every half second) and every process's CPU time.

    CPU time is what makes figures from a shared machine comparable: other programs slow the
    wall clock, not the CPU seconds a task costs.
    """

    def __init__(self, replicas: list[HttpServer], others: dict[str, int]) -> None:
        self.replicas = [psutil.Process(s.process.pid) for s in replicas]
        self.named = {f"replica {i + 1}": p for i, p in enumerate(self.replicas)}
        self.named |= {name: psutil.Process(pid) for name, pid in others.items()}
        self.peak = [0] * len(replicas)
        self.start = [p.memory_info().rss for p in self.replicas]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            for i, process in enumerate(self.replicas):
                self.peak[i] = max(self.peak[i], process.memory_info().rss)

    @staticmethod
    def _busy() -> float:
        times = psutil.cpu_times()
        return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))

    def __enter__(self) -> Resources:
        self._cpu0 = {n: sum(p.cpu_times()[:2]) for n, p in self.named.items()}
        self._busy0 = self._busy()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.end = [p.memory_info().rss for p in self.replicas]
        self.cpu = {n: sum(p.cpu_times()[:2]) - self._cpu0[n] for n, p in self.named.items()}
        # Everything else the machine ran meanwhile (other users of a shared host).
        self.cpu["other processes"] = max(0.0, self._busy() - self._busy0 - sum(self.cpu.values()))


def scrape(server: HttpServer) -> dict[str, float]:
    """A few totals from the replica's own /metrics."""
    text = httpx.get(f"{server.base}/metrics", timeout=10).text
    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if sample.name == "luminamind_requests_total":
                key = f"requests {labels['outcome']}"
                totals[key] = totals.get(key, 0.0) + sample.value
            elif sample.name == "luminamind_tool_calls_total":
                key = f"tool {labels['tool']} {labels['outcome']}"
                totals[key] = totals.get(key, 0.0) + sample.value
            elif sample.name == "luminamind_agent_runs_total":
                key = f"runs {labels['outcome']}"
                totals[key] = totals.get(key, 0.0) + sample.value
            elif sample.name == "luminamind_llm_requests_total":
                key = f"llm {labels['outcome']}"
                totals[key] = totals.get(key, 0.0) + sample.value
            elif sample.name in (
                "luminamind_llm_duration_seconds_sum",
                "luminamind_llm_duration_seconds_count",
            ):
                key = sample.name.removeprefix("luminamind_")
                totals[key] = totals.get(key, 0.0) + sample.value
    return totals


# --- the run ---------------------------------------------------------------------------------


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


async def run(
    clients: int, seconds: float, delay: float, *, trace: bool = False
) -> dict[str, Any]:  # Any: figures
    work = Path(tempfile.mkdtemp(prefix="luminamind-load-"))
    workspace = (work / "ws").resolve()
    workspace.mkdir()
    populate(workspace)
    redis = RedisServer(work / "redis").start()
    llm_process, llm_env = start_llm(delay)
    servers: list[HttpServer] = []
    try:
        env = llm_env | {
            "LUMINAMIND_REDIS_URL": redis.url,
            "LUMINAMIND_CACHE__BACKEND": "redis",
            "LUMINAMIND_MCP_TOKEN": TOKEN,
            "LUMINAMIND_SERVER__RATE_LIMIT_PER_MINUTE": "10000000",
        }
        if trace:
            # Spans as JSON on each replica's stderr (its log file), read back below.
            env["OTEL_TRACES_EXPORTER"] = "console"
        for i in range(REPLICAS):
            home = work / f"replica-{i}"
            home.mkdir()
            servers.append(start_http_server(workspace, home, "--stateless", env=env))
        await warm_up(servers)
        stats = Stats()
        others = {
            "MCP clients (this process)": os.getpid(),
            "scripted LLM": llm_process.pid,
            "redis-server": redis.process.pid if redis.process else os.getpid(),
        }
        with Resources(servers, others) as rss:
            started = time.monotonic()
            until = started + seconds
            await asyncio.gather(
                *(
                    client(
                        i,
                        servers[i % REPLICAS],
                        i % REPLICAS,
                        until,
                        stats,
                        start_in=i / clients * MODEL_CALLS_PER_TASK * delay,
                    )
                    for i in range(clients)
                )
            )
            elapsed = time.monotonic() - started
        lost = await verify(servers, redis, stats)
        metrics = [scrape(s) for s in servers]
        for server in servers:
            if server.process.poll() is not None:
                raise RuntimeError(f"a replica died:\n{server.stderr()[-2000:]}")
        model = MODEL_CALLS_PER_TASK * delay
        result = {
            "clients": clients,
            "seconds": elapsed,
            "delay": delay,
            "tasks": len(stats.task),
            "reads": len(stats.read),
            "completed": len(stats.completed),
            "errors": stats.errors,
            "lost": lost,
            "task_p50": pct(stats.task, 0.5),
            "task_p95": pct(stats.task, 0.95),
            "read_p50": pct(stats.read, 0.5),
            "read_p95": pct(stats.read, 0.95),
            "overhead_p50": pct([t - model for t in stats.task], 0.5),
            "overhead_p95": pct([t - model for t in stats.task], 0.95),
            "overhead_mean": (statistics.fmean(stats.task) - model) * 1000 if stats.task else 0,
            "rss_start": rss.start,
            "rss_peak": rss.peak,
            "rss_end": rss.end,
            "cpu": rss.cpu,
            "metrics": metrics,
            "per_replica": Counter(r for _, r in stats.threads),
            "trace": trace,
        }
    finally:
        for server in servers:
            stop(server.process)
        if llm_process.stdin is not None:
            llm_process.stdin.close()
        llm_process.wait(timeout=10)
        redis.stop()
    if trace:
        # After the stop: the span exporter flushes its batch when the process exits.
        result["breakdown"] = breakdown([span for s in servers for span in spans_in(s.log)])
    return result


def spans_in(log: Path) -> list[dict[str, Any]]:  # Any: JSON spans
    """The spans the console exporter wrote among a replica's log lines."""
    text = log.read_text(encoding="utf-8", errors="replace")
    decoder = json.JSONDecoder()
    spans, at = [], 0
    while (start := text.find('{\n    "name"', at)) >= 0:
        span, at = decoder.raw_decode(text, start)
        spans.append(span)
    return spans


def breakdown(spans: list[dict[str, Any]]) -> dict[str, float]:  # Any: JSON spans
    """Median milliseconds per part of a ``run_task``, from each run's spans."""

    def ms(span: dict[str, Any]) -> float:  # Any: JSON
        start = datetime.fromisoformat(span["start_time"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(span["end_time"].replace("Z", "+00:00"))
        return (end - start).total_seconds() * 1000

    children: dict[str | None, list[dict[str, Any]]] = {}
    for span in spans:
        children.setdefault(span.get("parent_id"), []).append(span)
    parts: dict[str, list[float]] = {}
    for call in (s for s in spans if s["name"] == "tools/call run_task"):
        (run,) = [
            c for c in children.get(call["context"]["span_id"], []) if c["name"] == "agent run"
        ]
        steps = children.get(run["context"]["span_id"], [])
        model_steps = [x for x in steps if x["name"] == "agent step model"]
        llm = [
            y
            for x in model_steps
            for y in children.get(x["context"]["span_id"], [])
            if y["name"].startswith("llm ")
        ]
        tools = [x for x in steps if x["name"] == "agent step tools"]
        hooks = [x for x in steps if x not in model_steps and x not in tools]
        values = {
            "tools/call run_task (server)": ms(call),
            "MCP layer (tools/call - agent run)": ms(call) - ms(run),
            "agent run": ms(run),
            "model calls (llm spans)": sum(map(ms, llm)),
            "model steps without the model call": sum(map(ms, model_steps)) - sum(map(ms, llm)),
            "middleware hook steps": sum(map(ms, hooks)),
            "tools step (read_file inside)": sum(map(ms, tools)),
            "between steps (scheduling, checkpoints)": ms(run) - sum(map(ms, steps)),
            "steps per run": float(len(steps)),
        }
        for name, value in values.items():
            parts.setdefault(name, []).append(value)
    return {name: statistics.median(values) for name, values in parts.items()}


def _met(ok: bool) -> str:
    return "met" if ok else "missed"


def _capacity(runs: list[dict[str, Any]]) -> str:  # Any: figures
    """Whether each loaded run asked for more CPU than there is, from what a task costs."""
    cores = psutil.cpu_count() or 1
    sentences = []
    for r in (r for r in runs if r["clients"] > 1):
        tasks = max(1, r["tasks"])
        replica = sum(v for k, v in r["cpu"].items() if k.startswith("replica")) / tasks
        ours = sum(v for k, v in r["cpu"].items() if k != "other processes") / tasks
        demand = r["clients"] / (MODEL_CALLS_PER_TASK * r["delay"])
        # What the host's other programs left of its CPUs: a shared host's load is part of why.
        others = r["cpu"]["other processes"] / max(r["seconds"], 1e-9)
        left = max(cores - others, 0.05)
        verdict = (
            "a queue: its overhead is mostly waiting for a CPU, and falls only with more CPUs "
            "(replicas on more nodes) or less CPU per task"
            if demand > left / ours
            else "within the CPUs, so its overhead is the server's own work plus the host's "
            "other load"
        )
        shared = (
            f"; the host's other programs used {others:.1f} of them, leaving ~{left:.1f} CPUs: "
            f"at most ~{left / ours:.0f} tasks/s"
            if others >= 0.1
            else ""
        )
        sentences.append(
            f"At {r['delay'] * 1000:.0f} ms per model call a task cost {replica * 1000:.0f} ms "
            f"of replica CPU and {ours * 1000:.0f} ms in all (clients, model server and Redis "
            f"included): {cores} CPUs finish at most ~{cores / ours:.0f} tasks/s{shared}, and the "
            f"{r['clients']} clients asked for up to {demand:.0f} tasks/s, so that run is "
            f"{verdict}."
        )
    return (
        "Reading the figures: "
        + " ".join(sentences)
        + " The single-client column is a task by itself. Where a replica's CPU goes (py-spy on "
        "one replica, 10 clients, 250 ms model; on a host busy with other work, which makes "
        "socket calls dearer): the Redis client 26 % (mostly the socket write of each of the ~29 "
        "round trips of a task: a checkpoint and a task's writes per graph step, 9 checkpoints, "
        "plus the thread's metadata), the MCP transport 21 % (uvicorn and h11, SSE, the MCP SDK), "
        "the LangGraph loop and LangChain's middleware 21 %, the OpenAI SDK and langchain-openai "
        "17 % (a new connection per model call, the streamed-response parsing, and "
        "langchain-core's content-block check, which evaluates type hints again for every "
        "message), the event loop 12 %. Before uvloop, hiredis and the request built once "
        "(`luminamind/providers/openai_requests.py`), the event loop took 26 % and the SDK's "
        "identity transform of every message and tool schema 8 %; `bench/agent_overhead.py` "
        "measures the agent's framework cost per step."
    )


def _breakdown_table(r: dict[str, Any]) -> str:  # Any: figures
    parts = r.get("breakdown") or {}
    if not parts:
        return "(The traced run recorded no spans.)"
    steps = parts.pop("steps per run", 0.0)
    rows = "\n".join(f"| {name} | {value:.1f} |" for name, value in parts.items())
    return (
        f"**Where one task's time goes** ({_label(r)}, run again with "
        "`OTEL_TRACES_EXPORTER=console` on the replicas; medians over its "
        f"{r['tasks']} tasks, {steps:.0f} graph steps per run; tracing itself adds a little):\n\n"
        "| part | ms |\n| --- | ---: |\n"
        f"{rows}\n| the same `run_task` at the client (p50) | {r['task_p50']:.1f} |"
    )


def _model_call(r: dict[str, Any]) -> str:  # Any: figures
    seconds = sum(m.get("llm_duration_seconds_sum", 0.0) for m in r["metrics"])
    calls = sum(m.get("llm_duration_seconds_count", 0.0) for m in r["metrics"])
    return f"{seconds / max(1.0, calls) * 1000:.0f} ms"


def _label(r: dict[str, Any]) -> str:  # Any: figures
    clients = "1 client" if r["clients"] == 1 else f"{r['clients']} clients"
    return f"{clients}, {r['delay'] * 1000:.0f} ms model"


def _replica_cpu(r: dict[str, Any]) -> str:  # Any: figures
    seconds = sum(v for k, v in r["cpu"].items() if k.startswith("replica"))
    return f"{seconds / max(1, r['tasks']) * 1000:.0f} ms"


def _other_cpu(r: dict[str, Any]) -> str:  # Any: figures
    return f"{r['cpu']['other processes'] / r['seconds'] * 100:.0f} % of a core"


def report(
    runs: list[dict[str, Any]],  # Any: figures
    traced: Sequence[dict[str, Any]] = (),  # Any: figures
) -> str:
    """One column per run; replicas and CPU per run below; the traced run's breakdown."""
    mib = 1024 * 1024
    first = runs[0]

    def row(label: str, cells: list[str]) -> str:
        return f"| {label} | " + " | ".join(cells) + " |"

    def each(fn: Any) -> list[str]:  # Any: a formatter of one run
        return [fn(r) for r in runs]

    errors = [sum(r["errors"].values()) for r in runs]
    lost = [sum(r["lost"].values()) for r in runs]
    summary = "\n".join(
        [
            row("load time", each(lambda r: f"{r['seconds']:.0f} s")),
            row(
                "agent tasks completed / started",
                each(lambda r: f"{r['completed']} / {r['tasks']}"),
            ),
            row("tasks/s", each(lambda r: f"{r['tasks'] / r['seconds']:.1f}")),
            row(
                "MCP calls/s (run_task + read_file)",
                each(lambda r: f"{(r['tasks'] + r['reads']) / r['seconds']:.1f}"),
            ),
            row(
                "`run_task` latency p50 / p95",
                each(lambda r: f"{r['task_p50']:.0f} / {r['task_p95']:.0f} ms"),
            ),
            row(
                "`read_file` latency p50 / p95",
                each(lambda r: f"{r['read_p50']:.1f} / {r['read_p95']:.1f} ms"),
            ),
            row(
                "server overhead per task p50 / **p95**",
                each(lambda r: f"{r['overhead_p50']:.0f} / **{r['overhead_p95']:.0f} ms**"),
            ),
            row("model call as the replicas timed it (mean)", each(_model_call)),
            row("errors", [f"**{e}**" for e in errors]),
            row("lost threads", [f"**{n}**" for n in lost]),
            row("replica CPU per task (sum of both)", each(_replica_cpu)),
            row("CPU used by other programs on the host", each(_other_cpu)),
        ]
    )
    header = row("measure", each(_label))
    align = "| --- |" + " ---: |" * len(runs)
    details = []
    for r in runs:
        replicas = []
        for i, m in enumerate(r["metrics"]):
            other = sum(v for k, v in m.items() if k.startswith("requests ") and k != "requests ok")
            replicas.append(
                f"| replica {i + 1} | {r['per_replica'][i]} | {r['rss_start'][i] / mib:.0f} "
                f"| {r['rss_peak'][i] / mib:.0f} | {r['rss_end'][i] / mib:.0f} "
                f"| {int(m.get('requests ok', 0))} | {int(other)} "
                f"| {int(m.get('runs completed', 0))} |"
            )
        cpu = ", ".join(
            f"{name} {secs / r['seconds'] * 100:.0f} %" for name, secs in r["cpu"].items()
        )
        problems = "".join(f"\n- error: {n} x {msg}" for msg, n in r["errors"].most_common(5))
        problems += "".join(f"\n- lost: {n} x {why}" for why, n in r["lost"].most_common())
        details.append(
            f"**{_label(r)}.** Per replica (RSS in MiB, sampled every 0.5 s;"
            " requests and runs from the replica's own `/metrics`):\n\n"
            "| replica | threads | RSS warm | RSS peak | RSS end | requests ok | other | runs |\n"
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
            + "\n".join(replicas)
            + f"\n\nCPU (share of one core during the load): {cpu}.{problems}"
        )
    loaded = [r for r in runs if r["clients"] == first["clients"]]
    best = min(loaded, key=lambda r: r["overhead_p95"])
    verdict = (
        f"zero errors ({_met(not any(errors))}), no lost threads ({_met(not any(lost))}), "
        f"overhead p95 < 100 ms with {first['clients']} clients "
        f"({_met(best['overhead_p95'] < 100)}: best {best['overhead_p95']:.0f} ms, at "
        f"{best['delay'] * 1000:.0f} ms per model call)"
    )
    body = "\n\n".join(details + [_breakdown_table(r) for r in traced])
    capacity = _capacity(runs)
    return f"""## Load: two replicas, one Redis, {first["clients"]} MCP clients (`bench/load.py`)

{machine_line()}. Two `luminamind mcp --http --stateless` processes with separate data dirs
sharing one `redis-server` (checkpoints, thread metadata, tool cache); one scripted LLM process
answering every model call after a fixed delay; {first["clients"]} official MCP clients
(streamable HTTP, half on each replica) in one process, each looping: `run_task` on a new thread
(model -> `read_file` -> model -> answer), then a plain `read_file`; their starts are spread over
one task's model time, as independent users would be. Afterwards every thread is
read back through a replica (`get_thread`: idle, final answer present) and looked up in Redis'
thread index. Overhead = task latency - {MODEL_CALLS_PER_TASK} x the model's delay (it includes
the MCP client, the transport, the agent graph with its Redis checkpoints, and the tool). All of
it shares the host's {psutil.cpu_count()} CPUs with whatever else runs there (last row). The
single-client column is the same set-up without queueing: the overhead of one task by itself.

{header}
{align}
{summary}

Targets: {verdict}.

{capacity}

{body}
"""


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench/load.py")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument(
        "--model-delay",
        type=float,
        nargs="+",
        default=[0.25, 5.0],
        help="seconds per model call; one load run per value",
    )
    parser.add_argument(
        "--baseline-seconds",
        type=float,
        default=15.0,
        help="then one client alone for this long (0: skip), at the first model delay",
    )
    parser.add_argument("--serve-llm", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true", help="print, do not write the doc")
    # Under `python -m bench load` the command line is the runner's, not ours.
    ours = Path(sys.argv[0]).resolve() == Path(__file__).resolve()
    args = parser.parse_args(sys.argv[1:] if ours else [])
    if args.serve_llm is not None:
        serve_llm(args.serve_llm)
        return
    plan = [(args.clients, args.seconds, delay, False) for delay in args.model_delay]
    if args.baseline_seconds > 0:
        plan.append((1, args.baseline_seconds, args.model_delay[0], False))
        # The same single client again with every replica tracing: where a task's time goes.
        plan.append((1, args.baseline_seconds, args.model_delay[0], True))
    runs = []
    for clients, seconds, delay, trace in plan:
        result = asyncio.run(run(clients, seconds, delay, trace=trace))
        print(json.dumps({k: v for k, v in result.items() if k != "metrics"}, default=str))
        runs.append(result)
    text = report([r for r in runs if not r["trace"]], [r for r in runs if r["trace"]])
    print(text)
    if not args.no_write:
        write_section("load", text)


if __name__ == "__main__":
    main()
