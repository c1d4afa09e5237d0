"""ACP benchmark: first update and per-update cost of a turn, beside the same run over MCP.

Both surfaces run as the processes editors start, over stdio, against the scripted
OpenAI-compatible server from ``tests/support`` (zero latency: answers are streamed as fast as
the client reads them), with the same script per run: the model reads a file, then streams a
~120-word answer.

- ACP: ``luminamind acp`` driven by the SDK's client side (``session/new``, then
  ``session/prompt``): time from sending ``session/prompt`` to the first ``session/update`` of
  the turn, the whole turn, and the number of updates.
- MCP: ``luminamind mcp`` driven by the official MCP client: ``run_task`` on a new thread with a
  progress token, time to the first progress notification of the agent's work (MCP first
  reports "run_started", which ACP has no update for), the whole call, the notifications.

Per-update cost = the whole turn / the updates it sent; both surfaces run the same agent, the
same model script and the same driver, so the difference is the protocol layer. Goal: ACP adds
no more than MCP does.

Run: ``python -m bench acp`` (or ``.venv/bin/python bench/acp.py [--runs 30]``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Run as ``python bench/acp.py``, this file's folder comes first on sys.path and this module
# would shadow the SDK's ``acp`` package: take the folder off, put the repository on.
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != HERE)]

from acp import PROTOCOL_VERSION, spawn_agent_process, text_block  # noqa: E402
from acp.schema import ClientCapabilities, FileSystemCapabilities  # noqa: E402
from mcp.client.session import ClientSession  # noqa: E402
from mcp.client.stdio import StdioServerParameters, stdio_client  # noqa: E402

from bench._report import machine_line, write_section  # noqa: E402
from tests.support.llm_server import ScriptedLLM, Turn  # noqa: E402

LUMINAMIND = Path(sys.executable).parent / "luminamind"
WARMUP = 3
ANSWER = " ".join(f"word{i}" for i in range(120))


@dataclass(frozen=True)
class Run:
    """One turn: seconds to the first update, seconds in all, updates sent."""

    first: float
    total: float
    updates: int


def _script(llm: ScriptedLLM, runs: int) -> None:
    turns: list[Turn] = []
    for _ in range(runs):
        turns += [Turn.tool_calls(("read_file", {"path": "hello.txt"})), Turn.text(ANSWER)]
    llm.script(turns)


def _env(llm: ScriptedLLM, home: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("LUMINAMIND_")},
        **llm.env(),
        "LUMINAMIND_DATA_DIR": str(home / "data"),
        "LUMINAMIND_CONFIG_FILE": str(home / "none.toml"),
        "LUMINAMIND_CACHE__BACKEND": "memory",
    }


class _Clock:
    """When the current turn started, its first update, and how many updates it had."""

    def __init__(self) -> None:
        self.started = 0.0
        self.first: float | None = None
        self.count = 0

    def start(self) -> None:
        self.started, self.first, self.count = time.perf_counter(), None, 0

    def tick(self) -> None:
        if self.first is None:
            self.first = time.perf_counter()
        self.count += 1

    def run(self) -> Run:
        total = time.perf_counter() - self.started
        first = (self.first or time.perf_counter()) - self.started
        return Run(first, total, self.count)


class _AcpClient:
    """The client side an editor implements, reduced to what a turn needs (reads from disk)."""

    def __init__(self, clock: _Clock) -> None:
        self.clock = clock
        self.counting = False

    async def session_update(self, session_id: str, update: Any, **_: Any) -> None:
        if self.counting and update.session_update != "available_commands_update":
            self.clock.tick()

    async def read_text_file(self, session_id: str, path: str, **_: Any) -> Any:
        from acp.schema import ReadTextFileResponse

        return ReadTextFileResponse(content=Path(path).read_text(encoding="utf-8"))

    async def request_permission(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the benchmark's script asks for no permission")


async def acp_runs(workspace: Path, home: Path, llm: ScriptedLLM, runs: int) -> list[Run]:
    """``runs`` measured prompts (after a warm-up) through ``luminamind acp``."""
    clock = _Clock()
    client = _AcpClient(clock)
    results: list[Run] = []
    with (home / "acp.log").open("wb") as err:
        async with spawn_agent_process(
            client,  # type: ignore[arg-type]
            str(LUMINAMIND),
            "acp",
            env=_env(llm, home),
            cwd=workspace,
            transport_kwargs={"stderr": err},
        ) as (conn, _):
            await conn.initialize(
                protocol_version=PROTOCOL_VERSION,
                client_capabilities=ClientCapabilities(
                    fs=FileSystemCapabilities(read_text_file=True, write_text_file=True)
                ),
            )
            for index in range(WARMUP + runs):
                session = await conn.new_session(cwd=str(workspace))
                await asyncio.sleep(0.05)  # the session's command list arrives before we count
                client.counting = True
                clock.start()
                answer = await conn.prompt(
                    session_id=session.session_id, prompt=[text_block("Read hello.txt")]
                )
                run = clock.run()
                client.counting = False
                assert answer.stop_reason == "end_turn", answer
                if index >= WARMUP:
                    results.append(run)
    return results


async def mcp_runs(workspace: Path, home: Path, llm: ScriptedLLM, runs: int) -> list[Run]:
    """``runs`` measured ``run_task`` calls (after a warm-up) through ``luminamind mcp``."""
    clock = _Clock()

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        # MCP also reports the run's start, which ACP has no update for: count what both send,
        # the agent's own events (its first tool call here).
        if message != "run_started":
            clock.tick()

    params = StdioServerParameters(
        command=str(LUMINAMIND),
        args=["mcp", "--workspace", str(workspace)],
        env=_env(llm, home),
        cwd=workspace,
    )
    results: list[Run] = []
    with (home / "mcp.log").open("w", encoding="utf-8") as err:
        async with (
            stdio_client(params, errlog=err) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            for index in range(WARMUP + runs):
                clock.start()
                result = await session.call_tool(
                    "run_task", {"task": "Read hello.txt"}, progress_callback=on_progress
                )
                run = clock.run()
                assert not result.is_error, result
                if index >= WARMUP:
                    results.append(run)
    return results


def _p50(values: list[float]) -> float:
    return statistics.median(values) * 1000


def _row(name: str, runs: list[Run]) -> tuple[str, float, float]:
    first = _p50([r.first for r in runs])
    per_update = statistics.median(r.total / max(r.updates, 1) for r in runs) * 1000
    updates = statistics.median(r.updates for r in runs)
    total = _p50([r.total for r in runs])
    p95 = statistics.quantiles([r.first for r in runs], n=20)[18] * 1000
    line = f"| {name} | {first:.1f} | {p95:.1f} | {total:.1f} | {updates:.0f} | {per_update:.3f} |"
    return line, first, per_update


async def _measure(label: str, fn: Callable[..., Awaitable[list[Run]]], *args: Any) -> list[Run]:
    started = time.perf_counter()
    runs = await fn(*args)
    print(f"  {label}: {len(runs)} runs in {time.perf_counter() - started:.1f} s", flush=True)
    return runs


async def main(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, ScriptedLLM() as llm:
        workspace = Path(tmp) / "ws"
        workspace.mkdir()
        (workspace / "hello.txt").write_text("hello\nworld\n", encoding="utf-8")
        homes = [Path(tmp) / "acp", Path(tmp) / "mcp"]
        for home in homes:
            home.mkdir()
        _script(llm, WARMUP + runs)
        acp = await _measure("acp", acp_runs, workspace, homes[0], llm, runs)
        _script(llm, WARMUP + runs)
        mcp = await _measure("mcp", mcp_runs, workspace, homes[1], llm, runs)
    acp_line, acp_first, acp_update = _row("ACP `session/prompt`", acp)
    mcp_line, mcp_first, mcp_update = _row("MCP `run_task` (progress)", mcp)
    verdict = "met" if acp_first <= mcp_first * 1.1 and acp_update <= mcp_update * 1.1 else "missed"
    markdown = f"""## ACP

`bench/acp.py`, {machine_line()}. One turn = the scripted model (zero latency) reads a file,
then streams a 120-word answer; {runs} turns per surface after {WARMUP} warm-up turns, each on a
new session / thread, through the processes editors start (stdio). First update: from sending the
request to the first update the agent's work produces (here its first tool call): the first
`session/update` (ACP), the first progress notification after MCP's "run_started" one (which
ACP has no counterpart for). Per update: the whole turn divided by the updates it sent.

| surface | first update p50 (ms) | p95 (ms) | turn p50 (ms) | updates / turn | ms per update |
|---|---|---|---|---|---|
{acp_line}
{mcp_line}

First update ACP / MCP: {acp_first / mcp_first:.2f}x; per update: {acp_update / mcp_update:.2f}x.
Goal (ACP adds no more than MCP, within 10 %): {verdict}. The two send different numbers of
messages for the same run: ACP one `session/update` per streamed chunk and tool-call change, MCP
one progress notification per agent event.
"""
    print(markdown)
    write_section("acp", markdown)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    asyncio.run(main(parser.parse_args().runs))
