"""Planning and writing the editing tools' changes: everything checked, then everything written.

A plan holds the old and new text of every file a call changes. It is computed without writing
(the preview shown for approval is the same plan) and written by `write_plan`, which stages every
file before replacing any, and re-checks that no file changed since it was read.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from luminamind.errors import ToolArgumentsError, ToolExecutionError
from luminamind.tools._patch import (
    PatchApplyError,
    PatchParseError,
    apply_hunks,
    parse_patch,
    split_lines,
)
from luminamind.tools.context import ToolContext
from luminamind.tools.files.atomic import StagedWrite, default_file_mode, stage_write
from luminamind.tools.files.textfile import (
    TextFile,
    detect_newline,
    ensure_unchanged,
    read_text_file,
    sha256_hex,
)
from luminamind.tools.preview import FileChange, unified_diff

__all__ = [
    "FileReader",
    "PatchPlan",
    "PatchedFile",
    "PlannedChange",
    "ReplacePlan",
    "Replacement",
    "plan_patch",
    "plan_replacements",
    "write_plan",
]

_LONE_LF = re.compile(r"(?<!\r)\n")
_SHOWN_POSITIONS = 10


def _refuse_surrogates(value: str) -> str:
    # JSON may carry lone surrogates ("\ud800"); they cannot be written as UTF-8.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"contains a lone surrogate at index {exc.start}") from None
    return value


class Replacement(BaseModel):
    """One exact-text replacement."""

    model_config = ConfigDict(extra="forbid")

    old: str = Field(min_length=1, description="Exact text to find (indentation included)")
    new: str = Field(description="Text to put in its place")
    expected_count: int = Field(default=1, ge=1, description="How many times `old` must occur")

    @field_validator("old", "new")
    @classmethod
    def _encodable(cls, value: str) -> str:
        return _refuse_surrogates(value)


class PatchedFile(BaseModel):
    """One file apply_patch changed."""

    model_config = ConfigDict(extra="forbid")

    path: str
    action: Literal["created", "modified", "deleted"]
    hunks: int
    added: int = Field(description="Lines added")
    removed: int = Field(description="Lines removed")
    offsets: list[int] = Field(description="Per hunk, lines away from where its header said")


@dataclass(slots=True)
class PlannedChange:
    """A file's content before and after (None: absent), with the hash of what was read."""

    path: Path
    shown: str
    old_text: str | None
    new_text: str | None
    old_sha256: str | None
    mode: int | None = None  # for created files; modified files keep theirs

    @property
    def new_sha256(self) -> str | None:
        return None if self.new_text is None else sha256_hex(self.new_text.encode("utf-8"))

    def preview(self) -> FileChange:
        """The change as an approval request shows it."""
        return FileChange(
            path=self.shown,
            diff=unified_diff(self.shown, self.old_text, self.new_text),
            old_text=self.old_text,
            new_text=self.new_text,
        )


@dataclass(slots=True)
class ReplacePlan:
    change: PlannedChange
    occurrences: int


@dataclass(slots=True)
class PatchPlan:
    changes: list[PlannedChange] = field(default_factory=list)
    files: list[PatchedFile] = field(default_factory=list)


def _line_numbers(text: str, needle: str) -> list[int]:
    lines: list[int] = []
    start = text.find(needle)
    while start != -1 and len(lines) < _SHOWN_POSITIONS:
        lines.append(text.count("\n", 0, start) + 1)
        start = text.find(needle, start + len(needle))
    return lines


def _count_error(
    shown: str, text: str, old: str, count: int, expected: int, index: int, total: int
) -> ToolExecutionError:
    head = (
        f"multi_replace_in_file: replacement {index} of {total} matched {count} time(s) in "
        f"'{shown}', expected {expected}; nothing was written. "
    )
    if index > 1:
        head += f"(Counted on the text after replacements 1..{index - 1}.) "
    if count:
        where = ", ".join(map(str, _line_numbers(text, old)))
        hint = (
            f"It occurs at line(s) {where}. Include more surrounding lines to pick one, "
            f"or set expected_count to {count}."
        )
    else:
        first = next((line.strip() for line in old.splitlines() if line.strip()), "")
        spots = [
            n for n, line in enumerate(split_lines(text), 1) if first and first in line.strip()
        ][:_SHOWN_POSITIONS]
        hint = (
            f"Its first line {first[:60]!r} appears at line(s) {', '.join(map(str, spots))}: "
            "check indentation and the lines after it against the file."
            if spots
            else "Its first line is not in the file either; read the file again."
        )
    return ToolExecutionError(head + hint)


