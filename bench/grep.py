"""grep_search against the raw rg binary: same queries, same tree, one run, ratio of medians.

The tree is this interpreter's site-packages (tens of thousands of files). Each query runs
through the real tool runtime (argument validation, approval policy, audit log, metrics, JSON
event parsing, result model) and as a plain ``rg`` command whose whole output is read, the two
alternating so page-cache and CPU noise hit both alike. Run: ``.venv/bin/python bench/grep.py``.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from bench._report import machine_line, write_section  # noqa: E402
from luminamind.config import load_settings  # noqa: E402
from luminamind.observability.logging import configure_logging  # noqa: E402
from luminamind.runtime import ToolRuntime, build_tool_runtime  # noqa: E402
from luminamind.tools import code  # noqa: E402
from luminamind.tools.code import GrepResult  # noqa: E402
from luminamind.tools.registry import ToolRegistry  # noqa: E402
from luminamind.tools.rg import find_rg  # noqa: E402

REPEATS = 9
TARGET = 1.3
CASE_FLAGS = {"smart": "--smart-case", "sensitive": "--case-sensitive", "insensitive": "-i"}

# (label, tool arguments). Most stay under the 500-match cap so both sides do the same work;
# the last one shows what stopping at the cap is worth.
QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("no match, literal", {"pattern": "luminamind_bench_no_such_text", "literal": True}),
    ("rare regex", {"pattern": r"def\s+aget_tuple\("}),
    ("regex, *.py only", {"pattern": r"class \w+Saver\b", "include": ["*.py"]}),
    ("literal, few matches", {"pattern": "def __init_subclass__", "literal": True}),
    ("case-insensitive, ~300 matches", {"pattern": "checkpoint_ns", "case": "insensitive"}),
    ("~340 matches, 2 context lines", {"pattern": "lru_cache", "context_lines": 2}),
    ("very common (cap 500)", {"pattern": "import"}),
]


def rg_argv(rg: str, tree: Path, args: dict[str, Any]) -> list[str]:
    """The command a person would type for the same search (no --json)."""
    argv = [rg, "--no-config", "--no-require-git", CASE_FLAGS[args.get("case", "smart")]]
    if args.get("literal"):
        argv.append("--fixed-strings")
    if args.get("context_lines"):
        argv += ["--context", str(args["context_lines"])]
    for glob in args.get("include", []):
        argv += ["--glob", glob]
    return [*argv, "--line-number", "-e", args["pattern"], "--", str(tree)]


def time_raw(argv: list[str]) -> tuple[float, int]:
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"rg failed: {done.stderr.decode(errors='replace')}")
    return elapsed, done.stdout.count(b"\n")


async def time_tool(runtime: ToolRuntime, args: dict[str, Any]) -> tuple[float, GrepResult]:
    started = time.perf_counter()
    result = await runtime.executor.acall("grep_search", args, context=runtime.context)
    elapsed = time.perf_counter() - started
    assert isinstance(result, GrepResult)
    return elapsed, result


async def measure(runtime: ToolRuntime, rg: str, tree: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []  # Any: a table row's mixed cells
    for label, args in QUERIES:
        argv = rg_argv(rg, tree, args)
        time_raw(argv)  # warm the page cache for this query's files
        await time_tool(runtime, args)
        raw_times: list[float] = []
        tool_times: list[float] = []
        for _ in range(REPEATS):
            raw, raw_lines = time_raw(argv)
            raw_times.append(raw)
            spent, result = await time_tool(runtime, args)
            tool_times.append(spent)
        rows.append(
            {
                "label": label,
                "args": args,
                "raw": statistics.median(raw_times),
                "tool": statistics.median(tool_times),
                "raw_lines": raw_lines,
                "matches": len(result.matches),
                "truncated": result.truncated,
            }
        )
        raw_ms = statistics.median(raw_times) * 1000
        tool_ms = statistics.median(tool_times) * 1000
        print(f"{label}: raw {raw_ms:.1f} ms, tool {tool_ms:.1f} ms", file=sys.stderr)
    return rows


def report(rows: list[dict[str, Any]], tree: Path, files: int) -> str:
    lines = [
        "## grep_search vs raw rg (`bench/grep.py`)",
        "",
        f"{machine_line()}. Tree: the venv's site-packages ({files:,} files). Each query runs "
        f"{REPEATS} times each way, alternating, after one warm-up; figures are medians. "
        "`grep_search` goes through the whole tool runtime (validation, policy, audit log, "
        "metrics, `rg --json` parsing, result model); raw rg is the same search as a plain "
        f"`rg --line-number` whose output is read in full. Target: at most {TARGET}x raw rg.",
        "",
        "| query | matches (tool) | raw rg | grep_search | ratio |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        shown = f"{r['matches']}" + (" (capped)" if r["truncated"] else "")
        lines.append(
            f"| {r['label']}: `{r['args']['pattern']}` | {shown} | {r['raw'] * 1000:.1f} ms "
            f"| {r['tool'] * 1000:.1f} ms | {r['tool'] / r['raw']:.2f}x |"
        )
    same_work = [r for r in rows if not r["truncated"]]
    ratio = statistics.median(r["tool"] for r in same_work) / statistics.median(
        r["raw"] for r in same_work
    )
    worst = max(r["tool"] / r["raw"] for r in same_work)
    verdict = "meets" if worst <= TARGET else "misses"
    lines += [
        "",
        f"Ratio of medians over the uncapped queries: **{ratio:.2f}x** (worst query "
        f"{worst:.2f}x), which {verdict} the {TARGET}x target.",
    ]
    for r in rows:
        if r["truncated"]:
            lines[-1] += (
                f" `{r['args']['pattern']}` is faster than raw rg because grep_search stops rg "
                f"once it has {r['matches']} matching lines; raw rg prints all "
                f"{r['raw_lines']:,} output lines."
            )
    return "\n".join(lines)


def main() -> None:
    configure_logging(level="WARNING", fmt="console")
    rg = find_rg()
    if rg is None:
        raise SystemExit("rg not found: install the 'ripgrep' package")
    tree = Path(sysconfig.get_paths()["purelib"]).resolve()
    files = sum(1 for p in tree.rglob("*") if p.is_file())
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(workspace=tree, data_dir=Path(tmp) / "data")
        runtime = build_tool_runtime(
            settings, surface="cli", registry=ToolRegistry(code.TOOLS), use_cache=False
        )
        rows = asyncio.run(measure(runtime, rg, tree))
    text = report(rows, tree, files)
    print(text)
    write_section("grep", text)


if __name__ == "__main__":
    main()
