"""An editor whose file writes are recorded for rewind, though the editor makes them.

An ACP client that takes ``fs/write_text_file`` puts the agent's text in its buffer; the file on
disk changes when the user saves. The tool's own recording (`TurnRecorder.recording`, which
looks at the disk) sees nothing, so `RecordingEditor` records the text the buffer held before
and the text written, through `TurnRecorder.record_texts`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from luminamind.errors import ToolExecutionError
from luminamind.rewind.models import EditorEdit
from luminamind.rewind.recorder import recording_tool
from luminamind.tools.editor import Editor, EditorCommandResult

__all__ = ["RecordEdits", "RecordingEditor"]

RecordEdits = Callable[[str, Sequence[EditorEdit]], Awaitable[None]]
"""Records ``(tool, edits)`` into the thread's current turn (`AgentService.record_editor_edits`)."""

# What a write is recorded as when no tool call is being recorded around it.
_EDITOR = "editor"


class RecordingEditor:
    """``inner`` with every successful ``write_text`` recorded (reads and commands unchanged)."""

    def __init__(self, inner: Editor, *, root: Path, record: RecordEdits) -> None:
        self._inner = inner
        self._root = root
        self._record = record

    @property
    def reads(self) -> bool:
        return self._inner.reads

    @property
    def writes(self) -> bool:
        return self._inner.writes

    @property
    def runs_commands(self) -> bool:
        return self._inner.runs_commands

    async def read_text(self, path: Path) -> str:
        return await self._inner.read_text(path)

    async def write_text(self, path: Path, text: str) -> None:
        before = await self._before(path)
        await self._inner.write_text(path, text)
        if path.is_relative_to(self._root):  # the tools confine paths; this never skips one
            rel = path.relative_to(self._root).as_posix()
            tool = recording_tool() or _EDITOR  # write_file, copy_file...
            await self._record(tool, [EditorEdit(path=rel, before=before, after=text)])

    async def _before(self, path: Path) -> str | None:
        """The text the write replaces: the editor's buffer, else the disk (None: no file)."""
        if self._inner.reads:
            try:
                return await self._inner.read_text(path)
            except ToolExecutionError:
                pass  # not open and not readable there: the disk says whether it exists
        # Never None for a file that exists: a rewind would delete it as "created".
        return await asyncio.to_thread(_disk_text, path)

    async def run_command(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: dict[str, str],
        time_limit: float,
        max_output_bytes: int,
    ) -> EditorCommandResult:
        return await self._inner.run_command(
            argv, cwd=cwd, env=env, time_limit=time_limit, max_output_bytes=max_output_bytes
        )


def _disk_text(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8", "surrogateescape")
    except (FileNotFoundError, NotADirectoryError):
        return None
