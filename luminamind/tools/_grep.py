"""Running ripgrep for ``grep_search``: argv, the ``--json`` event stream, caps and timeout.

rg runs without a shell, from an argv list; the pattern follows ``-e`` and the path follows
``--``, so neither can be read as a flag. Output is read in chunks and parsed one JSON event at a
time; once the match cap is reached rg is killed, so a search over a huge tree costs no more than
finding the first matches.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import errno
import json
import os
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from luminamind.security.launcher import get_launcher
from luminamind.security.sandbox import ReadConfinement
from luminamind.tools._shell_launch import LaunchedProcess, launch_process

__all__ = ["GrepEvents", "GrepQuery", "RgFailure", "build_argv", "run_rg"]

CaseMode = Literal["smart", "sensitive", "insensitive"]
_CASE_FLAGS: dict[str, str] = {
    "smart": "--smart-case",
    "sensitive": "--case-sensitive",
    "insensitive": "--ignore-case",
}
_CHUNK = 1 << 16
_BEGIN = b'{"type":"begin"'
_END = b'{"type":"end"'
_MATCH_OR_CONTEXT = (b'{"type":"match"', b'{"type":"context"')
_decode = json.JSONDecoder().decode
_STDERR_CAP = 8192


@dataclass(frozen=True, slots=True)
class GrepQuery:
    """One search, with every limit already decided."""

    pattern: str
    target: Path
    literal: bool
    case: CaseMode
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    context_lines: int
    max_results: int
    max_line_chars: int
    max_output_chars: int
    timeout: float


@dataclass(slots=True)
class Line:
    """A matched or context line as rg reported it (absolute path, text capped)."""

    path: str
    number: int
    text: str
    text_truncated: bool
    column: int = 0
    before: list[Line] = field(default_factory=list)
    after: list[Line] = field(default_factory=list)


@dataclass(slots=True)
class GrepEvents:
    """What a run of rg produced."""

    matches: list[Line] = field(default_factory=list)
    files: set[str] = field(default_factory=set)
    capped: bool = False  # stopped at max_results or the output cap
    timed_out: bool = False
    exit_code: int | None = None
    stderr: str = ""
    saw_events: bool = False


class RgFailure(Exception):
    """rg exited with an error before searching anything (bad regex, bad glob...)."""

    def __init__(self, stderr: str) -> None:
        super().__init__(stderr)
        self.stderr = stderr


def build_argv(rg: str, query: GrepQuery) -> list[str]:
    """The rg command line for ``query``: flags first, then ``-e PATTERN -- PATH``."""
    # --no-config: a user's RIPGREP_CONFIG_PATH must not change what the tool does.
    # --no-require-git: .gitignore applies even when the workspace is not a git checkout.
    argv = [rg, "--json", "--no-config", "--no-require-git", _CASE_FLAGS[query.case]]
    if query.literal:
        argv.append("--fixed-strings")
    if query.context_lines:
        argv += ["--context", str(query.context_lines)]
    for glob in query.include:
        argv += ["--glob", glob]
    for glob in query.exclude:
        argv += ["--glob", "!" + glob]
    argv += ["-e", query.pattern, "--", str(query.target)]
    return argv


def _text(value: dict[str, Any]) -> str:
    # Any: rg's JSON; non-UTF-8 names and lines arrive base64-encoded under "bytes".
    if "text" in value:
        return str(value["text"])
    return base64.b64decode(value.get("bytes", "")).decode("utf-8", "replace")


class _Collector:
    """Turns rg's events into matches with their context, within the caps."""

    def __init__(self, query: GrepQuery) -> None:
        self.query = query
        self.events = GrepEvents()
        self.chars = 0
        self.before: deque[Line] = deque(maxlen=query.context_lines or 1)
        self.last: Line | None = None
        self.done = False

    def _line(self, data: dict[str, Any], path: str) -> Line:
        # Any: one rg event's "data" object.
        raw = _text(data["lines"]).rstrip("\n").rstrip("\r")
        cap = self.query.max_line_chars
        line = Line(path, int(data.get("line_number") or 0), raw[:cap], len(raw) > cap)
        self.chars += len(line.text)
        return line

    def feed(self, kind: str, data: dict[str, Any]) -> None:
        """Take one event; sets ``done`` once nothing more is wanted."""
        # Any: the "data" object of one rg JSON event.
        if kind == "begin":
            self.before.clear()
            self.last = None
            return
        if kind not in ("match", "context"):
            if self.events.capped and kind == "end":
                self.done = True  # the last match's file is complete, after-context included
            return
        path = _text(data["path"])
        if kind == "context":
            n = self.query.context_lines
            line = self._line(data, path)
            last = self.last
            if last is not None and 0 < line.number - last.number <= n:
                last.after.append(line)
            if self.events.capped and (last is None or line.number - last.number >= n):
                self.done = True
            self.before.append(line)
            return
        if self.events.capped:
            self.done = True
            return
        line = self._line(data, path)
        submatches = data.get("submatches") or []
        if submatches:
            start = int(submatches[0].get("start", 0))
            raw = _text(data["lines"]).encode("utf-8", "surrogatepass")
            line.column = len(raw[:start].decode("utf-8", "ignore")) + 1
        n = self.query.context_lines
        line.before = [c for c in self.before if 0 < line.number - c.number <= n]
        self.before.clear()
        self.last = line
        self.events.matches.append(line)
        self.events.files.add(path)
        full = len(self.events.matches) >= self.query.max_results
        if full or self.chars >= self.query.max_output_chars:
            self.events.capped = True
            self.done = n == 0  # else wait for this match's after-context


