"""One change annotation per hunk: any set of ticked hunks gives exactly those hunks' text."""

from __future__ import annotations

from pathlib import Path

from hypothesis import assume, given, settings
from hypothesis import strategies as st
from lsprotocol import types as lsp

from luminamind.agent.events import ActionRequest, HunkDecision
from luminamind.review import choose, compose, proposal_id, split_changes
from luminamind.tools.preview import FileChange, unified_diff
from luminamind_lsp.edits import BufferView
from luminamind_lsp.hunk_review import hunk_workspace_edit
from tests.unit.lsp.test_edits import apply_edits

ROOT = Path("/ws")


def request_for(*changes: FileChange) -> ActionRequest:
    return ActionRequest(
        id="call_1",
        tool="apply_patch",
        arguments={},
        files=list(changes),
        hunks=split_changes(changes),
        proposal=proposal_id("call_1", changes),
    )


def change(old: str | None, new: str | None, path: str = "f.txt") -> FileChange:
    return FileChange(path=path, diff=unified_diff(path, old, new), old_text=old, new_text=new)


lines = st.lists(st.sampled_from(["a\n", "b\n", "c\n", "ü\n", "\n"]), min_size=1, max_size=30)


@settings(max_examples=150, deadline=None)
@given(old=lines, new=lines, last=st.sampled_from(["", "end", "änd\n"]), ticks=st.data())
def test_ticked_hunks_are_exactly_what_lands(
    old: list[str], new: list[str], last: str, ticks: st.DataObject
) -> None:
    before, after = "".join(old) + last, "".join(new) + last + ("x" if not last else "")
    request = request_for(change(before, after))
    assume(request.hunks)
    edit = hunk_workspace_edit(request, root=ROOT, buffers=lambda _: None)
    assert edit is not None
    picked = {h.index: ticks.draw(st.booleans()) for h in request.hunks}
    (document,) = edit.document_changes or []
    assert isinstance(document, lsp.TextDocumentEdit)
    kept = [
        e
        for e in document.edits
        if isinstance(e, lsp.AnnotatedTextEdit) and picked[int(e.annotation_id.rsplit(".", 1)[1])]
    ]
    decisions = [
        HunkDecision(hunk=i, action="accept" if on else "reject") for i, on in picked.items()
    ]
    expected = compose(before, request.hunks, choose(request.hunks, decisions))
    assert apply_edits(before, kept) == expected  # type: ignore[arg-type]


def test_new_and_deleted_files_and_annotations() -> None:
    request = request_for(change(None, "new\n", "n.txt"), change("gone\n", None, "g.txt"))
    edit = hunk_workspace_edit(request, root=ROOT, buffers=lambda _: None)
    assert edit is not None
    kinds = [type(op).__name__ for op in edit.document_changes or []]
    assert kinds == ["CreateFile", "TextDocumentEdit", "DeleteFile"]
    annotations = edit.change_annotations or {}
    assert annotations["luminamind.hunk.1"].label == "Hunk 1: n.txt @@ -0,0 +1 @@"
    assert all(a.needs_confirmation for a in annotations.values())


def test_unsaved_buffers_and_binary_changes_take_the_whole_change_route() -> None:
    request = request_for(change("a\nb\n", "a\nB\n"))
    uri = (ROOT / "f.txt").as_uri()
    dirty = BufferView(uri=uri, version=3, text="a\nb\nmine\n")
    assert hunk_workspace_edit(request, root=ROOT, buffers=lambda _: dirty) is None
    clean = BufferView(uri=uri, version=3, text="a\nb\n")
    edit = hunk_workspace_edit(request, root=ROOT, buffers=lambda _: clean)
    assert edit is not None
    (document,) = edit.document_changes or []
    assert isinstance(document, lsp.TextDocumentEdit)
    assert document.text_document.version == 3
    binary = FileChange(path="x.bin", diff="Binary file x.bin would be replaced by text\n")
    assert hunk_workspace_edit(request_for(binary), root=ROOT, buffers=lambda _: None) is None