def plan_replacements(
    ctx: ToolContext,
    path: str,
    replacements: list[Replacement],
    *,
    expected_sha256: str | None,
    current: TextFile | None = None,
) -> ReplacePlan:
    """Apply ``replacements`` to the file's text in memory, or raise naming the one that failed.

    ``current`` is the file as the editor holds it (ACP); by default it is read from disk.
    """
    tool = "multi_replace_in_file"
    target = ctx.workspace.resolve(path, write=True)
    shown = ctx.workspace.relative(target)
    limits = ctx.settings.limits
    if current is None:
        current = read_text_file(target, shown=shown, max_bytes=limits.max_file_bytes, tool=tool)
    if expected_sha256 is not None and current.sha256 != expected_sha256.lower():
        raise ToolExecutionError(
            f"{tool}: '{shown}' changed since it was read (its SHA-256 is {current.sha256}, not "
            f"{expected_sha256.lower()}); nothing was written. Read it again and redo the edit"
        )
    text = current.text
    # An LF-only edit of a CRLF file would never match; translate it to the file's endings.
    crlf = "\r\n" in text and text.count("\n") == text.count("\r\n")
    occurrences = 0
    for index, rep in enumerate(replacements, 1):
        old, new = rep.old, rep.new
        if crlf:
            old, new = _LONE_LF.sub("\r\n", old), _LONE_LF.sub("\r\n", new)
        count = text.count(old)
        if count != rep.expected_count:
            raise _count_error(
                shown, text, old, count, rep.expected_count, index, len(replacements)
            )
        text = text.replace(old, new)
        occurrences += count
    _check_size(tool, shown, text, limits.max_write_bytes)
    change = PlannedChange(target, shown, current.text, text, current.sha256)
    return ReplacePlan(change=change, occurrences=occurrences)


def _check_size(tool: str, shown: str, text: str, limit: int) -> None:
    size = len(text.encode("utf-8"))
    if size > limit:
        raise ToolExecutionError(
            f"{tool}: '{shown}' would be {size} bytes, above limits.max_write_bytes ({limit}); "
            "nothing was written"
        )


@dataclass(slots=True)
class _FileState:
    path: Path
    shown: str
    original: TextFile | None
    text: str | None
    mode: int | None = None
    info: PatchedFile | None = None


FileReader = Callable[[Path, str], TextFile]
"""Reads a file the way the editor has it (ACP): ``(resolved path, shown name) -> TextFile``."""


def plan_patch(
    ctx: ToolContext, patch: str, strip: int, *, read: FileReader | None = None
) -> PatchPlan:
    """Parse ``patch`` and apply every hunk in memory; raise on the first that does not fit.

    ``read`` reads the files as the editor holds them (ACP); by default they are read from disk.
    """
    tool = "apply_patch"
    limits = ctx.settings.limits
    if len(patch) > limits.max_write_bytes:
        raise ToolArgumentsError(
            f"{tool}: the patch is {len(patch)} characters, above limits.max_write_bytes",
            fields=["patch"],
        )
    try:
        _refuse_surrogates(patch)
        file_patches = parse_patch(patch, strip=strip)
    except (PatchParseError, ValueError) as exc:
        raise ToolArgumentsError(f"{tool}: {exc}", fields=["patch"]) from None
    states: dict[Path, _FileState] = {}
    for fp in file_patches:
        target = _target(ctx, fp.old_path, fp.new_path)
        state = states.get(target)
        if state is None:
            shown = ctx.workspace.relative(target)
            original = None
            if target.exists() or target.is_symlink():
                original = (
                    read(target, shown)
                    if read is not None
                    else read_text_file(
                        target, shown=shown, max_bytes=limits.max_file_bytes, tool=tool
                    )
                )
            state = _FileState(target, shown, original, original.text if original else None)
            states[target] = state
        if fp.old_path is None and state.text is not None:
            raise ToolExecutionError(
                f"{tool}: cannot create '{state.shown}': it already exists; nothing was written. "
                f"Patch it instead (--- a/{state.shown})"
            )
        if fp.old_path is not None and state.text is None:
            raise ToolExecutionError(
                f"{tool}: '{state.shown}' does not exist; nothing was written. "
                "To create it, use --- /dev/null"
            )
        if fp.old_path is None:
            _check_creatable(ctx, target, state.shown)
        before = state.text or ""
        newline = detect_newline(before) if before else fp.newline
        try:
            after, offsets = apply_hunks(state.shown, before, fp.hunks, newline=newline)
        except PatchApplyError as exc:
            raise ToolExecutionError(f"{tool}: {exc}; nothing was written") from None
        if fp.new_path is None:
            if after:
                left = len(split_lines(after))
                raise ToolExecutionError(
                    f"{tool}: cannot delete '{state.shown}': {left} line(s) would remain that the "
                    "patch does not remove; nothing was written. Read the file again"
                )
            if (ctx.workspace.root / fp.path).is_symlink():
                raise ToolExecutionError(
                    f"{tool}: '{fp.path}' is a symlink; remove it with delete_file"
                )
        else:
            _check_size(tool, state.shown, after, limits.max_write_bytes)
        state.text = None if fp.new_path is None else after
        if fp.new_mode is not None:
            state.mode = fp.new_mode
        added = sum(op == "+" for h in fp.hunks for op, _ in h.lines)
        removed = sum(op == "-" for h in fp.hunks for op, _ in h.lines)
        info = state.info or PatchedFile(
            path=state.shown, action="modified", hunks=0, added=0, removed=0, offsets=[]
        )
        info.hunks += len(fp.hunks)
        info.added += added
        info.removed += removed
        info.offsets += offsets
        state.info = info
    return _finish(states)


