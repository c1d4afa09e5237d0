"""Turn the agent's proposed file changes into a `WorkspaceEdit` for the editor.

The agent computes a change against the file on disk (``FileChange.old_text`` -> ``new_text``).
The editor may hold unsaved changes, so the change is rebased onto the open buffer first: each
changed block of lines must still be present, unchanged, in the buffer; otherwise the change
conflicts and the user is told to save first rather than losing either side's work.
Edits are line-based (whole lines, character 0), which sidesteps UTF-16 column arithmetic.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from lsprotocol import types as lsp

from luminamind.rewind.models import EditorEdit
from luminamind.tools.preview import FileChange

__all__ = [
    "BufferView",
    "EditConflictError",
    "applied_texts",
    "build_workspace_edit",
    "rebase_onto_buffer",
]


class EditConflictError(Exception):
    """The buffer changed the same lines the agent wants to change."""


@dataclass(frozen=True, slots=True)
class BufferView:
    """An open editor buffer: its URI, version and text."""

    uri: str
    version: int | None
    text: str


def rebase_onto_buffer(old: str, new: str, buffer: str) -> str:
    """Apply the change ``old -> new`` to ``buffer`` (a possibly edited copy of ``old``).

    Raises:
        EditConflictError: a changed block of ``old`` is not intact in ``buffer``.
    """
    if buffer == old:
        return new
    old_lines = old.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    buf_lines = buffer.splitlines(keepends=True)
    # Where each line of `old` sits in the buffer, for the lines the buffer did not touch.
    to_buffer: dict[int, int] = {}
    for block in difflib.SequenceMatcher(
        None, old_lines, buf_lines, autojunk=False
    ).get_matching_blocks():
        for k in range(block.size):
            to_buffer[block.a + k] = block.b + k
    result = list(buf_lines)
    shift = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(
        None, old_lines, new_lines, autojunk=False
    ).get_opcodes():
        if tag == "equal":
            continue
        start = _anchor(to_buffer, i1, i2, len(old_lines), len(buf_lines))
        result[start + shift : start + shift + (i2 - i1)] = new_lines[j1:j2]
        shift += (j2 - j1) - (i2 - i1)
    return "".join(result)


def _anchor(to_buffer: dict[int, int], i1: int, i2: int, old_len: int, buf_len: int) -> int:
    """Buffer index where old lines [i1, i2) start; they must be intact and contiguous."""
    if i2 > i1:
        mapped = [to_buffer.get(i) for i in range(i1, i2)]
        if None in mapped or mapped != list(range(mapped[0] or 0, (mapped[0] or 0) + i2 - i1)):
            raise EditConflictError(f"lines {i1 + 1}-{i2} were edited in the buffer")
        return mapped[0] or 0
    # Pure insertion: anchor on the previous line, else the next one.
    if i1 > 0 and (i1 - 1) in to_buffer:
        return to_buffer[i1 - 1] + 1
    if i1 < old_len and i1 in to_buffer:
        return to_buffer[i1]
    if i1 == 0:
        return 0
    if i1 >= old_len:
        return buf_len
    raise EditConflictError(f"the lines around line {i1 + 1} were edited in the buffer")


def _line_edits(before: str, after: str) -> list[tuple[lsp.Range, str]]:
    """Minimal whole-line replacements turning ``before`` into ``after``."""
    a = before.splitlines(keepends=True)
    b = after.splitlines(keepends=True)
    edits: list[tuple[lsp.Range, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        edits.append((_range(a, i1, i2), "".join(b[j1:j2])))
    return edits


def _range(lines: Sequence[str], i1: int, i2: int) -> lsp.Range:
    start = _position(lines, i1)
    end = _position(lines, i2)
    return lsp.Range(start=start, end=end)


def _position(lines: Sequence[str], index: int) -> lsp.Position:
    # Past the last line: the end of the document. If the text does not end in a newline that is
    # the end of the last line (a column, counted in UTF-16 code units as LSP requires).
    if index >= len(lines) and lines and not lines[-1].endswith(("\n", "\r")):
        last = lines[-1]
        return lsp.Position(line=len(lines) - 1, character=len(last.encode("utf-16-le")) // 2)
    return lsp.Position(line=index, character=0)


def build_workspace_edit(
    changes: Sequence[tuple[FileChange, str, BufferView | None]],
    *,
    label: str,
    annotate: bool,
) -> lsp.WorkspaceEdit:
    """Build the edit for ``changes``: (change, file URI, open buffer or None).

    Args:
        changes: the file changes with the target URI and the open buffer, if any.
        label: the change annotation's label (shown as the group in the refactor preview).
        annotate: attach a ``needsConfirmation`` change annotation to every edit, so an editor
            with ``changeAnnotationSupport`` shows its preview before applying.

    Raises:
        EditConflictError: an open buffer has conflicting unsaved changes.
    """
    annotation_id = "luminamind.proposed" if annotate else None
    operations: list[lsp.TextDocumentEdit | lsp.CreateFile | lsp.RenameFile | lsp.DeleteFile] = []
    for change, uri, buffer in changes:
        if change.new_text is None:
            operations.append(
                lsp.DeleteFile(
                    uri=uri,
                    options=lsp.DeleteFileOptions(ignore_if_not_exists=True),
                    annotation_id=annotation_id,
                )
            )
            continue
        if change.old_text is None and buffer is None:
            operations.append(
                lsp.CreateFile(
                    uri=uri,
                    options=lsp.CreateFileOptions(ignore_if_exists=True),
                    annotation_id=annotation_id,
                )
            )
            before, version = "", None
        elif buffer is not None:
            before, version = buffer.text, buffer.version
        else:
            before, version = change.old_text or "", None
        after = (
            rebase_onto_buffer(change.old_text or "", change.new_text, before)
            if buffer is not None
            else change.new_text
        )
        edits: list[lsp.TextEdit | lsp.AnnotatedTextEdit | lsp.SnippetTextEdit] = [
            lsp.AnnotatedTextEdit(range=rng, new_text=text, annotation_id=annotation_id)
            if annotation_id
            else lsp.TextEdit(range=rng, new_text=text)
            for rng, text in _line_edits(before, after)
        ]
        operations.append(
            lsp.TextDocumentEdit(
                text_document=lsp.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version),
                edits=edits,
            )
        )
    annotations = (
        {annotation_id: lsp.ChangeAnnotation(label=label, needs_confirmation=True)}
        if annotation_id
        else None
    )
    return lsp.WorkspaceEdit(document_changes=operations, change_annotations=annotations)


def applied_texts(changes: Sequence[tuple[FileChange, BufferView | None]]) -> list[EditorEdit]:
    """What applying ``changes`` (each onto its open buffer, if any) makes of each file.

    The same texts `build_workspace_edit` edits from and to: the buffer (or the file) before,
    the change rebased onto it after.

    Raises:
        EditConflictError: as `build_workspace_edit`.
    """
    edits: list[EditorEdit] = []
    for change, buffer in changes:
        before = buffer.text if buffer is not None else change.old_text
        if change.new_text is None:
            after = None
        elif buffer is not None:
            after = rebase_onto_buffer(change.old_text or "", change.new_text, buffer.text)
        else:
            after = change.new_text
        edits.append(EditorEdit(path=change.path, before=before, after=after))
    return edits
