"""The editor a thread runs in, when it holds the user's files: its buffers and its terminal.

An Agent Client Protocol client (Zed, a JetBrains IDE...) may offer ``fs/read_text_file``,
``fs/write_text_file`` and ``terminal/*``. Then the file tools read what the user sees (unsaved
edits included) and write through the editor (which records the change and keeps its undo
history), and ``shell`` runs in the editor's terminal so its output streams there. Without an
editor, or for what it does not offer, the tools use the disk and local processes as usual.

The surface that knows the editor (``servers/luminamind_acp``) attaches one `Editor` per thread
to an `EditorRegistry`; the registry travels in `ToolContext`, so the tools find the editor of
the thread they run for. Paths are confined by the tools before an editor ever sees them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

__all__ = ["Editor", "EditorCommandResult", "EditorRegistry"]


@dataclass(frozen=True, slots=True)
class EditorCommandResult:
    """What a command run in the editor's terminal printed and how it ended.

    Attributes:
        output: stdout and stderr as the terminal captured them (interleaved).
        truncated: the editor dropped the start of the output (its byte limit).
        exit_code: the exit code, None when a signal ended the command.
        signal: the signal's name, when one ended it.
        timed_out: the command was killed after the time limit.
        duration_s: wall time.
    """

    output: str
    truncated: bool
    exit_code: int | None
    signal: str | None
    timed_out: bool
    duration_s: float


class Editor(Protocol):
    """An editor's view of the workspace files and its terminal (any of the three may be off)."""

    @property
    def reads(self) -> bool:
        """The editor serves file reads (its buffers, unsaved edits included)."""
        ...

    @property
    def writes(self) -> bool:
        """The editor takes file writes (it records the change; nothing is written behind it)."""
        ...

    @property
    def runs_commands(self) -> bool:
        """Commands run in the editor's terminal."""
        ...

    async def read_text(self, path: Path) -> str:
        """The text of ``path`` as the editor has it.

        Raises:
            ToolExecutionError: the editor could not read it (missing file, refused...).
        """
        ...

    async def write_text(self, path: Path, text: str) -> None:
        """Replace the whole text of ``path`` (created if missing).

        Raises:
            ToolExecutionError: the editor refused or failed; nothing was written.
        """
        ...

    async def run_command(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: dict[str, str],
        time_limit: float,
        max_output_bytes: int,
    ) -> EditorCommandResult:
        """Run one checked program (no shell) in the editor's terminal and wait for it."""
        ...


class EditorRegistry:
    """Which editor each thread runs in (threads without one use the disk)."""

    def __init__(self) -> None:
        self._editors: dict[str, Editor] = {}

    def attach(self, thread_id: str, editor: Editor) -> None:
        """``thread_id``'s tools go through ``editor`` from now on."""
        self._editors[thread_id] = editor

    def detach(self, thread_id: str) -> None:
        """``thread_id``'s tools use the disk again."""
        self._editors.pop(thread_id, None)

    def get(self, thread_id: str | None) -> Editor | None:
        """The editor of ``thread_id``, if one is attached."""
        return self._editors.get(thread_id) if thread_id is not None else None
