"""Running a checked pipeline: process groups, pipes, output caps, timeouts, a clean environment.

Each stage starts in its own session (``start_new_session``), so it has no controlling terminal
to prompt on and its children share its process group. When the call ends (finished, timed out
or cancelled) every group is signalled, so no process started by a call outlives it unless it
left its group on purpose (``setsid``); docs/shell-policy.md says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from luminamind.errors import ToolExecutionError
from luminamind.security.redaction import is_secret_name, redact_text

__all__ = ["CappedBuffer", "PipelineRun", "command_environment", "find_program", "run_pipeline"]

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


async def _pump(stream: asyncio.StreamReader | None, sink: CappedBuffer) -> None:
    if stream is None:
        return
    while chunk := await stream.read(_CHUNK):
        sink.feed(chunk)


async def _feed(stream: asyncio.StreamWriter | None, data: bytes | None) -> None:
    if stream is None:
        return
    try:
        if data:
            stream.write(data)
            await stream.drain()
    except (BrokenPipeError, ConnectionResetError):
        pass  # the program stopped reading early (head -1): not an error
    finally:
        stream.close()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            await stream.wait_closed()


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


async def run_pipeline(
    executables: Sequence[str],
    stages: Sequence[Sequence[str]],
    *,
    cwd: Path,
    env: Mapping[str, str],
    stdin: bytes | None,
    time_limit: float,
    max_output_bytes: int,
) -> PipelineRun:
    """Start every stage connected by pipes, collect output, stop it after ``time_limit`` s.

    Cancelling the calling task kills every process group at once and re-raises.
    """
    started = time.monotonic()
    stdout, stderr = CappedBuffer(max_output_bytes), CappedBuffer(max_output_bytes)
    procs: list[asyncio.subprocess.Process] = []
    open_fds: list[int] = []
    tasks: list[asyncio.Task[None]] = []
    timed_out = stopped = False
    try:
        upstream: int | None = None
        first_stdin = asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL
        for k, (exe, argv) in enumerate(zip(executables, stages, strict=True)):
            last = k == len(stages) - 1
            read_end, write_end = (-1, asyncio.subprocess.PIPE) if last else os.pipe()
            if not last:
                open_fds += [read_end, write_end]
            try:
                proc = await asyncio.create_subprocess_exec(
                    *argv,
                    executable=exe,  # argv[0] stays as written, as a shell would leave it
                    stdin=first_stdin if upstream is None else upstream,
                    stdout=write_end,
                    stderr=asyncio.subprocess.PIPE,
                    cwd=cwd,
                    env=dict(env),
                    start_new_session=True,
                )
            except OSError as exc:
                raise ToolExecutionError(f"cannot start '{argv[0]}': {exc.strerror}") from exc
            procs.append(proc)
            # The parent's copies of the pipe ends must close, or readers never see EOF.
            for fd in (upstream, None if last else write_end):
                if fd is not None:
                    os.close(fd)
                    open_fds.remove(fd)
            upstream = None if last else read_end
        tasks.append(asyncio.ensure_future(_feed(procs[0].stdin, stdin)))
        tasks.append(asyncio.ensure_future(_pump(procs[-1].stdout, stdout)))
        tasks += [asyncio.ensure_future(_pump(p.stderr, stderr)) for p in procs]
        try:
            await asyncio.wait_for(asyncio.gather(*(p.wait() for p in procs)), time_limit)
        except TimeoutError:
            timed_out = True
        else:
            # Every stage exited; a child left running in the background may hold a pipe open.
            remaining = max(0.0, time_limit - (time.monotonic() - started))
            await asyncio.wait(tasks, timeout=min(remaining, _DRAIN_SECONDS))
        await _stop_groups([p.pid for p in procs])
        stopped = True
        for proc in procs:
            await proc.wait()
        await asyncio.wait(tasks, timeout=_DRAIN_SECONDS)
    finally:
        if not stopped:  # cancelled or failed half-way: nothing this call started may live on
            for proc in procs:
                _signal_group(proc.pid, signal.SIGKILL)
        for task in tasks:
            task.cancel()
        for fd in open_fds:
            os.close(fd)
    return PipelineRun(
        returncodes=[p.returncode for p in procs],
        stdout=stdout,
        stderr=stderr,
        timed_out=timed_out,
        duration_s=time.monotonic() - started,
    )