def _finish(states: dict[Path, _FileState]) -> PatchPlan:
    plan = PatchPlan()
    for state in states.values():
        old = state.original.text if state.original else None
        if old is None and state.text is None:
            continue  # created, then deleted, by the same patch
        assert state.info is not None
        if old is None:
            state.info.action = "created"
        elif state.text is None:
            state.info.action = "deleted"
        mode = None
        if old is None:
            mode = default_file_mode()
            if state.mode is not None and state.mode & 0o111:
                mode |= (mode & 0o444) >> 2  # executable where readable, as git checks out
        sha = state.original.sha256 if state.original else None
        plan.changes.append(PlannedChange(state.path, state.shown, old, state.text, sha, mode))
        plan.files.append(state.info)
    return plan


def _target(ctx: ToolContext, old: str | None, new: str | None) -> Path:
    """The file a section changes; both names are confined even if only one is used."""
    resolved = [ctx.workspace.resolve(p, write=True) for p in (new, old) if p is not None]
    if len(resolved) == 2 and resolved[0] != resolved[1] and not resolved[0].exists():
        # "--- file.orig +++ file" (diff -u between two copies): patch the one that exists.
        return resolved[1] if resolved[1].exists() else resolved[0]
    return resolved[0]


def _check_creatable(ctx: ToolContext, target: Path, shown: str) -> None:
    for parent in target.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ToolExecutionError(
                    f"apply_patch: cannot create '{shown}': '{ctx.workspace.relative(parent)}' "
                    "is a file; nothing was written"
                )
            return


def write_plan(changes: list[PlannedChange], *, tool: str) -> None:
    """Write every change or none: stage all, re-check all, then replace and delete."""
    changes = [c for c in changes if c.old_text != c.new_text]
    for change in changes:
        ensure_unchanged(change.path, sha256=change.old_sha256, shown=change.shown, tool=tool)
    made_dirs: list[Path] = []
    staged: list[StagedWrite] = []
    try:
        for change in changes:
            if change.new_text is None:
                continue
            missing = [p for p in reversed(change.path.parents) if not p.exists()]
            for directory in missing:
                directory.mkdir()
                made_dirs.append(directory)
            data = change.new_text.encode("utf-8")
            staged.append(stage_write(change.path, data, mode=change.mode))
        for change in changes:  # the last check, as close to the rename as it gets
            ensure_unchanged(change.path, sha256=change.old_sha256, shown=change.shown, tool=tool)
    except BaseException as exc:
        for item in staged:
            item.discard()
        for directory in reversed(made_dirs):
            with contextlib.suppress(OSError):
                directory.rmdir()
        if isinstance(exc, OSError):
            raise ToolExecutionError(f"{tool}: cannot write: {exc}; nothing was written") from exc
        raise
    written: list[str] = []
    try:
        for item in staged:
            item.commit()
            written.append(str(item.path))
        for change in changes:
            if change.new_text is None:
                change.path.unlink()
                written.append(str(change.path))
    except OSError as exc:
        for item in staged:
            item.discard()
        raise ToolExecutionError(
            f"{tool}: writing failed part-way ({exc}); already written: {', '.join(written)}"
        ) from exc
