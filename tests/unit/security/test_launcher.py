"""The sandbox launcher: sandboxed commands start from a small process, and die with it.

Real processes: the launcher LuminaMind starts, real sandboxed commands, real signals.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from luminamind.config import Settings
from luminamind.errors import ToolExecutionError
from luminamind.runtime import ToolRuntime, build_tool_runtime
from luminamind.security import launcher as launcher_module
from luminamind.security.launcher import Launcher, get_launcher
from luminamind.security.sandbox import (
    SANDBOX_FAILED_STATUS,
    PreparedSandbox,
    SandboxSpec,
    read_confinement,
    sandbox_status,
)
from luminamind.tools import shell
from luminamind.tools._shell_launch import launch_process
from luminamind.tools._shell_run import PipelineRun, run_pipeline
from luminamind.tools.registry import ToolRegistry
from luminamind.tools.shell import ShellResult

pytestmark = pytest.mark.skipif(
    not sandbox_status().available, reason="this machine has no Landlock"
)


def _sandboxed(
    prepared: PreparedSandbox,
    argv: list[list[str]],
    *,
    cwd: Path,
    env: dict[str, str],
    stdin: bytes | None,
    time_limit: float = 20,
) -> Coroutine[Any, Any, PipelineRun]:  # Any: a coroutine's send and yield types
    """``run_pipeline`` of ``argv`` (each program from /bin) in ``prepared``, output capped."""
    return run_pipeline(
        [f"/bin/{stage[0]}" for stage in argv],
        argv,
        cwd=cwd,
        env=env,
        stdin=stdin,
        time_limit=time_limit,
        max_output_bytes=10_000,
        sandbox=prepared,
    )


@pytest.fixture
def rt(settings: Settings) -> ToolRuntime:
    return build_tool_runtime(
        settings, surface="cli", registry=ToolRegistry(shell.TOOLS), use_cache=False
    )


def _children(pid: int) -> list[int]:
    """``pid``'s live children (a zombie the launcher has yet to reap is over, not running)."""
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            text = Path(f"/proc/{pid}/task/{task}/children").read_text()
            found += [int(c) for c in text.split()]
    except OSError:
        pass  # gone meanwhile
    return [child for child in found if _alive(child)]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


