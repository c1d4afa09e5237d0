"""A proposed file change split into hunks: the unit a human reviews.

Each hunk is one ``@@`` block of the unified diff (three lines of context, as ``git diff``), with
the exact lines it covers in the current file (``old``) and what the proposal puts there
(``new``). Hunk regions never overlap, so any subset of hunks can be applied on its own.
Changes without text on both sides (a binary file, a directory, a symlink) are one opaque hunk:
accept or reject, never edit. A deleted text file is one hunk too (the whole file goes or stays).

The blocks are the previews' own (``diff_blocks``, patience diff), so the hunks are exactly the
``@@`` blocks of the diff the user saw.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from luminamind.tools.preview import FileChange, diff_blocks

__all__ = [
    "CONTEXT_LINES",
    "Hunk",
    "HunkKind",
    "proposal_id",
    "split_change",
    "split_changes",
    "split_lines",
]

CONTEXT_LINES = 3

HunkKind = Literal["modify", "create", "delete", "opaque"]


class Hunk(BaseModel):
    """One reviewable piece of a proposed change.

    Attributes:
        index: 1-based position among all hunks of the action (across its files).
        path: workspace-relative file the hunk changes.
        kind: ``modify`` (part of a file), ``create`` (a new file), ``delete`` (the whole file
            goes) or ``opaque`` (no text to show: binary, directory, symlink).
        header: the ``@@ -a,b +c,d @@`` line ("" for opaque hunks).
        offset: 0-based index of the region's first line in the current file.
        old: the region's current text (context lines included).
        new: the proposed text of the same region.
        diff: the hunk as unified-diff text (header and lines), or the description of an
            opaque change.
    """

    model_config = ConfigDict(frozen=True)

    index: int = Field(ge=1)
    path: str
    kind: HunkKind
    header: str = ""
    offset: int = 0
    old: str = ""
    new: str = ""
    diff: str

    @property
    def editable(self) -> bool:
        """Whether the user may change the proposed text (not for deletions or opaque changes)."""
        return self.kind in ("modify", "create")

    @property
    def old_line_count(self) -> int:
        """Lines of the current file the region covers."""
        return len(split_lines(self.old))

    @property
    def added(self) -> int:
        """Lines this hunk adds."""
        return sum(1 for line in self.diff.splitlines() if line.startswith("+"))

    @property
    def removed(self) -> int:
        """Lines this hunk removes."""
        return sum(1 for line in self.diff.splitlines() if line.startswith("-"))


def split_lines(text: str) -> list[str]:
    """Lines with their endings (the last may have none); ``""`` is no lines."""
    return text.splitlines(keepends=True)


def split_change(change: FileChange, *, first_index: int = 1) -> list[Hunk]:
    """The hunks of one file change, numbered from ``first_index``."""
    old, new = change.old_text, change.new_text
    if (old is None and new is None) or _described(change):
        return [Hunk(index=first_index, path=change.path, kind="opaque", diff=change.diff)]
    if new is None:
        return [_whole(change.path, first_index, "delete", old or "", "")]
    if old is None:
        return [_whole(change.path, first_index, "create", "", new)]
    a, b = split_lines(old), split_lines(new)
    hunks: list[Hunk] = []
    for block in diff_blocks(a, b, context=CONTEXT_LINES):
        hunks.append(
            Hunk(
                index=first_index + len(hunks),
                path=change.path,
                kind="modify",
                header=block.header,
                offset=block.i1,
                old="".join(a[block.i1 : block.i2]),
                new="".join(b[block.j1 : block.j2]),
                diff=block.body,
            )
        )
    return hunks


def _described(change: FileChange) -> bool:
    # Previews describe what has no text diff in words ("Binary file ...", "Deletes directory").
    return bool(change.diff) and not change.diff.startswith(("---", "@@"))


def _whole(path: str, index: int, kind: HunkKind, old: str, new: str) -> Hunk:
    # One block with no context: the whole file appears or goes.
    blocks = diff_blocks(split_lines(old), split_lines(new), context=0)
    header = blocks[0].header if blocks else "@@ -0,0 +0,0 @@"  # an empty file
    diff = "".join(b.body for b in blocks) or header + "\n"
    return Hunk(index=index, path=path, kind=kind, header=header, old=old, new=new, diff=diff)


def split_changes(changes: Sequence[FileChange]) -> list[Hunk]:
    """The hunks of every file of an action, numbered 1..n across the files in order."""
    hunks: list[Hunk] = []
    for change in changes:
        hunks.extend(split_change(change, first_index=len(hunks) + 1))
    return hunks


def proposal_id(tool_call_id: str, changes: Sequence[FileChange]) -> str:
    """A fingerprint of what the user is shown: the call and every file's before and after.

    A decision names the proposal it answers; if the files changed on disk since, the
    fingerprint differs and the change is shown again instead of being applied blind.
    """
    digest = hashlib.sha256(tool_call_id.encode("utf-8", "surrogatepass"))
    for change in changes:
        for part in (change.path, change.old_text, change.new_text, change.diff):
            digest.update(b"\x00" if part is None else b"\x01")
            digest.update((part or "").encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:32]
