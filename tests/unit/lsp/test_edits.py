"""Proposed changes become line edits, rebased onto unsaved buffers without losing either side."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lsprotocol import types as lsp

from luminamind.tools.preview import FileChange, unified_diff
from luminamind_lsp.edits import (
    BufferView,
    EditConflictError,
    build_workspace_edit,
    rebase_onto_buffer,
)


def apply_edits(text: str, edits: list[lsp.TextEdit | lsp.AnnotatedTextEdit]) -> str:
    """Apply LSP edits the way an editor does (positions in UTF-16 units; ours are line-based)."""
    lines = text.splitlines(keepends=True)

    def offset(pos: lsp.Position) -> int:
        before = sum(len(line) for line in lines[: pos.line])
        if pos.line < len(lines):
            units = lines[pos.line].encode("utf-16-le")[: pos.character * 2]
            return before + len(units.decode("utf-16-le"))
        return before

    for edit in sorted(
        edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True
    ):
        start, end = offset(edit.range.start), offset(edit.range.end)
        text = text[:start] + edit.new_text + text[end:]
    return text


def change(old: str | None, new: str | None, path: str = "a.py") -> FileChange:
    return FileChange(path=path, diff=unified_diff(path, old, new), old_text=old, new_text=new)


def test_rebase_keeps_unsaved_edits_elsewhere() -> None:
    old = "a\nb\nc\nd\ne\n"
    new = "a\nB\nc\nd\ne\nf\n"
    buffer = "header\na\nb\nc\nd (edited)\ne\n"
    assert rebase_onto_buffer(old, new, buffer) == "header\na\nB\nc\nd (edited)\ne\nf\n"


def test_rebase_refuses_conflicting_edits() -> None:
    with pytest.raises(EditConflictError, match="edited in the buffer"):
        rebase_onto_buffer("a\nb\nc\n", "a\nB\nc\n", "a\nb (mine)\nc\n")


@given(
    old=st.lists(st.sampled_from(["x\n", "y\n", "z\n", "é😀\n", "\n"]), max_size=12),
    new=st.lists(st.sampled_from(["x\n", "y\n", "q\n", "é😀\n", "\n", "last"]), max_size=12),
)
def test_workspace_edit_turns_buffer_into_new_text(old: list[str], new: list[str]) -> None:
    old_text, new_text = "".join(old), "".join(new)
    uri = "file:///ws/a.py"
    edit = build_workspace_edit(
        [(change(old_text, new_text), uri, BufferView(uri, 3, old_text))],
        label="LuminaMind: test",
        annotate=True,
    )
    assert edit.document_changes is not None
    (doc_edit,) = edit.document_changes
    assert isinstance(doc_edit, lsp.TextDocumentEdit)
    assert doc_edit.text_document.version == 3
    edits = [e for e in doc_edit.edits if isinstance(e, lsp.TextEdit | lsp.AnnotatedTextEdit)]
    assert apply_edits(old_text, edits) == new_text
    assert all(isinstance(e, lsp.AnnotatedTextEdit) for e in edits)
    assert edit.change_annotations is not None
    assert edit.change_annotations["luminamind.proposed"].needs_confirmation is True


def test_created_and_deleted_files() -> None:
    edit = build_workspace_edit(
        [
            (change(None, "new\n", "new.py"), "file:///ws/new.py", None),
            (change("gone\n", None, "old.py"), "file:///ws/old.py", None),
        ],
        label="x",
        annotate=False,
    )
    assert edit.document_changes is not None
    kinds = [type(op).__name__ for op in edit.document_changes]
    assert kinds == ["CreateFile", "TextDocumentEdit", "DeleteFile"]
    assert edit.change_annotations is None
    text_edit = edit.document_changes[1]
    assert isinstance(text_edit, lsp.TextDocumentEdit)
    assert text_edit.text_document.version is None
    assert [e.new_text for e in text_edit.edits if isinstance(e, lsp.TextEdit)] == ["new\n"]
    assert len(text_edit.edits) == 1
