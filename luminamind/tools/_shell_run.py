"""Running a checked pipeline: process groups, pipes, output caps, timeouts, a clean environment.

Each stage starts in its own session (``start_new_session``), so it has no controlling terminal
to prompt on and its children share its process group. When the call ends (finished, timed out
or cancelled) every group is signalled, so no process started by a call outlives it unless it
left its group on purpose (``setsid``); docs/shell-policy.md says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import structlog

from luminamind.errors import ToolExecutionError
from luminamind.security.launcher import Launcher, get_launcher
from luminamind.security.redaction import is_secret_name, redact_text
from luminamind.security.sandbox import PreparedSandbox
from luminamind.tools._shell_launch import launch_stage

__all__ = ["CappedBuffer", "PipelineRun", "command_environment", "find_program", "run_pipeline"]

log = structlog.get_logger(__name__)
KILL_GRACE_SECONDS = 1.0  # between SIGTERM and SIGKILL
_DRAIN_SECONDS = 0.5  # how long pipes may stay open after every stage exited
_CHUNK = 65_536
# Names the shared rule (is_secret_name) misses: OPENAI_KEY, DB_PASS, SENTRY_DSN, *_PRIVATE.
_SECRET_NAME_EXTRA = re.compile(r"KEY(?![A-Z])|PASS(?![A-Z])|PRIVATE|(^|_)DSN(_|$)")
# Set for every command: no pagers or editors waiting for a terminal that is not there.
_FIXED_ENV = {
    "PAGER": "cat",
    "GIT_PAGER": "cat",
    "GIT_EDITOR": "true",
    "GIT_SEQUENCE_EDITOR": "true",
    "GIT_TERMINAL_PROMPT": "0",
    # A repository's .git/config can name a program git runs on 'git status' (core.fsmonitor);
    # command-line scope (these variables) wins over the repository's file.
    "GIT_CONFIG_COUNT": "1",
    "GIT_CONFIG_KEY_0": "core.fsmonitor",
    "GIT_CONFIG_VALUE_0": "false",
}


def _looks_secret(name: str, value: str) -> bool:
    upper = name.upper()
    if is_secret_name(name) or _SECRET_NAME_EXTRA.search(upper):
        return True
    # A credential-shaped value (sk-..., ghp_..., https://user:pass@host) under a plain name.
    return redact_text(value) != value


def command_environment(
    environ: Mapping[str, str], *, passthrough: Sequence[str] = (), cwd: Path
) -> dict[str, str]:
    """The environment a command runs with: ours minus secrets, PATH made absolute-only.

    Args:
        environ: the environment to start from (``os.environ``).
        passthrough: names kept even though they look secret (``shell.env_passthrough``).
        cwd: the command's working directory (``PWD``).
    """
    keep = set(passthrough)
    env = {k: v for k, v in environ.items() if k in keep or not _looks_secret(k, v)}
    # A relative PATH entry ('', '.', 'bin') would find programs in the workspace, which the
    # model can write to; only absolute directories are searched.
    path = [p for p in env.get("PATH", os.defpath).split(os.pathsep) if os.path.isabs(p)]
    env["PATH"] = os.pathsep.join(path)
    env["PWD"] = str(cwd)
    env.update(_FIXED_ENV)
    return env


def find_program(program: str, *, env: Mapping[str, str], cwd: Path) -> str:
    """The executable for ``program``: a name searched on PATH, or a path from ``cwd``.

    Raises:
        ToolExecutionError: not found, or not executable.
    """
    if "/" in program:
        candidate = Path(program) if program.startswith("/") else cwd / program
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
        raise ToolExecutionError(f"program '{program}' does not exist or is not executable")
    found = shutil.which(program, path=env.get("PATH", ""))
    if found is None:
        raise ToolExecutionError(
            f"program '{program}' was not found on PATH; it is allowed but not installed. "
            "Use os_info to see which programs are available"
        )
    return found


@dataclass(slots=True)
class CappedBuffer:
    """Keeps the first and last ``limit / 2`` bytes of a stream and counts the rest."""

    limit: int
    head: bytearray = field(default_factory=bytearray)
    tail: bytearray = field(default_factory=bytearray)
    total: int = 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.limit // 2 + self.limit % 2 - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            keep = self.limit // 2
            if len(self.tail) > keep:
                del self.tail[: len(self.tail) - keep]

    @property
    def truncated(self) -> bool:
        return self.total > self.limit

    def text(self) -> str:
        """The kept bytes as text, with a marker where bytes were left out."""
        head = bytes(self.head).decode("utf-8", "replace")
        tail = bytes(self.tail).decode("utf-8", "replace")
        if not self.truncated:
            return head + tail
        omitted = self.total - len(self.head) - len(self.tail)
        return f"{head}\n[... {omitted} bytes omitted ...]\n{tail}"


@dataclass(slots=True)
class PipelineRun:
    """What happened: exit statuses (negative = killed by that signal), output, timing."""

    returncodes: list[int | None]
    stdout: CappedBuffer
    stderr: CappedBuffer
    timed_out: bool
    duration_s: float


def _feed(transport: _Stage, data: bytes | None) -> None:
    """Hand ``data`` to the first stage's stdin and close it (the transport buffers it)."""
    pipe = transport.get_pipe_transport(0)
    if pipe is None or pipe.is_closing():
        # The first stage exited (or closed its stdin) before we fed it: the loop closed the
        # pipe. asyncio would drop the write quietly; uvloop raises RuntimeError.
        return
    if data:
        # A program that stops reading early (head -1) breaks the pipe: the transport
        # swallows that OSError quietly, which is what a shell does too.
        pipe.write(data)  # type: ignore[attr-defined]  # stdin's pipe is a WriteTransport
    pipe.close()