async def run_rg(
    argv: list[str], query: GrepQuery, *, confinement: ReadConfinement | None = None
) -> GrepEvents:
    """Run rg, collect its events within the caps, kill it on the cap or the timeout.

    With ``confinement`` rg runs under Landlock, reading only the workspace (see
    ``read_confinement``): a directory swapped for a symlink mid-search cannot lead it outside.

    Raises:
        RgFailure: rg exited with status 2 before reporting anything.
    """
    proc = await _start(argv, confinement)
    assert proc.stdout is not None
    assert proc.stderr is not None
    collector = _Collector(query)
    events = collector.events
    stderr_task = asyncio.create_task(_read_capped(proc.stderr))
    try:
        async with asyncio.timeout(query.timeout):
            if await _consume(proc.stdout, collector):
                # rg closed its output: let it exit by itself so its status is its own.
                await proc.wait()
    except TimeoutError:
        events.timed_out = True
    finally:
        # Stopped at a cap, timed out or cancelled: rg has nothing more to tell us.
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        # Read what rg wrote before it died: asyncio's Process.wait() returns only once every
        # pipe is closed, and output left unread in a stopped pipe would keep it open for ever.
        await _discard(proc.stdout)
        await proc.wait()
        events.stderr = await stderr_task
    events.exit_code = proc.returncode
    if events.exit_code == 2 and not events.saw_events:
        raise RgFailure(events.stderr)
    return events


async def _start(
    argv: list[str], confinement: ReadConfinement | None
) -> asyncio.subprocess.Process | LaunchedProcess:
    """Start rg: plainly (vfork), or confined through the sandbox launcher.

    Confining takes code between fork and exec; a fork of this process costs more the bigger it
    is (tens of milliseconds for a server), so the launcher's small fork is used when it runs.
    """
    if confinement is None:
        return await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    ruleset = confinement.ruleset()
    try:
        launcher = get_launcher()
    except OSError:
        launcher = None
    if launcher is not None:
        try:
            # launch_process closes the ruleset.
            return await launch_process(
                launcher,
                ruleset,
                executable=argv[0],
                argv=argv,
                cwd=os.getcwd(),
                env=dict(os.environ),
            )
        except OSError as exc:
            if exc.errno != errno.EMSGSIZE:
                raise
            ruleset = confinement.ruleset()  # too big for the launcher: fork from here
    try:
        return await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            preexec_fn=confinement.preexec(ruleset),
            pass_fds=(ruleset.fd,),
        )
    finally:
        ruleset.close()


async def _consume(stream: asyncio.StreamReader, collector: _Collector) -> bool:
    """Feed rg's output to ``collector``; True if it ended, False if the collector stopped."""
    partial: list[bytes] = []  # the start of a line longer than one chunk
    while chunk := await stream.read(_CHUNK):
        lines = chunk.split(b"\n")
        if len(lines) == 1:
            partial.append(chunk)
            continue
        if partial:
            lines[0] = b"".join((*partial, lines[0]))
        partial = [lines.pop()]
        for raw in lines:
            if not raw:
                continue
            collector.events.saw_events = True
            # Only match and context events carry data we keep: the others are told apart by
            # their first bytes (rg writes "type" first) and never decoded.
            if raw.startswith(_BEGIN):
                collector.feed("begin", {})
            elif raw.startswith(_END):
                collector.feed("end", {})
            elif raw.startswith(_MATCH_OR_CONTEXT):
                event = _decode(raw.decode("utf-8", "replace"))
                collector.feed(event.get("type", ""), event.get("data") or {})
            if collector.done:
                return False
    return True


async def _discard(stream: asyncio.StreamReader) -> None:
    while await stream.read(_CHUNK):
        pass


async def _read_capped(stream: asyncio.StreamReader) -> str:
    kept = b""
    while chunk := await stream.read(_CHUNK):
        if len(kept) < _STDERR_CAP:
            kept += chunk[: _STDERR_CAP - len(kept)]
    return kept.decode("utf-8", "replace")
