"""Splitting proposals into hunks, composing any selection, reading decisions back from a buffer."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from luminamind.errors import HunkDecisionError, HunkEditError
from luminamind.review import (
    HunkDecision,
    choose,
    compose,
    infer_decisions,
    parse_edited_hunk,
    proposal_id,
    split_change,
    split_changes,
)
from luminamind.tools.preview import FileChange, unified_diff

OLD = "".join(f"line {i}\n" for i in range(1, 41))
NEW = (
    OLD.replace("line 2\n", "line two\n")
    .replace("line 20\n", "")
    .replace("line 38\n", "line 38\nline 38.5\n")
)


def change(old: str | None, new: str | None, path: str = "f.txt") -> FileChange:
    return FileChange(path=path, diff=unified_diff(path, old, new), old_text=old, new_text=new)


def test_hunks_are_the_diffs_at_blocks() -> None:
    fc = change(OLD, NEW)
    hunks = split_change(fc)
    assert [h.index for h in hunks] == [1, 2, 3]
    body = fc.diff.split("\n", 2)[2]  # the ---/+++ lines off
    assert "".join(h.diff for h in hunks) == body
    assert [h.header for h in hunks] == [
        "@@ -1,5 +1,5 @@",
        "@@ -17,7 +17,6 @@",
        "@@ -36,5 +35,6 @@",
    ]
    assert (hunks[1].added, hunks[1].removed) == (0, 1)
    assert all(h.kind == "modify" and h.editable for h in hunks)


def test_new_deleted_binary_and_directory_changes_are_one_hunk() -> None:
    created = split_change(change(None, "a\nb\n"))
    assert [(h.kind, h.editable, h.new) for h in created] == [("create", True, "a\nb\n")]
    deleted = split_change(change("a\n", None))
    assert [(h.kind, h.editable) for h in deleted] == [("delete", False)]
    binary = FileChange(path="x.bin", diff="Binary file x.bin would be replaced by text\n")
    assert [h.kind for h in split_change(binary, first_index=4)] == ["opaque"]
    assert split_change(binary, first_index=4)[0].index == 4


def test_a_missing_final_newline_is_marked_as_git_does() -> None:
    (hunk,) = split_change(change("a\nb", "a\nc"))
    assert hunk.diff.endswith(
        "-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n"
    )


def test_hunks_are_numbered_across_files() -> None:
    hunks = split_changes([change(OLD, NEW, "a"), change("x\n", "y\n", "b")])
    assert [(h.index, h.path) for h in hunks] == [(1, "a"), (2, "a"), (3, "a"), (4, "b")]


def test_the_proposal_id_changes_with_the_file() -> None:
    first = proposal_id("call_1", [change(OLD, NEW)])
    assert first == proposal_id("call_1", [change(OLD, NEW)])
    assert first != proposal_id("call_1", [change(OLD + "x\n", NEW)])
    assert first != proposal_id("call_2", [change(OLD, NEW)])


def test_keeping_hunks_1_and_3() -> None:
    hunks = split_change(change(OLD, NEW))
    chosen = choose(
        hunks,
        [
            HunkDecision(hunk=1, action="accept"),
            HunkDecision(hunk=2, action="reject", reason="no"),
            HunkDecision(hunk=3, action="accept"),
        ],
    )
    assert compose(OLD, hunks, chosen) == OLD.replace("line 2\n", "line two\n").replace(
        "line 38\n", "line 38\nline 38.5\n"
    )


def test_an_edited_text_gets_its_line_ending_back() -> None:
    hunks = split_change(change(OLD, NEW))
    chosen = choose(
        hunks,
        [
            HunkDecision(hunk=1, action="edit", text="line 1\nline TWO"),
            HunkDecision(hunk=2, action="reject"),
            HunkDecision(hunk=3, action="reject"),
        ],
    )
    text = compose(OLD, hunks, chosen)
    assert text is not None
    assert text.startswith("line 1\nline TWO\nline 6\n")


def test_edited_patches_must_keep_context_and_removed_lines() -> None:
    hunk = split_change(change(OLD, NEW))[0]
    edited = hunk.diff.replace("+line two", "+line 2!")
    assert "line 2!\n" in parse_edited_hunk(hunk, "# comment\n" + edited)
    with pytest.raises(HunkEditError, match="no longer applies"):
        parse_edited_hunk(hunk, edited.replace(" line 3", " line three"))
    with pytest.raises(HunkEditError, match="empty"):
        parse_edited_hunk(hunk, "# nothing\n")
    with pytest.raises(HunkEditError, match="start with"):
        parse_edited_hunk(hunk, edited + "?what\n")


def test_decisions_must_cover_every_hunk_once() -> None:
    hunks = split_change(change(OLD, NEW))
    accept = [HunkDecision(hunk=i, action="accept") for i in (1, 2, 3)]
    with pytest.raises(HunkDecisionError, match="2 have no decision"):
        choose(hunks, [accept[0], accept[2]])
    with pytest.raises(HunkDecisionError, match="twice"):
        choose(hunks, [*accept, accept[0]])
    with pytest.raises(HunkDecisionError, match="no hunk 9"):
        choose(hunks, [*accept, HunkDecision(hunk=9, action="accept")])
    (deleted,) = split_change(change("a\n", None))
    with pytest.raises(HunkEditError, match="deletion"):
        choose([deleted], [HunkDecision(hunk=1, action="edit", text="b\n")])


def test_an_edit_needs_exactly_one_text() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        HunkDecision(hunk=1, action="edit")
    with pytest.raises(ValueError, match="belong to an 'edit'"):
        HunkDecision(hunk=1, action="accept", text="x")


def test_whole_file_hunks_compose() -> None:
    (created,) = split_change(change(None, "a\n"))
    assert compose(None, [created], {1: created.old}) is None
    assert compose(None, [created], {1: "a\n"}) == "a\n"
    (deleted,) = split_change(change("a\n", None))
    assert compose("a\n", [deleted], {1: None}) is None
    assert compose("a\n", [deleted], {1: "a\n"}) == "a\n"


def test_infer_reads_an_edited_buffer() -> None:
    hunks = split_change(change(OLD, NEW))
    buffer = OLD.replace("line 2\n", "line deux\n").replace("line 38\n", "line 38\nline 38.5\n")
    inferred = infer_decisions(OLD, hunks, buffer)
    assert [d.action for d in inferred.decisions] == ["edit", "reject", "accept"]
    assert inferred.decisions[0].text is not None
    assert "line deux\n" in inferred.decisions[0].text
    assert not inferred.outside_changes
    outside = infer_decisions(OLD, hunks, OLD.replace("line 12\n", "line twelve\n"))
    assert outside.outside_changes
    assert [d.action for d in outside.decisions] == ["reject", "reject", "reject"]


lines = st.lists(st.sampled_from(["a\n", "b\n", "c\n", "d", "\n", "e\r\n"]), max_size=40)


@settings(max_examples=200, deadline=None)
@given(old=lines, new=lines, picks=st.lists(st.booleans(), min_size=40, max_size=40))
def test_any_selection_composes_and_reads_back(
    old: list[str], new: list[str], picks: list[bool]
) -> None:
    # Only the last line may lack an ending (a file, not a list of fragments).
    old_text = "".join(line if line.endswith("\n") else line + "\n" for line in old[:-1]) + "".join(
        old[-1:]
    )
    new_text = "".join(line if line.endswith("\n") else line + "\n" for line in new[:-1]) + "".join(
        new[-1:]
    )
    hunks = split_change(change(old_text, new_text))
    all_in = choose(hunks, [HunkDecision(hunk=h.index, action="accept") for h in hunks])
    all_out = choose(hunks, [HunkDecision(hunk=h.index, action="reject") for h in hunks])
    assert compose(old_text, hunks, all_in) == new_text
    assert compose(old_text, hunks, all_out) == old_text
    decisions = [
        HunkDecision(hunk=h.index, action="accept" if pick else "reject")
        for h, pick in zip(hunks, picks, strict=False)
    ]
    chosen = choose(hunks, decisions)
    mixed = compose(old_text, hunks, chosen)
    inferred = infer_decisions(old_text, hunks, mixed)
    assert not inferred.outside_changes
    # A hunk whose proposal equals its old text cannot exist, so the read-back is exact.
    assert [d.action for d in inferred.decisions] == [d.action for d in decisions]
