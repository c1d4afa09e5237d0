"""The shell sandbox's cost per command: ``shell("true")`` sandboxed vs unsandboxed.

All run through the whole tool runtime (validation, policy, approval, audit log, metrics),
alternating so CPU noise hits them alike; the difference of medians is the sandbox's overhead
(goal: under 5 ms p50). Sandboxed both ways: through the launcher process, and by a fork of
this process (the fallback), at this process's size and grown by a ballast. Beside it, what
the parts cost, and bubblewrap (the alternative weighed in docs/decisions.md) starting
``true`` with the same reach, when installed.
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
from luminamind.security import sandbox  # noqa: E402
from luminamind.security._sandbox_child import (  # noqa: E402
    CLONE_NEWNET,
    CLONE_NEWPID,
    CLONE_NEWUSER,
)
from luminamind.security.launcher import get_launcher  # noqa: E402
from luminamind.security.sandbox import SandboxSpec, sandbox_status  # noqa: E402
from luminamind.tools import _shell_run, shell  # noqa: E402
from luminamind.tools.registry import ToolRegistry  # noqa: E402
from luminamind.tools.shell import ShellResult  # noqa: E402

REPEATS = 150
GOAL_MS = 5.0
BALLAST_MB = 400


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


def _prepare_cost(workspace: Path) -> tuple[float, float]:
    """What a call pays for its private directory and ruleset (a spare ready, as between
    commands), and what building a ruleset from scratch costs (the spare's thread pays it)."""
    paid, built = [], []
    path_dirs = os.environ.get("PATH", "").split(os.pathsep)
    for _ in range(REPEATS // 3):
        time.sleep(0.03)  # as a command would take: the spare is refilled meanwhile
        started = time.perf_counter()
        prepared = SandboxSpec(read_write=(workspace,)).prepare(path_dirs=path_dirs)
        prepared.ruleset().close()
        paid.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        sandbox._BaseKey(
            prepared.abi, False, tuple(prepared.readable), (), (str(workspace),)
        ).build().close()
        built.append((time.perf_counter() - started) * 1000)
        prepared.close()
    return statistics.median(paid), statistics.median(built)


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


async def _series(
    plain_rt: ToolRuntime, boxed_rt: ToolRuntime, repeats: int
) -> tuple[list[float], list[float], list[float]]:
    """Unsandboxed, sandboxed through the launcher, sandboxed by a fork of this process."""
    plain, launched, forked = [], [], []
    for _ in range(repeats):
        plain.append(await _once(plain_rt))
        _shell_run.USE_LAUNCHER = True
        launched.append(await _once(boxed_rt))
        _shell_run.USE_LAUNCHER = False
        forked.append(await _once(boxed_rt))
    _shell_run.USE_LAUNCHER = True
    return plain, launched, forked


def _namespace_costs(workspace: Path) -> dict[str, float]:
    """``true`` through the launcher with each set of namespaces (median ms, start to exit)."""
    prepared = SandboxSpec(read_write=(workspace,)).prepare()
    sets = {
        "Landlock only": 0,
        "+ user namespace": CLONE_NEWUSER,
        "+ PID namespace": CLONE_NEWUSER | CLONE_NEWPID,
        "+ network namespace (all)": CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET,
    }
    times: dict[str, list[float]] = {name: [] for name in sets}
    launcher = get_launcher()
    for _ in range(REPEATS // 3):
        for name, flags in sets.items():
            ruleset = prepared.ruleset()
            null = os.open(os.devnull, os.O_RDWR)
            started = time.perf_counter()
            launch = launcher.spawn(
                executable="/usr/bin/true",
                argv=["true"],
                cwd=str(workspace),
                env={},
                flags=flags & prepared.unshare_flags,
                abi=prepared.abi,
                fds=(null, null, null, ruleset.fd),
            )
            os.close(null)
            ruleset.close()
            launch.exited.result(10)
            times[name].append((time.perf_counter() - started) * 1000)
    prepared.close()
    return {name: statistics.median(values) for name, values in times.items()}


def _rows(label: str, values: list[float], base: list[float] | None) -> str:
    p50, p90 = statistics.median(values), _pct(values, 0.9)
    if base is None:
        return f"| {label} | {p50:.2f} ms | {p90:.2f} ms | |"
    over = p50 - statistics.median(base)
    return f"| {label} | {p50:.2f} ms | {p90:.2f} ms | **{over:.2f} ms** |"


async def main() -> None:
    configure_logging(level="WARNING")
    status = sandbox_status()
    if not status.available:
        raise SystemExit(f"no sandbox here: {status.reason}")
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp)
        plain_rt, boxed_rt = _runtime(workspace, sandbox=False), _runtime(workspace, sandbox=True)
        await _series(plain_rt, boxed_rt, 5)
        small = await _series(plain_rt, boxed_rt, REPEATS)
        small_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        load = os.getloadavg()[0]
        # A server that has loaded its model clients, caches and threads is bigger: the same
        # calls again with this process grown by BALLAST_MB of touched memory.
        ballast = b"\x01" * (BALLAST_MB << 20)
        big = await _series(plain_rt, boxed_rt, REPEATS // 3)
        big_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        del ballast
        prepare = _prepare_cost(workspace)
        namespaces = _namespace_costs(workspace)
        bwrap = _bwrap_cost(workspace)
    plain, launched, forked = small
    overhead = statistics.median(launched) - statistics.median(plain)
    verdict = "meets" if overhead < GOAL_MS else "misses"
    lines = [
        "## Shell sandbox overhead (`bench/sandbox.py`)",
        "",
        f"{machine_line()}, load average {load:.1f} during the run; {status.describe()}. "
        f'`shell("true")` through the whole tool runtime, {REPEATS} calls each way, '
        "the three ways alternating so load hits them alike. Sandboxed commands start from "
        "the **launcher** (a small process started once, `luminamind/security/launcher.py`); "
        "**fork** is the way before it and its fallback (a fork of this process runs the same "
        "steps).",
        "",
        f"This process at {small_rss:.0f} MB peak RSS:",
        "",
        "| | p50 | p90 | overhead (p50) |",
        "| --- | --- | --- | --- |",
        _rows("unsandboxed", plain, None),
        _rows("sandboxed, launcher", launched, plain),
        _rows("sandboxed, fork", forked, plain),
        "",
        f"Grown to {big_rss:.0f} MB ({REPEATS // 3} calls each way):",
        "",
        "| | p50 | p90 | overhead (p50) |",
        "| --- | --- | --- | --- |",
        _rows("unsandboxed", big[0], None),
        _rows("sandboxed, launcher", big[1], big[0]),
        _rows("sandboxed, fork", big[2], big[0]),
        "",
        f"The launcher's overhead ({overhead:.2f} ms) {verdict} the {GOAL_MS:g} ms p50 goal. "
        f"Its parts: the private directory and the Landlock ruleset, {prepare[0]:.2f} ms "
        f"(median; the ruleset is built ahead in a thread while the previous command runs, "
        f"{prepare[1]:.2f} ms from scratch); then process creation. `true` started by the launcher "
        "directly, start to exit (median), with each set of namespaces:",
        "",
        "| namespaces | time |",
        "| --- | --- |",
        *(f"| {name} | {ms:.2f} ms |" for name, ms in namespaces.items()),
        "",
        "A PID namespace costs a second fork (its PID 1 and the waiter outside that mirrors "
        "its end) and its teardown; the network namespace's own cost is what is left.",
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
