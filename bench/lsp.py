"""Language server benchmark: start-up, and staying responsive while the agent works.

``luminamind lsp`` is spawned over stdio and driven by pytest-lsp's client (pygls' LanguageClient
plus the handlers an editor has: progress tokens, messages, documents) with VS Code's
capabilities. The model is the scripted OpenAI-compatible server from ``tests/support``.

- cold start: spawning the process until ``initialize`` is answered (the client sends
  ``initialized`` at once), and until the first command (``luminamind.threads``) is answered,
  which opens the agent stack (checkpointer, tool registry) lazily; median of several spawns;
- latency of ``workspace/executeCommand luminamind.threads``, one request after another, with no
  run, while a run waits for a slow model (the turn is delayed by minutes), and while a run
  streams a long answer word by word (every chunk is an agent event the server's loop handles);
  p50 / p95 / max (target: p95 under 50 ms while a run is in progress).

Run: ``python -m bench lsp`` (or ``.venv/bin/python bench/lsp.py [--requests 200]``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

import psutil  # noqa: E402
from lsprotocol import types as lsp  # noqa: E402
from pytest_lsp import LanguageClient, client_capabilities  # noqa: E402
from pytest_lsp.client import make_test_lsp_client  # noqa: E402

from bench._report import machine_line, write_section  # noqa: E402
from tests.support.llm_server import ScriptedLLM, Turn  # noqa: E402

LUMINAMIND = Path(sys.executable).parent / "luminamind"
COLD_STARTS = 7
WARMUP = 10
TARGET_P95 = 0.050


@dataclass(frozen=True)
class Start:
    """Seconds from spawning the server: wall clock, and the server's own CPU time."""

    init_wall: float
    init_cpu: float
    command_wall: float
    command_cpu: float


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


class Session:
    """One ``luminamind lsp`` process with an initialized client."""

    def __init__(self, workspace: Path, data_dir: Path, llm: ScriptedLLM) -> None:
        self.workspace = workspace
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("LUMINAMIND_")},
            **llm.env(timeout_seconds=3600),  # the "slow model" turn must not time out
            "LUMINAMIND_DATA_DIR": str(data_dir),
            "LUMINAMIND_CONFIG_FILE": str(data_dir / "none.toml"),
            "LUMINAMIND_CACHE__BACKEND": "memory",
            "LUMINAMIND_LOG_LEVEL": "WARNING",  # stderr is forwarded to ours
        }
        self.client: LanguageClient = make_test_lsp_client()

    async def start(self) -> Start:
        """Spawn, initialize and run a first command, timing each step."""
        started = time.perf_counter()
        await self.client.start_io(str(LUMINAMIND), "lsp", env=self.env, cwd=str(self.workspace))
        uri = self.workspace.as_uri()
        await self.client.initialize_session(
            lsp.InitializeParams(
                capabilities=client_capabilities("visual-studio-code"),
                root_uri=uri,
                workspace_folders=[lsp.WorkspaceFolder(uri=uri, name="bench")],
            )
        )
        initialized = time.perf_counter() - started
        server = self.client._server  # pygls keeps the subprocess there
        assert server is not None
        process = psutil.Process(server.pid)
        init_cpu = _cpu(process)
        await self.execute("luminamind.threads", {})
        return Start(initialized, init_cpu, time.perf_counter() - started, _cpu(process))

    async def execute(self, command: str, argument: dict[str, Any]) -> Any:  # Any: JSON
        return await self.client.workspace_execute_command_async(
            lsp.ExecuteCommandParams(command=command, arguments=[argument])
        )

    async def stop(self) -> None:
        await self.client.shutdown_session()
        await self.client.stop()


async def cold_starts(workspace: Path, data_dir: Path, llm: ScriptedLLM) -> Start:
    """The median of each figure over several spawns."""
    starts = []
    for _ in range(COLD_STARTS):
        session = Session(workspace, data_dir, llm)
        starts.append(await session.start())
        await session.stop()
    return Start(*(statistics.median(getattr(s, f.name) for s in starts) for f in fields(Start)))


async def latencies(session: Session, requests: int) -> list[float]:
    """Seconds per ``luminamind.threads`` request, sent one after another."""
    samples = []
    for i in range(WARMUP + requests):
        started = time.perf_counter()
        await session.execute("luminamind.threads", {})
        if i >= WARMUP:
            samples.append(time.perf_counter() - started)
    return samples