class _StageProtocol(asyncio.SubprocessProtocol):
    """Feeds one stage's output into the shared buffers and reports when it is over.

    ``exited`` fires when the process exits; ``finished`` when, in addition, its pipes are
    closed. They differ when a child left in the background keeps a pipe open (and
    ``Process.wait()`` of asyncio would wait for the pipes, which is why it is not used).
    """

    def __init__(self, stdout: CappedBuffer | None, stderr: CappedBuffer) -> None:
        self.stdout, self.stderr = stdout, stderr
        self.exited = asyncio.Event()
        self.finished = asyncio.Event()

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        sink = self.stdout if fd == 1 else self.stderr
        if sink is not None and isinstance(data, bytes):
            sink.feed(data)

    def process_exited(self) -> None:
        self.exited.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self.exited.set()
        self.finished.set()


async def _all_set(events: Sequence[asyncio.Event], seconds: float) -> bool:
    """Wait until every event is set, at most ``seconds``; True if they all were."""
    try:
        async with asyncio.timeout(seconds):
            for event in events:
                await event.wait()
    except TimeoutError:
        return False
    return True


def _signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to a process group; False when the group is gone."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # the pgid was reused by someone else's process: not ours to kill
    return True


async def _stop_groups(pgids: Sequence[int]) -> None:
    """SIGTERM every group still alive, then SIGKILL whatever is left after a grace period."""
    alive = [pg for pg in pgids if _signal_group(pg, signal.SIGTERM)]
    deadline = time.monotonic() + KILL_GRACE_SECONDS
    while alive and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
        alive = [pg for pg in alive if _signal_group(pg, 0)]
    for pg in alive:
        _signal_group(pg, signal.SIGKILL)


class _Stage(Protocol):
    """What run_pipeline uses of a stage: asyncio's subprocess transport, or a launched one."""

    def get_pid(self) -> int: ...
    def get_returncode(self) -> int | None: ...
    def get_pipe_transport(self, fd: int) -> asyncio.BaseTransport | None: ...
    def close(self) -> None: ...


# The sandbox launcher (luminamind.security.launcher) starts sandboxed stages; off, or when it
# cannot start, they fork from this process (bench/sandbox.py compares the two).
USE_LAUNCHER = True


def _launcher() -> Launcher | None:
    if not USE_LAUNCHER:
        return None
    try:
        return get_launcher()
    except OSError as exc:
        log.warning("sandbox_launcher_unavailable", error=str(exc))
        return None


def _after_start(
    upstream: int | None, write_end: int | None, open_fds: list[int], read_end: int
) -> int | None:
    """Close this process's copies of the started stage's pipe ends; the next stage's stdin.

    They must close, or readers never see EOF.
    """
    for fd in (upstream, write_end):
        if fd is not None:
            os.close(fd)
            open_fds.remove(fd)
    return None if write_end is None else read_end


