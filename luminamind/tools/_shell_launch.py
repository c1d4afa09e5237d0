"""Processes started by the sandbox launcher, driven like asyncio subprocesses.

A shell pipeline's stage (``launch_stage``) and the ``rg`` of grep_search (``launch_process``).

``run_pipeline`` speaks to its stages through the few methods of ``asyncio.SubprocessTransport``
it uses (pid, return code, the stdin pipe, close) and a ``SubprocessProtocol`` that receives
their output. A stage the launcher started (luminamind.security.launcher) is not this process's
child, so asyncio cannot run it; this class gives it the same shape: the output pipes are read
with ``connect_read_pipe``, the exit comes from the launcher's reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
from collections.abc import Callable, Iterable
from typing import Any

from luminamind.security._landlock import Ruleset
from luminamind.security.launcher import Launch, Launcher
from luminamind.security.sandbox import PreparedSandbox

__all__ = ["LaunchedProcess", "LaunchedStage", "launch_process", "launch_stage"]


class _Reader(asyncio.Protocol):
    """Hands one output pipe's data to the stage protocol under its descriptor number."""

    def __init__(self, stage: LaunchedStage, fd: int) -> None:
        self.stage, self.fd = stage, fd

    def data_received(self, data: bytes) -> None:
        self.stage.protocol.pipe_data_received(self.fd, data)

    def eof_received(self) -> bool:
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.stage.pipe_closed(self.fd)


class LaunchedStage:
    """The transport of a launched stage (the subset of SubprocessTransport run_pipeline uses)."""

    def __init__(
        self,
        protocol: asyncio.SubprocessProtocol,
        launch: Launch,
        pid: int,
        reading: Iterable[int],
    ) -> None:
        self.protocol = protocol
        self._launch = launch
        self._pid = pid
        self._returncode: int | None = None
        # The output pipes read (1, 2): one may reach EOF while the next is being connected.
        self._open_pipes = set(reading)
        self._pipes: dict[int, asyncio.BaseTransport] = {}
        self._lost = False

    def get_pid(self) -> int:
        return self._pid

    def get_returncode(self) -> int | None:
        return self._returncode

    def get_pipe_transport(self, fd: int) -> asyncio.BaseTransport | None:
        return self._pipes.get(fd)

    def close(self) -> None:
        for transport in self._pipes.values():
            transport.close()
        if self._returncode is None:
            # As asyncio's transport does: a stage still running when closed is killed.
            with contextlib.suppress(OSError):
                os.kill(self._pid, signal.SIGKILL)

    def pipe_closed(self, fd: int) -> None:
        self._open_pipes.discard(fd)
        self._maybe_lost()

    def exited(self, status: int) -> None:
        self._returncode = os.waitstatus_to_exitcode(status)
        self.protocol.process_exited()
        self._maybe_lost()

    def _maybe_lost(self) -> None:
        if not self._lost and self._returncode is not None and not self._open_pipes:
            self._lost = True
            self.protocol.connection_lost(None)

    def connected(
        self, loop: asyncio.AbstractEventLoop, pipes: dict[int, asyncio.BaseTransport]
    ) -> None:
        """Its pipes' transports (``_connect``'s), and its exit reported from now on."""
        self._pipes = pipes

        def done(future: Any) -> None:
            status = future.result() if future.exception() is None else -1
            # A launcher that died took its commands with it (PR_SET_PDEATHSIG): SIGKILL.
            exit_status = status if status >= 0 else signal.SIGKILL
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(self.exited, exit_status)

        self._launch.exited.add_done_callback(done)


ProtocolFactory = Callable[[], asyncio.BaseProtocol]


async def _connect(
    loop: asyncio.AbstractEventLoop, pipes: list[tuple[int, int, ProtocolFactory]]
) -> dict[int, asyncio.BaseTransport]:
    """Transports for a started command's pipes: ``(0, 1 or 2; our end; protocol factory)``.

    Each descriptor is ours until its ``connect_*_pipe`` call hands it to the loop (which closes
    it if that fails). If one fails, the transports made so far close, and the descriptors
    not yet handed over too.
    """
    transports: dict[int, asyncio.BaseTransport] = {}
    waiting = list(pipes)
    try:
        while waiting:
            fd, ours, factory = waiting[0]
            pipe = os.fdopen(ours, "wb" if fd == 0 else "rb", buffering=0)
            del waiting[0]  # the file object has it, and the call below hands it to the loop
            transport: asyncio.BaseTransport
            if fd == 0:
                transport, _ = await loop.connect_write_pipe(factory, pipe)
            else:
                transport, _ = await loop.connect_read_pipe(factory, pipe)
            transports[fd] = transport
    except BaseException:
        for transport in transports.values():
            transport.close()
        for _, ours, _ in waiting:
            os.close(ours)
        raise
    return transports


