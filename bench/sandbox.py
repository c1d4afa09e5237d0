"""The shell sandbox's cost per command: ``shell("true")`` sandboxed vs unsandboxed.

Both run through the whole tool runtime (validation, policy, approval, audit log, metrics), the
two alternating so CPU noise hits both alike; the difference of medians is the sandbox's
overhead (goal: under 5 ms p50). Beside it, what the parts cost, and bubblewrap (the
alternative weighed in docs/decisions.md) starting ``true`` with the same reach, when installed.
Run: ``.venv/bin/python bench/sandbox.py``.
"""

from __future__ import annotations

import asyncio
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from bench._report import machine_line, write_section  # noqa: E402
from luminamind.config import load_settings  # noqa: E402
from luminamind.observability.logging import configure_logging  # noqa: E402
from luminamind.runtime import ToolRuntime, build_tool_runtime  # noqa: E402
from luminamind.security.sandbox import SandboxSpec, sandbox_status  # noqa: E402
from luminamind.tools import shell  # noqa: E402
from luminamind.tools.registry import ToolRegistry  # noqa: E402
from luminamind.tools.shell import ShellResult  # noqa: E402

REPEATS = 150
GOAL_MS = 5.0


def _runtime(workspace: Path, *, sandbox: bool) -> ToolRuntime:
    settings = load_settings(workspace=workspace)
    settings = settings.model_copy(
        update={"shell": settings.shell.model_copy(update={"sandbox": sandbox})}
    )
    return build_tool_runtime(
        settings, surface="cli", registry=ToolRegistry(shell.TOOLS), use_cache=False
    )


async def _once(rt: ToolRuntime) -> float:
    started = time.perf_counter()
    result = await rt.executor.acall(
        "shell", {"command": "true"}, context=rt.context, approved=True
    )
    elapsed = time.perf_counter() - started
    assert isinstance(result, ShellResult)
    assert result.exit_code == 0, result
    return elapsed * 1000


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def _prepare_cost(workspace: Path) -> float:
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        prepared = SandboxSpec(read_write=(workspace,)).prepare(
            path_dirs=os.environ.get("PATH", "").split(os.pathsep)
        )
        prepared.ruleset().close()
        prepared.close()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _bwrap_cost(workspace: Path) -> float | None:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return None
    argv = [bwrap, "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib64", "/lib64"]
    argv += ["--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib", "--proc", "/proc"]
    argv += ["--dev", "/dev", "--tmpfs", "/tmp", "--bind", str(workspace), str(workspace)]
    argv += ["--unshare-pid", "--unshare-net", "--die-with-parent", "--new-session"]
    argv += ["--", "/usr/bin/true"]
    plain, boxed = [], []
    for _ in range(REPEATS // 3):
        for target, cmd in ((plain, ["/usr/bin/true"]), (boxed, argv)):
            started = time.perf_counter()
            subprocess.run(cmd, check=True)
            target.append((time.perf_counter() - started) * 1000)
    return statistics.median(boxed) - statistics.median(plain)


async def main() -> None:
    configure_logging(level="WARNING")
    status = sandbox_status()
    if not status.available:
        raise SystemExit(f"no sandbox here: {status.reason}")
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp)
        plain_rt, boxed_rt = _runtime(workspace, sandbox=False), _runtime(workspace, sandbox=True)
        for _ in range(5):
            await _once(plain_rt)
            await _once(boxed_rt)
        plain, boxed = [], []
        for _ in range(REPEATS):
            plain.append(await _once(plain_rt))
            boxed.append(await _once(boxed_rt))
        prepare = _prepare_cost(workspace)
        bwrap = _bwrap_cost(workspace)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load = os.getloadavg()[0]
    p50 = statistics.median(boxed) - statistics.median(plain)
    p90 = _pct(boxed, 0.9) - _pct(plain, 0.9)
    verdict = "meets" if p50 < GOAL_MS else "misses"
    lines = [
        "## Shell sandbox overhead (`bench/sandbox.py`)",
        "",
        f"{machine_line()}, load average {load:.1f} during the run; {status.describe()}; "
        f"this process's peak RSS {rss_mb:.0f} MB "
        f'(the sandbox forks it, see below). `shell("true")` through the whole tool runtime, '
        f"{REPEATS} calls each way, alternating.",
        "",
        "| | p50 | p90 |",
        "| --- | --- | --- |",
        f"| unsandboxed | {statistics.median(plain):.2f} ms | {_pct(plain, 0.9):.2f} ms |",
        f"| sandboxed | {statistics.median(boxed):.2f} ms | {_pct(boxed, 0.9):.2f} ms |",
        f"| **overhead** | **{p50:.2f} ms** | {p90:.2f} ms |",
        "",
        f"The overhead {verdict} the {GOAL_MS:g} ms p50 goal. Its parts: building the private "
        f"directory and the Landlock ruleset, {prepare:.2f} ms (median); the rest is process "
        "creation: without the sandbox Python starts the command with vfork, with it a real "
        "fork of the server (page tables copied, so it grows with the server's memory) plus a "
        "second fork into the PID namespace, and the namespaces themselves.",
    ]
    if bwrap is not None:
        lines += [
            "",
            f"For comparison, bubblewrap starting `true` with the same reach (ro /usr, rw "
            f"workspace, tmpfs /tmp, own /proc, PID and network namespaces): {bwrap:.2f} ms "
            "over a plain `true` (median).",
        ]
    print("\n".join(lines))
    write_section("sandbox", "\n".join(lines))


if __name__ == "__main__":
    asyncio.run(main())
