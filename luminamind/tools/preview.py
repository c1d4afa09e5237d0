"""Previews of file changes: what a tool *would* write, as a unified diff, without writing it.

Approval requests for file changes carry these so a human (CLI prompt, MCP elicitation, an
editor's diff view) sees exactly what will change before approving.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from patiencediff import PatienceSequenceMatcher
from pydantic import BaseModel

__all__ = ["DiffBlock", "FileChange", "PatienceSequenceMatcher", "diff_blocks", "unified_diff"]

_NO_NEWLINE = "\\ No newline at end of file\n"


class FileChange(BaseModel):
    """One file a pending tool call would change.

    Attributes:
        path: workspace-relative path.
        diff: unified diff from the current content to ``new_text``.
        old_text: current content (None if the file does not exist yet).
        new_text: content after the change (None if the file would be deleted).
    """

    path: str
    diff: str
    old_text: str | None = None
    new_text: str | None = None


@dataclass(frozen=True, slots=True)
class DiffBlock:
    """One ``@@`` block: lines ``[i1, i2)`` of the old text become ``[j1, j2)`` of the new one."""

    i1: int
    i2: int
    j1: int
    j2: int
    header: str
    body: str


def _range(start: int, length: int) -> str:
    # As git (and difflib) print it: an empty range names the line before it.
    first = start + 1
    if length == 1:
        return str(first)
    if length == 0:
        first -= 1
    return f"{first},{length}"


def _line(prefix: str, line: str) -> str:
    if line.endswith(("\n", "\r")):
        return prefix + line
    return prefix + line + "\n" + _NO_NEWLINE


def diff_blocks(a: Sequence[str], b: Sequence[str], *, context: int = 3) -> list[DiffBlock]:
    """The ``@@`` blocks turning lines ``a`` into ``b`` (lines with their endings).

    Patience diff (``git diff --patience``), from ``patiencediff``: difflib's matcher took
    ~60 ms on a 2,000-line change with 200 blocks, this takes ~1 ms (bench/review.py). The
    formatting is git's, with the "No newline at end of file" marker.
    """
    blocks: list[DiffBlock] = []
    matcher = PatienceSequenceMatcher(None, a, b)
    for group in matcher.get_grouped_opcodes(context):
        i1, i2, j1, j2 = group[0][1], group[-1][2], group[0][3], group[-1][4]
        header = f"@@ -{_range(i1, i2 - i1)} +{_range(j1, j2 - j1)} @@"
        body: list[str] = [header + "\n"]
        for tag, k1, k2, m1, m2 in group:
            if tag == "equal":
                body.extend(_line(" ", line) for line in a[k1:k2])
                continue
            body.extend(_line("-", line) for line in a[k1:k2])
            body.extend(_line("+", line) for line in b[m1:m2])
        blocks.append(DiffBlock(i1, i2, j1, j2, header, "".join(body)))
    return blocks


def unified_diff(path: str, old: str | None, new: str | None) -> str:
    """A unified diff in ``git diff`` style (``a/`` and ``b/`` prefixes, /dev/null for none)."""
    blocks = diff_blocks(
        (old or "").splitlines(keepends=True), (new or "").splitlines(keepends=True)
    )
    if not blocks:
        return ""
    source = f"a/{path}" if old is not None else "/dev/null"
    target = f"b/{path}" if new is not None else "/dev/null"
    return f"--- {source}\n+++ {target}\n" + "".join(block.body for block in blocks)