async def run_pipeline(
    executables: Sequence[str],
    stages: Sequence[Sequence[str]],
    *,
    cwd: Path,
    env: Mapping[str, str],
    stdin: bytes | None,
    time_limit: float,
    max_output_bytes: int,
    sandbox: PreparedSandbox | None = None,
) -> PipelineRun:
    """Start every stage connected by pipes, collect output, stop it after ``time_limit`` s.

    With ``sandbox``, every stage enters it before exec (luminamind.security.sandbox).
    Cancelling the calling task kills every process group at once and re-raises.
    """
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    stdout, stderr = CappedBuffer(max_output_bytes), CappedBuffer(max_output_bytes)
    running: list[tuple[_Stage, _StageProtocol]] = []
    open_fds: list[int] = []
    timed_out = stopped = False
    try:
        upstream: int | None = None
        first_stdin = subprocess.PIPE if stdin is not None else subprocess.DEVNULL
        for k, (exe, argv) in enumerate(zip(executables, stages, strict=True)):
            last = k == len(stages) - 1
            read_end, write_end = (-1, subprocess.PIPE) if last else os.pipe()
            if not last:
                open_fds += [read_end, write_end]
            protocol = _StageProtocol(stdout if last else None, stderr)
            launcher = _launcher() if sandbox is not None else None
            if sandbox is not None and launcher is not None:
                try:
                    stage: _Stage = await launch_stage(
                        launcher,
                        protocol,
                        sandbox,
                        executable=exe,
                        argv=list(argv),
                        cwd=str(cwd),
                        env=dict(env),
                        stdin=upstream,
                        stdin_pipe=stdin is not None,
                        stdout=None if last else write_end,
                    )
                except OSError as exc:
                    if exc.errno != errno.EMSGSIZE:
                        raise ToolExecutionError(
                            f"cannot start '{argv[0]}': {exc.strerror or exc}"
                        ) from exc
                    # Arguments and environment too big for one message to the launcher:
                    # this stage forks from here instead (the same sandbox, only slower).
                else:
                    running.append((stage, protocol))
                    upstream = _after_start(
                        upstream, None if last else write_end, open_fds, read_end
                    )
                    continue
            ruleset = sandbox.ruleset() if sandbox is not None else None
            preexec = None if sandbox is None or ruleset is None else sandbox.preexec(ruleset)
            try:
                transport, _ = await loop.subprocess_exec(
                    lambda protocol=protocol: protocol,  # type: ignore[misc]
                    *argv,
                    executable=exe,  # argv[0] stays as written, as a shell would leave it
                    stdin=first_stdin if upstream is None else upstream,
                    stdout=write_end,
                    stderr=subprocess.PIPE,
                    cwd=cwd,
                    env=dict(env),
                    start_new_session=True,
                    # The sandbox needs a fork (not vfork) to run code before exec; see
                    # docs/decisions.md for what that costs.
                    preexec_fn=preexec,
                    pass_fds=() if ruleset is None else (ruleset.fd,),
                )
            except OSError as exc:
                raise ToolExecutionError(f"cannot start '{argv[0]}': {exc.strerror}") from exc
            finally:
                if ruleset is not None:
                    ruleset.close()
            running.append((transport, protocol))
            upstream = _after_start(upstream, None if last else write_end, open_fds, read_end)
        _feed(running[0][0], stdin)
        protocols = [protocol for _, protocol in running]
        timed_out = not await _all_set([p.exited for p in protocols], time_limit)
        if not timed_out:
            # Every stage exited; a child left in the background may still hold a pipe open.
            remaining = max(0.0, time_limit - (time.monotonic() - started))
            await _all_set([p.finished for p in protocols], min(remaining, _DRAIN_SECONDS))
        await _stop_groups([stage.get_pid() for stage, _ in running])
        stopped = True
        await _all_set([p.finished for p in protocols], _DRAIN_SECONDS)
    finally:
        if not stopped:  # cancelled or failed half-way: nothing started here may live on
            for stage, _ in running:
                _signal_group(stage.get_pid(), signal.SIGKILL)
            # Let the child watcher reap them while the loop still runs (a loop closed before
            # that warns about, and leaks, the processes). Shielded: we may be cancelled.
            with contextlib.suppress(asyncio.CancelledError):
                exited = [protocol.exited for _, protocol in running]
                await asyncio.shield(_all_set(exited, KILL_GRACE_SECONDS))
        for stage, _ in running:
            stage.close()
        for fd in open_fds:
            os.close(fd)
    return PipelineRun(
        returncodes=[stage.get_returncode() for stage, _ in running],
        stdout=stdout,
        stderr=stderr,
        timed_out=timed_out,
        duration_s=time.monotonic() - started,
    )
