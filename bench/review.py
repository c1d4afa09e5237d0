"""Hunk review: splitting and presenting a 2,000-line change with 200 hunks (target < 50 ms).

The path measured is the server's, from a paused write_file call to what a surface receives:
``action_requests`` (the preview read from disk, its unified diff, the split into hunks, the
proposal fingerprint), the request as JSON (what MCP, LSP and ACP carry) and the MCP server's
elicitation form (one box per hunk, every hunk's diff in the message) and the language server's
workspace edit (one change annotation per hunk). Composing a partial
selection (keep every other hunk) and reading decisions back from a buffer (`infer_decisions`)
are measured too.
``git diff --no-index`` on the same two files is shown for scale (it includes a process start).
Run: ``.venv/bin/python bench/review.py``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ leads sys.path and bench/mcp.py would shadow the mcp SDK.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from langgraph.types import Interrupt  # noqa: E402

from bench._report import machine_line, write_section  # noqa: E402
from luminamind.agent.approvals import action_requests  # noqa: E402
from luminamind.config import load_settings  # noqa: E402
from luminamind.observability.logging import configure_logging  # noqa: E402
from luminamind.review import (  # noqa: E402
    HunkDecision,
    choose,
    compose,
    infer_decisions,
)
from luminamind.runtime import build_tool_runtime  # noqa: E402
from luminamind_lsp.hunk_review import hunk_workspace_edit  # noqa: E402
from luminamind_mcp.review import review_message, review_schema  # noqa: E402

LINES = 2_000
EVERY = 10  # one changed line in ten: 200 hunks (gaps of 9 lines > 2 x 3 lines of context)
REPEATS = 25
TARGET_MS = 50.0


def texts() -> tuple[str, str]:
    old = [f"    value_{i} = compute({i}, factor=3)  # line {i}\n" for i in range(LINES)]
    new = list(old)
    for i in range(EVERY // 2, LINES, EVERY):
        new[i] = f"    value_{i} = compute({i}, factor=4)  # changed\n"
    return "".join(old), "".join(new)


def median_ms(fn: Callable[[], Any]) -> float:
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    configure_logging(level="WARNING")
    old, new = texts()
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp).resolve()
        (workspace / "big.py").write_text(old)
        (workspace / "proposed.py").write_text(new)
        settings = load_settings(workspace=workspace, data_dir=workspace / ".data")
        runtime = build_tool_runtime(settings, surface="cli", use_cache=False)
        interrupt = Interrupt(
            value={
                "type": "tool_approval",
                "tool_call_id": "call_1",
                "name": "write_file",
                "args": {"path": "big.py", "content": new},
                "description": "",
            },
            id="i1",
        )

        async def arequest() -> Any:
            (pending,) = await action_requests(
                [interrupt], executor=runtime.executor, context=runtime.context, count_metric=False
            )
            return pending

        async def atimed() -> float:
            # One event loop for every repetition, as in a server (its worker threads stay up).
            times = []
            for _ in range(REPEATS):
                started = time.perf_counter()
                await arequest()
                times.append((time.perf_counter() - started) * 1000)
            return statistics.median(times)

        def request() -> Any:
            return asyncio.run(arequest())

        sample = request()
        hunks = sample.hunks
        assert len(hunks) == LINES // EVERY, len(hunks)
        rows: list[tuple[str, float]] = [
            ("split: preview from disk + diff + 200 hunks + fingerprint", asyncio.run(atimed())),
            ("present: the request as JSON", median_ms(sample.model_dump_json)),
            (
                "present: MCP elicitation form (200 boxes) and message",
                median_ms(lambda: (review_schema(sample), review_message(sample))),
            ),
            (
                "present: LSP workspace edit (one annotation per hunk)",
                median_ms(
                    lambda: hunk_workspace_edit(sample, root=workspace, buffers=lambda _: None)
                ),
            ),
        ]
        decisions = [
            HunkDecision(hunk=h.index, action="accept" if h.index % 2 else "reject") for h in hunks
        ]

        def partial() -> str | None:
            return compose(old, hunks, choose(hunks, decisions))

        kept = partial()
        rows.append(("compose: keep every other hunk", median_ms(partial)))
        rows.append(
            (
                "read back: infer decisions from a buffer",
                median_ms(lambda: infer_decisions(old, hunks, kept)),
            )
        )
        git = shutil.which("git")
        git_ms = None
        if git:
            argv = [git, "diff", "--no-index", "--no-color", "big.py", "proposed.py"]
            git_ms = median_ms(
                lambda: subprocess.run(argv, cwd=workspace, capture_output=True, check=False)
            )
    asyncio.run(asyncio.sleep(0))
    # A proposal is presented to one surface: the request as JSON plus that surface's own form.
    end_to_end = rows[0][1] + rows[1][1] + max(ms for _label, ms in rows[2:-2])
    verdict = "met" if end_to_end < TARGET_MS else "missed"
    lines = [
        "## Hunk review (`bench/review.py`)",
        "",
        f"{machine_line()}. A {LINES:,}-line file, write_file changing one line in {EVERY}: "
        f"{len(hunks)} hunks, {len(sample.diff or ''):,} characters of diff. Median of "
        f"{REPEATS} runs each.",
        "",
        "| step | median ms |",
        "|---|---:|",
        *[f"| {label} | {ms:.2f} |" for label, ms in rows],
        f"| **split + present (JSON + the slowest surface's form)** | **{end_to_end:.2f}** |",
    ]
    if git_ms is not None:
        lines.append(f"| for scale: `git diff --no-index` (process included) | {git_ms:.2f} |")
    load = os.getloadavg()[0]
    lines += [
        "",
        f"Load average during the run: {load:.1f} on {os.cpu_count()} CPUs (the machine is shared "
        "with other builds; on a busy machine single steps take 2-5x their quiet time, the "
        "total stayed between 15 and 30 ms over several runs).",
        f"Target: split and present under {TARGET_MS:.0f} ms on the server: **{verdict}** "
        f"({end_to_end:.1f} ms).",
    ]
    markdown = "\n".join(lines)
    print(markdown)
    if "--no-write" not in sys.argv:
        write_section("review", markdown)


if __name__ == "__main__":
    main()
