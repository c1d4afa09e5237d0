"""Writing what the user kept: every file of the action at once, or none of them.

The texts come from `compose` over the proposal the user saw. Before anything is written each
file is read again: if it is not what the proposal was computed from, nothing is written and
`ProposalChangedError` asks for a new review (never a blind overwrite). The write itself is
``write_plan``'s (stage every file, re-check the hashes, then rename), the same path the editing
tools use, so a partial selection is exactly as atomic as a whole one. When the thread runs in an
editor that takes writes (ACP), the kept text goes through the editor instead, as the tools' own
writes do (it records the change in its buffers and undo history); deletions stay on disk.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from luminamind.errors import ProposalChangedError, ReviewError, ToolExecutionError
from luminamind.review.decisions import compose
from luminamind.review.hunks import Hunk
from luminamind.tools._edit import PlannedChange, write_plan
from luminamind.tools.context import ToolContext
from luminamind.tools.files.fileinfo import preview_text
from luminamind.tools.files.textfile import sha256_hex
from luminamind.tools.preview import FileChange

__all__ = ["WrittenFile", "final_texts", "write_selection"]


@dataclass(frozen=True, slots=True)
class WrittenFile:
    """One file as the review left it (``sha256`` None: deleted or not created)."""

    path: str
    sha256: str | None
    changed: bool


def final_texts(
    changes: Sequence[FileChange], hunks: Sequence[Hunk], chosen: Mapping[int, str | None]
) -> dict[str, str | None]:
    """Each file's text after the chosen hunks (None: absent).

    Raises:
        ReviewError: an opaque change (binary, directory) would be applied in part.
    """
    finals: dict[str, str | None] = {}
    for change in changes:
        own = [h for h in hunks if h.path == change.path]
        if any(h.kind == "opaque" for h in own):
            opaque = own[0]
            if chosen[opaque.index] is None:  # accepted: it cannot be written in part
                raise ReviewError(
                    f"the change to {change.path} has no text to apply in part (binary or a "
                    "directory); accept or reject the whole tool call"
                )
            finals[change.path] = change.old_text
            continue
        finals[change.path] = compose(change.old_text, own, chosen)
    return finals


def _read(path: Path) -> tuple[str | None, str | None]:
    try:
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None, None
    return preview_text(path), sha256_hex(data)


def _plan(
    ctx: ToolContext, changes: Sequence[FileChange], finals: Mapping[str, str | None]
) -> list[PlannedChange]:
    planned: list[PlannedChange] = []
    for change in changes:
        target = ctx.workspace.resolve(change.path, write=True)
        current, sha = _read(target)
        if current != change.old_text:
            state = "was deleted" if current is None else "changed on disk"
            raise ProposalChangedError(
                f"{change.path} {state} since the change was proposed; nothing was written. "
                "Review the new diff"
            )
        final = finals[change.path]
        if final != change.old_text:
            planned.append(PlannedChange(target, change.path, change.old_text, final, sha))
    return planned


def _write(
    ctx: ToolContext,
    changes: Sequence[FileChange],
    finals: Mapping[str, str | None],
    tool: str,
) -> list[WrittenFile]:
    planned = _plan(ctx, changes, finals)
    try:
        write_plan(planned, tool=tool)
    except ToolExecutionError as exc:
        if "while the change was being prepared" in exc.message:
            # Someone wrote the file between our read and the rename: review again.
            raise ProposalChangedError(f"{exc.message}; review the new diff") from exc
        raise
    written = {p.shown for p in planned}
    return [
        WrittenFile(
            path=c.path,
            sha256=_sha(finals[c.path]),
            changed=c.path in written,
        )
        for c in changes
    ]


def _sha(text: str | None) -> str | None:
    return None if text is None else sha256_hex(text.encode("utf-8"))


async def _write_in_editor(
    ctx: ToolContext,
    changes: Sequence[FileChange],
    finals: Mapping[str, str | None],
    tool: str,
) -> list[WrittenFile]:
    editor = ctx.editor
    assert editor is not None
    planned = await asyncio.to_thread(_plan, ctx, changes, finals)  # checked before any write
    gone = [p for p in planned if p.new_text is None]
    if gone:
        await asyncio.to_thread(write_plan, gone, tool=tool)
    for change in planned:
        if change.new_text is not None:
            await editor.write_text(change.path, change.new_text)
    written = {p.shown for p in planned}
    return [
        WrittenFile(path=c.path, sha256=_sha(finals[c.path]), changed=c.path in written)
        for c in changes
    ]


async def write_selection(
    ctx: ToolContext,
    changes: Sequence[FileChange],
    finals: Mapping[str, str | None],
    *,
    tool: str,
) -> list[WrittenFile]:
    """Write ``finals`` (from `final_texts`) over the files the proposal was computed from.

    Raises:
        ProposalChangedError: a file is not what the proposal saw; nothing was written.
        ToolExecutionError: the write failed (the message says what was written, if anything).
        SecurityError: a path is outside the workspace or read-only.
    """
    if ctx.editor is not None and ctx.editor.writes:
        return await _write_in_editor(ctx, changes, finals, tool)
    return await asyncio.to_thread(_write, ctx, changes, finals, tool)