async def _wait_for(condition: object, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def _sleep_call(rt: ToolRuntime) -> asyncio.Task[object]:
    task = asyncio.create_task(
        rt.executor.acall("shell", {"command": "sleep 30"}, context=rt.context, approved=True)
    )
    await _wait_for(lambda: get_launcher().usable and _sleeping(get_launcher().pid))
    await asyncio.sleep(0.2)  # the launcher's "started" reply is on its way
    return task


def _sleeping(launcher: int) -> bool:
    """The command runs: the launcher's child (the waiter) has exec'd sleep under it."""
    for waiter in _children(launcher):
        for command in _children(waiter):
            with contextlib.suppress(OSError):
                if Path(f"/proc/{command}/comm").read_text().strip() == "sleep":
                    return True
    return False


async def test_commands_start_from_the_launcher_and_a_cancel_ends_them(rt: ToolRuntime) -> None:
    task = await _sleep_call(rt)
    launcher = get_launcher()
    (waiter,) = _children(launcher.pid)
    assert waiter not in _children(os.getpid()), "not a fork of this process"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await _wait_for(lambda: not _alive(waiter))
    await _wait_for(lambda: _children(launcher.pid) == [])


async def test_a_killed_launcher_takes_its_commands_and_the_next_call_starts_another(
    rt: ToolRuntime,
) -> None:
    task = await _sleep_call(rt)
    old = get_launcher()
    (waiter,) = _children(old.pid)
    os.kill(old.pid, signal.SIGKILL)
    result = await asyncio.wait_for(task, 10)
    assert isinstance(result, ShellResult)
    assert result.signal == "SIGKILL"
    await _wait_for(lambda: not _alive(waiter))
    again = await rt.executor.acall(
        "shell", {"command": "echo back"}, context=rt.context, approved=True
    )
    assert isinstance(again, ShellResult)
    assert again.stdout == "back\n"
    assert get_launcher().pid != old.pid


async def test_closing_the_launcher_kills_what_runs(
    rt: ToolRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As when LuminaMind exits: the launcher's socket closes, and it stops every command."""
    fresh = Launcher()
    monkeypatch.setattr(launcher_module, "_current", fresh)
    task = await _sleep_call(rt)
    (waiter,) = _children(fresh.pid)
    await asyncio.to_thread(fresh.close)
    assert not _alive(fresh.pid)
    await _wait_for(lambda: not _alive(waiter))
    result = await asyncio.wait_for(task, 10)
    assert isinstance(result, ShellResult)
    assert result.exit_code is None


def test_the_launcher_holds_none_of_the_servers_environment() -> None:
    environ = Path(f"/proc/{get_launcher().pid}/environ").read_bytes()
    assert environ == b""


def _spawn(
    tmp_path: Path, *, flags: int | None = None, cwd: Path | None = None
) -> tuple[int, bytes]:
    prepared = SandboxSpec(read_write=(tmp_path,)).prepare()
    ruleset = prepared.ruleset()
    read_err, write_err = os.pipe()
    null = os.open(os.devnull, os.O_RDWR)
    try:
        launch = get_launcher().spawn(
            executable="/usr/bin/true",
            argv=["true"],
            cwd=str(cwd or tmp_path),
            env={},
            flags=prepared.unshare_flags if flags is None else flags,
            abi=prepared.abi,
            fds=(null, null, write_err, ruleset.fd),
        )
    finally:
        for fd in (null, write_err):
            os.close(fd)
        ruleset.close()
        prepared.close()
    try:
        launch.started.result(10)
        status = launch.exited.result(10)
        with os.fdopen(read_err, "rb") as err:
            return os.waitstatus_to_exitcode(status), err.read()
    except BaseException:
        os.close(read_err)
        raise


def test_a_sandbox_that_cannot_be_entered_says_why_through_the_launcher(tmp_path: Path) -> None:
    # 0x1 is no namespace flag: unshare(2) refuses it with EINVAL on every kernel.
    code, stderr = _spawn(tmp_path, flags=0x1)
    assert code == SANDBOX_FAILED_STATUS
    assert b"luminamind sandbox: could not unshare the namespaces: Invalid argument" in stderr
    assert _spawn(tmp_path) == (0, b"")


def test_a_command_that_cannot_start_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        _spawn(tmp_path, cwd=tmp_path / "missing")


async def test_a_request_too_big_for_the_launcher_forks_here_still_sandboxed(
    tmp_path: Path,
) -> None:
    """A socket message has a size limit (about 200 KB): such a stage forks from this process."""
    prepared = SandboxSpec(read_write=(tmp_path,)).prepare()
    # execve takes at most 128 KiB per string, so four variables make the size.
    big = {f"BIG{n}": "x" * 100_000 for n in range(4)}
    env = prepared.environment({"PATH": "/usr/bin:/bin", **big})
    try:
        run = await _sandboxed(
            prepared,
            [["sh", "-c", "echo ${#BIG3} $$; cat /proc/1/environ >/dev/null || echo denied"]],
            cwd=tmp_path,
            env=env,
            stdin=None,
        )
    finally:
        prepared.close()
    assert run.returncodes == [0]
    # Its own PID namespace (PID 1), and no reading outside it.
    assert run.stdout.text() == "100000 1\ndenied\n", run.stderr.text()


def test_stdin_a_command_never_reads_is_dropped_on_uvloop_too(tmp_path: Path) -> None:
    """The first stage exits before it is fed: the loop has closed its stdin pipe by then.

    asyncio drops the write; uvloop raised RuntimeError (the MCP HTTP server runs on uvloop).
    Two stages: the second's start gives the first time to exit.
    """
    uvloop = pytest.importorskip("uvloop")
    prepared = SandboxSpec(read_write=(tmp_path,)).prepare()
    env = prepared.environment({"PATH": "/usr/bin:/bin"})

    async def runs() -> list[PipelineRun]:
        return [
            await _sandboxed(
                prepared, [["true"], ["echo", "done"]], cwd=tmp_path, env=env, stdin=b"never read"
            )
            for _ in range(3)
        ]

    try:
        done = uvloop.run(runs())
    finally:
        prepared.close()
    assert [(run.returncodes, run.stdout.text()) for run in done] == [([0, 0], "done\n")] * 3


def _open_fds() -> dict[int, str]:
    """This process's descriptors and what each is, once no spare ruleset is being built."""
    deadline = time.monotonic() + 10
    # A take starts a thread that builds the next spare (a Landlock ruleset, one descriptor).
    while any(t.name == "luminamind-sandbox-ruleset" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "a spare ruleset is still being built"
        time.sleep(0.01)
    found: dict[int, str] = {}
    for name in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own descriptor, closed meanwhile
            found[int(name)] = os.readlink(f"/proc/self/fd/{name}")
    return found


async def _cat_through_launch_process(tmp_path: Path) -> bytes:
    confinement = read_confinement((tmp_path,), "/bin/cat")
    assert confinement is not None
    process = await launch_process(
        get_launcher(),
        confinement.ruleset(),
        executable="/bin/cat",
        argv=["cat", str(tmp_path / "file")],
        cwd=str(tmp_path),
        env={},
    )
    out = await process.stdout.read()
    await process.stderr.read()
    assert await process.wait() == 0
    return out


async def test_no_descriptor_outlives_the_commands_on_any_path(tmp_path: Path) -> None:
    """Launcher stages, the fork fallback, rg's launch, starts that fail and cancelled runs."""
    (tmp_path / "file").write_text("text\n")
    prepared = SandboxSpec(read_write=(tmp_path,)).prepare()
    big = {f"BIG{n}": "x" * 100_000 for n in range(4)}  # too big for the launcher: forks here
    small, large = (prepared.environment({"PATH": "/usr/bin:/bin", **e}) for e in ({}, big))

    def pipeline(
        argv: list[list[str]], env: dict[str, str], *, cwd: Path = tmp_path, stdin: bytes | None
    ) -> Coroutine[Any, Any, PipelineRun]:  # Any: a coroutine's send and yield types
        return _sandboxed(prepared, argv, cwd=cwd, env=env, stdin=stdin)

    async def run(env: dict[str, str], *, cwd: Path = tmp_path, feed: bool = True) -> list[int]:
        piped = await pipeline(
            [["echo", "a"], ["cat"]], env, cwd=cwd, stdin=b"in" if feed else None
        )
        assert piped.stdout.text() == "a\n", piped.stderr.text()
        return [code for code in piped.returncodes if code is not None]

    async def cancelled(env: dict[str, str]) -> None:
        task = asyncio.create_task(pipeline([["sleep", "30"]], env, stdin=None))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    async def every_path() -> None:
        assert await run(small) == [0, 0]
        assert await run(large, feed=False) == [0, 0]
        assert await _cat_through_launch_process(tmp_path) == b"text\n"
        with pytest.raises(ToolExecutionError):
            await run(small, cwd=tmp_path / "missing")
        with pytest.raises(ToolExecutionError):
            await run(large, cwd=tmp_path / "missing")
        await cancelled(small)
        await cancelled(large)

    try:
        await every_path()  # the launcher, the loop's child watcher and the spares settle
        before = _open_fds()
        for _ in range(10):
            await every_path()
        after = _open_fds()
    finally:
        prepared.close()
    gone = {fd: what for fd, what in before.items() if fd not in after}
    grown = {fd: what for fd, what in after.items() if fd not in before}
    assert len(after) <= len(before), f"descriptors left open: {grown} (closed: {gone})"


class _HeldConnect:
    """Holds the loop's ``nth`` pipe connection of a launch until released: the race's window.

    The real loop's ``connect_read_pipe`` / ``connect_write_pipe`` run, wrapped: the held one
    waits for ``release`` before the loop has the pipe, or (``after``) once it has connected it.
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch, *, after: bool
    ) -> None:
        self.after = after
        self.nth = self.count = 0  # 0: hold none
        self.reached, self.release = asyncio.Event(), asyncio.Event()
        for name in ("connect_read_pipe", "connect_write_pipe"):
            monkeypatch.setattr(loop, name, functools.partial(self._connect, getattr(loop, name)))

    def arm(self, nth: int) -> None:
        self.nth, self.count = nth, 0
        self.reached.clear()
        self.release.clear()

    async def _connect(self, real: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        self.count += 1
        held = self.count == self.nth
        if held and not self.after:
            await self._hold()
        connected = await real(*args)
        if held and self.after:
            await self._hold()
        return connected

    async def _hold(self) -> None:
        self.reached.set()
        await self.release.wait()


async def _settled(launcher: int, before: dict[int, str]) -> None:
    """Wait until the launcher runs no command and no descriptor is open beyond ``before``."""
    deadline = time.monotonic() + 5
    while True:
        running, after = _children(launcher), _open_fds()
        grown = {fd: what for fd, what in after.items() if fd not in before}
        if not running and len(after) <= len(before):
            return
        assert time.monotonic() < deadline, (
            f"commands left running: {running}; descriptors left open: {grown}"
        )
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("after", [False, True], ids=["being-handed", "connected"])
async def test_a_cancel_while_the_pipes_connect_closes_them_and_ends_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, after: bool
) -> None:
    """The command has started and its pipes are being connected to the loop when the call is
    cancelled: at each pipe of a stage (stdout, stderr, stdin) and of rg's launch (stdout,
    stderr), before the loop has it and once it is connected."""
    (tmp_path / "file").write_text("text\n")
    prepared = SandboxSpec(read_write=(tmp_path,)).prepare()
    env = prepared.environment({"PATH": "/usr/bin:/bin"})
    confinement = read_confinement((tmp_path,), "/bin/sleep")
    assert confinement is not None
    held = _HeldConnect(asyncio.get_running_loop(), monkeypatch, after=after)

    async def stage() -> object:
        return await _sandboxed(
            prepared, [["sleep", "30"]], cwd=tmp_path, env=env, stdin=b"in", time_limit=60
        )

    async def process() -> object:
        return await launch_process(
            get_launcher(),
            confinement.ruleset(),
            executable="/bin/sleep",
            argv=["sleep", "30"],
            cwd=str(tmp_path),
            env={},
        )

    try:
        # The launcher, the loop's child watcher and the spares settle.
        assert await _cat_through_launch_process(tmp_path) == b"text\n"
        before = _open_fds()
        for start, connections in ((stage, 3), (process, 2)):
            for nth in range(1, connections + 1):
                held.arm(nth)
                task = asyncio.create_task(start())
                async with asyncio.timeout(10):
                    await held.reached.wait()
                task.cancel()
                held.release.set()
                with pytest.raises(asyncio.CancelledError):
                    await task
                await _settled(get_launcher().pid, before)
    finally:
        prepared.close()