async def _connect_started(
    loop: asyncio.AbstractEventLoop,
    launch: Launch,
    pipes: list[tuple[int, int, ProtocolFactory]],
) -> dict[int, asyncio.BaseTransport]:
    """The started command's transports, connected to the end even if we are cancelled meanwhile.

    A connection cancelled half-way is not safe to leave to the loop: uvloop then closes the
    descriptor but not the file object wrapping it, which closes the same number again when
    it is collected (by then maybe someone else's descriptor). So, as asyncio's own subprocess
    transport does, the pipes connect in a task of their own that nothing cancels; it waits on
    nothing outside (a few loop iterations). Cancelled (or failed), we let it end, close what
    it made, kill the command and see it gone, then re-raise: nothing is left half-owned.
    """
    setup = loop.create_task(_connect(loop, pipes))
    try:
        return await asyncio.shield(setup)
    except BaseException:
        while not setup.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait([setup])
        if not setup.cancelled() and setup.exception() is None:
            for transport in setup.result().values():
                transport.close()
        await _abandon(loop, launch)
        raise


async def _result(loop: asyncio.AbstractEventLoop, future: Any) -> int:
    """The launcher's future's result, awaited without ever cancelling it.

    (``asyncio.wrap_future`` would cancel it with the awaiting task; the launcher's reply then
    finds it cancelled, and the command it started would go unwatched.)
    """
    waiter: asyncio.Future[int] = loop.create_future()

    def relay(done: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(_settle, waiter, done)

    future.add_done_callback(relay)
    return await waiter


def _settle(waiter: asyncio.Future[int], done: Any) -> None:
    if waiter.done():
        return
    if done.exception() is not None:
        waiter.set_exception(done.exception())
    else:
        waiter.set_result(done.result())


async def _abandon(loop: asyncio.AbstractEventLoop, launch: Launch) -> None:
    """Cancelled (or failed) while it started: kill it once started, and see it gone.

    It must not run on unwatched; and, as asyncio's own subprocesses are, it is reaped before
    the caller goes on (a couple of seconds at most, whatever cancels us meanwhile).
    """
    launch.started.add_done_callback(_kill_when_started)
    with contextlib.suppress(BaseException):
        await asyncio.wait_for(asyncio.shield(_result(loop, launch.exited)), 2.0)


def _kill_when_started(future: Any) -> None:
    if future.exception() is None:
        with contextlib.suppress(OSError):
            os.killpg(future.result(), signal.SIGKILL)


class _Handover:
    """The descriptors one launch opens, and who owns which until the command has started.

    ``ours`` stay in this process (the read ends of the output pipes, the write end of a stdin
    pipe); ``theirs`` go to the launcher with the Landlock ruleset. Leaving the ``with`` block
    closes theirs and the ruleset whatever happened: the launcher holds its own copies
    (SCM_RIGHTS), and ours of the write ends must close or EOF never comes. Ours are closed
    too if the block fails, or if ``started`` does (the launch is then abandoned); once it has
    started they belong to the caller, who hands them to ``_connect_started``.
    """

    def __init__(self, ruleset: Ruleset) -> None:
        self.ruleset = ruleset
        self._ours: list[int] = []
        self._theirs: list[int] = []

    def pipe_to_us(self) -> tuple[int, int]:
        """A pipe the command writes and we read: (our read end, their write end)."""
        read, write = os.pipe()
        self._ours.append(read)
        self._theirs.append(write)
        return read, write

    def pipe_from_us(self) -> tuple[int, int]:
        """A pipe we write and the command reads: (their read end, our write end)."""
        read, write = os.pipe()
        self._ours.append(write)
        self._theirs.append(read)
        return read, write

    def devnull(self) -> int:
        """``/dev/null`` for the command to read."""
        fd = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        self._theirs.append(fd)
        return fd

    def __enter__(self) -> _Handover:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None:
            self._close_ours()
        for fd in self._theirs:
            os.close(fd)
        self.ruleset.close()

    async def started(self, loop: asyncio.AbstractEventLoop, launch: Launch) -> int:
        """The started command's pid; on failure or cancel, ours close and it is abandoned."""
        try:
            return await _result(loop, launch.started)
        except BaseException:
            self._close_ours()
            await _abandon(loop, launch)
            raise

    def _close_ours(self) -> None:
        for fd in self._ours:
            os.close(fd)


async def launch_stage(
    launcher: Launcher,
    protocol: asyncio.SubprocessProtocol,
    sandbox: PreparedSandbox,
    *,
    executable: str,
    argv: list[str],
    cwd: str,
    env: dict[str, str],
    stdin: int | None,
    stdin_pipe: bool,
    stdout: int | None,
) -> LaunchedStage:
    """Start one sandboxed stage through the launcher.

    Args:
        stdin: the descriptor the stage reads (an upstream pipe), or None for ``stdin_pipe``
            (a pipe we write to) or else ``/dev/null``.
        stdout: the descriptor it writes to (a pipe to the next stage), or None for a pipe
            read here.

    Raises:
        OSError: the launcher is gone or the command could not start.
    """
    loop = asyncio.get_running_loop()
    reads: dict[int, int] = {}
    stdin_write: int | None = None
    with _Handover(sandbox.ruleset()) as ends:
        if stdin is None and stdin_pipe:
            child_in, stdin_write = ends.pipe_from_us()
        elif stdin is None:
            child_in = ends.devnull()
        else:
            child_in = stdin
        if stdout is None:
            reads[1], child_out = ends.pipe_to_us()
        else:
            child_out = stdout
        reads[2], child_err = ends.pipe_to_us()
        launch = launcher.spawn(
            executable=executable,
            argv=argv,
            cwd=cwd,
            env=env,
            flags=sandbox.unshare_flags,
            abi=sandbox.abi,
            fds=(child_in, child_out, child_err, ends.ruleset.fd),
        )
    pid = await ends.started(loop, launch)
    stage = LaunchedStage(protocol, launch, pid, reads)
    pipes: list[tuple[int, int, ProtocolFactory]] = [
        (fd, ours, functools.partial(_Reader, stage, fd)) for fd, ours in reads.items()
    ]
    if stdin_write is not None:
        pipes.append((0, stdin_write, asyncio.BaseProtocol))
    stage.connected(loop, await _connect_started(loop, launch, pipes))
    return stage


class LaunchedProcess:
    """A launched program read like ``asyncio.subprocess.Process`` (what run_rg uses of it)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        launch: Launch,
        pid: int,
        stdout: asyncio.StreamReader,
        stderr: asyncio.StreamReader,
    ) -> None:
        self.pid = pid
        self.stdout, self.stderr = stdout, stderr
        self.returncode: int | None = None
        self._exited: asyncio.Future[int] = loop.create_future()

        def done(future: Any) -> None:
            status = future.result() if future.exception() is None else signal.SIGKILL
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(self._settle, status)

        launch.exited.add_done_callback(done)

    def _settle(self, status: int) -> None:
        self.returncode = os.waitstatus_to_exitcode(status)
        if not self._exited.done():
            self._exited.set_result(self.returncode)

    async def wait(self) -> int:
        return await asyncio.shield(self._exited)

    def kill(self) -> None:
        if self.returncode is not None:
            raise ProcessLookupError(self.pid)
        os.kill(self.pid, signal.SIGKILL)


async def launch_process(
    launcher: Launcher,
    ruleset: Ruleset,
    *,
    executable: str,
    argv: list[str],
    cwd: str,
    env: dict[str, str],
) -> LaunchedProcess:
    """Start a helper program (rg) through the launcher, confined by ``ruleset`` (Landlock only).

    The caller's ``ruleset`` is closed here. Its stdin is ``/dev/null``; stdout and stderr
    are read through the returned streams.

    Raises:
        OSError: the launcher is gone or the program could not start.
    """
    loop = asyncio.get_running_loop()
    with _Handover(ruleset) as ends:
        null = ends.devnull()
        out_r, out_w = ends.pipe_to_us()
        err_r, err_w = ends.pipe_to_us()
        launch = launcher.spawn(
            executable=executable,
            argv=argv,
            cwd=cwd,
            env=env,
            flags=0,
            abi=ruleset.abi,
            fds=(null, out_w, err_w, ruleset.fd),
        )
    pid = await ends.started(loop, launch)
    out, err = asyncio.StreamReader(loop=loop), asyncio.StreamReader(loop=loop)
    await _connect_started(
        loop,
        launch,
        [
            (1, out_r, functools.partial(asyncio.StreamReaderProtocol, out)),
            (2, err_r, functools.partial(asyncio.StreamReaderProtocol, err)),
        ],
    )
    return LaunchedProcess(loop, launch, pid, out, err)
