"""Writing a reviewed selection: all files or none, never over a file changed since the proposal."""

from __future__ import annotations

from pathlib import Path

import pytest

from luminamind.errors import ProposalChangedError, ReviewError
from luminamind.review import (
    HunkDecision,
    build_report,
    choose,
    final_texts,
    split_changes,
    write_selection,
)
from luminamind.runtime import ToolRuntime
from luminamind.tools.preview import FileChange, unified_diff


def change(old: str | None, new: str | None, path: str) -> FileChange:
    return FileChange(path=path, diff=unified_diff(path, old, new), old_text=old, new_text=new)


async def test_a_selection_over_three_files_creates_deletes_and_edits(
    runtime: ToolRuntime, workspace_dir: Path
) -> None:
    (workspace_dir / "keep.txt").write_text("a\n")
    (workspace_dir / "gone.txt").write_text("old\n")
    changes = [
        change("a\n", "A\n", "keep.txt"),
        change("old\n", None, "gone.txt"),
        change(None, "new\n", "sub/new.txt"),
        change(None, "never\n", "never.txt"),
    ]
    hunks = split_changes(changes)
    decisions = [
        HunkDecision(hunk=1, action="edit", text="A!\n"),
        HunkDecision(hunk=2, action="accept"),
        HunkDecision(hunk=3, action="accept"),
        HunkDecision(hunk=4, action="reject", reason="not this one"),
    ]
    chosen = choose(hunks, decisions)
    written = await write_selection(
        runtime.context, changes, final_texts(changes, hunks, chosen), tool="apply_patch"
    )
    assert (workspace_dir / "keep.txt").read_text() == "A!\n"
    assert not (workspace_dir / "gone.txt").exists()
    assert (workspace_dir / "sub" / "new.txt").read_text() == "new\n"
    assert not (workspace_dir / "never.txt").exists()
    assert [w.changed for w in written] == [True, True, True, False]
    report = build_report("apply_patch", hunks, decisions, chosen, written)
    assert (report.applied, report.rejected, report.edited) == ([2, 3], [4], [1])
    assert report.hunks[3].reason == "not this one"


async def test_a_file_changed_since_the_proposal_stops_every_write(
    runtime: ToolRuntime, workspace_dir: Path
) -> None:
    (workspace_dir / "a.txt").write_text("a\n")
    (workspace_dir / "b.txt").write_text("b\n")
    changes = [change("a\n", "A\n", "a.txt"), change("b\n", "B\n", "b.txt")]
    hunks = split_changes(changes)
    chosen = choose(hunks, [HunkDecision(hunk=i, action="accept") for i in (1, 2)])
    (workspace_dir / "b.txt").write_text("b, edited by hand\n")
    with pytest.raises(ProposalChangedError, match=r"b\.txt changed on disk"):
        await write_selection(
            runtime.context, changes, final_texts(changes, hunks, chosen), tool="apply_patch"
        )
    assert (workspace_dir / "a.txt").read_text() == "a\n"
    assert (workspace_dir / "b.txt").read_text() == "b, edited by hand\n"


def test_an_opaque_change_cannot_be_applied_in_part() -> None:
    binary = FileChange(path="x.bin", diff="Binary file x.bin would be replaced by text\n")
    changes = [binary, change("a\n", "b\n", "a.txt")]
    hunks = split_changes(changes)
    chosen = choose(
        hunks, [HunkDecision(hunk=1, action="accept"), HunkDecision(hunk=2, action="reject")]
    )
    with pytest.raises(ReviewError, match="accept or reject the whole tool call"):
        final_texts(changes, hunks, chosen)
