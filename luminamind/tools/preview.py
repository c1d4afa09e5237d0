"""Previews of file changes: what a tool *would* write, as a unified diff, without writing it.

Approval requests for file changes carry these so a human (CLI prompt, MCP elicitation, an
editor's diff view) sees exactly what will change before approving.
"""

from __future__ import annotations

import difflib

from pydantic import BaseModel

__all__ = ["FileChange", "unified_diff"]


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


def unified_diff(path: str, old: str | None, new: str | None) -> str:
    """A unified diff in ``git diff`` style (``a/`` and ``b/`` prefixes, /dev/null for none)."""
    return "".join(
        difflib.unified_diff(
            (old or "").splitlines(keepends=True),
            (new or "").splitlines(keepends=True),
            fromfile=f"a/{path}" if old is not None else "/dev/null",
            tofile=f"b/{path}" if new is not None else "/dev/null",
        )
    )