async def during_run(
    session: Session, llm: ScriptedLLM, turn: Turn, thread: str, requests: int
) -> tuple[list[float], bool]:
    """Latencies while a run on ``thread`` is at the model; (samples, run still going after)."""
    llm.reset()
    llm.script([turn])
    run = asyncio.create_task(
        session.execute("luminamind.runTask", {"prompt": "Work slowly", "threadId": thread})
    )
    await asyncio.to_thread(llm.wait_for_calls, 1, timeout=60)
    await asyncio.sleep(0.2)  # the first chunks are flowing
    listing = await session.execute("luminamind.threads", {})
    if thread not in listing["running"]:
        raise RuntimeError(f"the run on {thread} is not in progress: {listing}")
    samples = await latencies(session, requests)
    still_running = not run.done()
    await session.execute("luminamind.cancel", {"threadId": thread})
    result = await asyncio.wait_for(run, 60)
    if result["status"] != "cancelled":
        raise RuntimeError(f"the run ended before it was cancelled: {result}")
    return samples, still_running


def summary(samples: list[float]) -> tuple[float, float, float]:
    """(p50, p95, max) in seconds."""
    return statistics.median(samples), statistics.quantiles(samples, n=20)[-1], max(samples)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


async def main(requests: int) -> None:
    load = os.getloadavg()[0]  # wall-clock figures depend on what else the machine runs
    with ScriptedLLM() as llm, tempfile.TemporaryDirectory(prefix="lm-bench-lsp-") as tmp:
        workspace = Path(tmp, "ws")
        workspace.mkdir()
        (workspace / "calc.py").write_text("def add(a, b):\n    return a + b\n")
        data_dir = Path(tmp, "data")
        print(f"cold starts ({COLD_STARTS})", flush=True)
        start = await cold_starts(workspace, data_dir, llm)

        session = Session(workspace, data_dir, llm)
        await session.start()
        try:
            print(f"latency, {requests} requests: idle", flush=True)
            idle = await latencies(session, requests)
            print("... while a run waits for the model", flush=True)
            waiting, waiting_ok = await during_run(
                session, llm, Turn.text("never sent", delay=3600), "bench-wait", requests
            )
            print("... while a run streams its answer", flush=True)
            words = "word " * 20_000  # ~20,000 chunks; 2 ms apart: ~40 s, more than needed
            streaming, streaming_ok = await during_run(
                session, llm, Turn.text(words, chunk_delay=0.002), "bench-stream", requests
            )
        finally:
            await session.stop()

    rows: list[tuple[str, list[float]]] = [
        ("no run in progress", idle),
        ("a run waiting for the model", waiting),
        ("a run streaming its answer (~500 events/s)", streaming),
    ]
    ok = waiting_ok and streaming_ok
    worst = max(summary(s)[1] for _, s in rows[1:])
    lines = [
        "## Language server (`bench/lsp.py`)",
        "",
        f"{machine_line()}, load average {load:.1f} at the start. `luminamind lsp` over "
        "stdio, pytest-lsp's client with VS Code's capabilities, the scripted model from "
        "`tests/support`.",
        "",
        f"- cold start (median of {COLD_STARTS} spawns): **{ms(start.init_wall)}** from "
        f"spawning the process to `initialize` answered ({ms(start.init_cpu)} of the server's "
        f"CPU time); **{ms(start.command_wall)}** to the first command answered "
        f"({ms(start.command_cpu)} CPU): `luminamind.threads` waits for the agent stack, which "
        "the server imports in a thread and opens (checkpointer, tool registry, graph) after "
        "`initialized`. Wall-clock figures grow with the machine's load; CPU time does not.",
        "",
        f"Latency of `workspace/executeCommand luminamind.threads`, {requests} requests one "
        f"after another ({WARMUP} warm-up requests not counted); target p95 < "
        f"{ms(TARGET_P95)} while a run is in progress:",
        "",
        "| while | p50 | p95 | max |",
        "|---|---:|---:|---:|",
    ]
    for label, samples in rows:
        p50, p95, top = summary(samples)
        lines.append(f"| {label} | {ms(p50)} | {ms(p95)} | {ms(top)} |")
    verdict = "met" if worst < TARGET_P95 else "**missed**"
    lines += [
        "",
        f"Target {verdict}: worst p95 during a run {ms(worst)}."
        + ("" if ok else " (A run ended before the requests did; the figures are suspect.)"),
        "The runs were still going when the requests ended, then `luminamind.cancel` stopped "
        "them. `threads` reads the thread list from the SQLite thread store on every call.",
    ]
    markdown = "\n".join(lines)
    print(markdown)
    write_section("lsp", markdown)


def _requests() -> int:
    parser = argparse.ArgumentParser(description="Language server benchmark")
    parser.add_argument("--requests", type=int, default=200)
    # Known args only: `python -m bench lsp` leaves the benchmark names in sys.argv.
    return int(parser.parse_known_args()[0].requests)


if __name__ == "__main__":
    asyncio.run(main(_requests()))
