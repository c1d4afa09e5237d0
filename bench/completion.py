"""``completion/complete`` for workspace paths: a 20,000-file workspace (target p95 < 50 ms).

The workspace: 200 directories of 100 files, a ``.gitignore`` (``*.log``, ``build/``) with its
ignored files present, and a ``node_modules`` of 2,000 files. The client is the official MCP
client over stdio against ``luminamind mcp`` (what an editor does as the user types), asking
for ``code_review``'s ``path`` with the prefixes a user types: the top level, a directory name,
a directory, a file name. The server's own time (`complete_path` in-process) is shown beside
it, and, for scale, one walk of the whole tree through the same ignore rules (what completing
against a flat list of every path would cost per request without a cache).
Run: ``.venv/bin/python bench/completion.py``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ leads sys.path and bench/mcp.py would shadow the mcp SDK.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

import mcp_types as types  # noqa: E402
from mcp.client.session import ClientSession  # noqa: E402
from mcp.client.stdio import StdioServerParameters, stdio_client  # noqa: E402

from bench._report import machine_line, write_section  # noqa: E402
from luminamind.security.workspace import Workspace  # noqa: E402
from luminamind.tools.files.ignore import ALWAYS_SKIPPED, IgnoreRules  # noqa: E402
from luminamind_mcp.completion import complete_path  # noqa: E402

DIRS, FILES = 200, 100
PREFIXES = ("", "d1", "d123/", "d123/f0", "d123/f05", "d7/f", "build", "src/")
ROUNDS = 40  # x len(PREFIXES) requests
TARGET_MS = 50.0
REF = types.PromptReference(type="ref/prompt", name="code_review")


def populate(root: Path) -> int:
    (root / ".gitignore").write_text("*.log\nbuild/\n", encoding="utf-8")
    count = 0
    for d in range(DIRS):
        directory = root / f"d{d}"
        directory.mkdir()
        for f in range(FILES):
            name = f"f{f:03}.log" if f % 10 == 0 else f"f{f:03}.py"
            (directory / name).write_bytes(b"")
            count += 1
    for extra in ("build", "node_modules"):
        (root / extra).mkdir()
        for f in range(1_000):
            (root / extra / f"x{f}.js").write_bytes(b"")
            count += 1
    return count


def walk_all(workspace: Workspace) -> int:
    """Every path the ignore rules keep, walking the whole tree (the flat-list baseline)."""
    kept = 0
    stack = [(workspace.root, IgnoreRules.between(workspace.root, workspace.root))]
    while stack:
        directory, rules = stack.pop()
        for entry in os.scandir(directory):
            is_dir = entry.is_dir()
            if (is_dir and entry.name in ALWAYS_SKIPPED) or rules.ignored(
                Path(entry.path), is_dir=is_dir
            ):
                continue
            kept += 1
            if is_dir:
                stack.append((Path(entry.path), rules.entering(Path(entry.path))))
    return kept


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def over_stdio(root: Path) -> list[float]:
    params = StdioServerParameters(
        command=str(Path(sys.executable).parent / "luminamind"),
        args=["mcp", "--workspace", str(root)],
        env={**os.environ, "LUMINAMIND_CONFIG_FILE": str(root / "none.toml")},
        cwd=root,
    )
    times: list[float] = []
    with open(os.devnull, "w") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            for prefix in PREFIXES:  # warm-up: imports, first scandirs
                await session.complete(REF, {"name": "path", "value": prefix})
            for _ in range(ROUNDS):
                for prefix in PREFIXES:
                    started = time.perf_counter()
                    await session.complete(REF, {"name": "path", "value": prefix})
                    times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp).resolve()
        files = populate(root)
        workspace = Workspace(root)
        server_side: list[float] = []
        for _ in range(ROUNDS):
            for prefix in PREFIXES:
                started = time.perf_counter()
                complete_path(workspace, prefix)
                server_side.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        kept = walk_all(workspace)
        walk_ms = (time.perf_counter() - started) * 1000
        client = asyncio.run(over_stdio(root))
    p95 = pct(client, 0.95)
    verdict = "met" if p95 < TARGET_MS else "missed"
    markdown = "\n".join(
        [
            "## Completions: workspace paths (`bench/completion.py`)",
            "",
            f"{machine_line()}. {files:,} files ({DIRS} directories of {FILES}, a tenth "
            "ignored by `.gitignore`, plus `build/` (ignored) and `node_modules` of 1,000 each); "
            f"`code_review`'s `path` completed for {len(PREFIXES)} prefixes "
            f"({', '.join(repr(p) for p in PREFIXES)}), {ROUNDS} rounds.",
            "",
            "| measure | p50 ms | p95 ms |",
            "|---|---:|---:|",
            f"| official client over stdio, round trip | {statistics.median(client):.2f} | "
            f"{p95:.2f} |",
            f"| server's own time (`complete_path`) | {statistics.median(server_side):.2f} | "
            f"{pct(server_side, 0.95):.2f} |",
            f"| for scale: one walk of the whole tree through the ignore rules ({kept:,} kept) "
            f"| {walk_ms:.0f} | |",
            "",
            f"Target p95 < {TARGET_MS:.0f} ms: **{verdict}**. Only the directory the prefix names "
            "is read, so the time follows the size of that directory, not of the workspace.",
        ]
    )
    print(markdown)
    if "--no-write" not in sys.argv:
        write_section("completion", markdown)


if __name__ == "__main__":
    main()
