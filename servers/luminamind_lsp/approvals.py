"""File-change approvals in the editor's diff view.

A proposed file change goes to the client as ``workspace/applyEdit``. When the client supports
change annotations, every edit carries one with ``needsConfirmation: true``, so VS Code shows its
refactor preview (a diff) and applies nothing until the user accepts. Other clients are asked
first with ``window/showMessageRequest`` (Apply / Reject / Show diff). ``applied: false`` is a
rejection the agent is told about. An applied change is handed to ``on_applied`` (the texts
before and after), so the turn records it for rewind although the editor made it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import unquote

import structlog
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer

from luminamind.agent.events import ActionRequest, Decision
from luminamind.agent.review import editor_decision, read_back
from luminamind.rewind.models import EditorEdit
from luminamind.tools.preview import FileChange
from luminamind_lsp.edits import (
    BufferView,
    EditConflictError,
    applied_texts,
    build_workspace_edit,
)
from luminamind_lsp.hunk_review import HunkReview, OnApplied

__all__ = ["EditorApprovals", "OnApplied", "file_changes"]


_APPLY, _REJECT, _SHOW = "Apply", "Reject", "Show diff"

_log = structlog.get_logger(__name__)


def file_changes(request: ActionRequest, root: Path) -> list[FileChange]:
    """The file changes an approval request carries (empty for e.g. a shell command)."""
    if request.files:
        return list(request.files)
    if request.path and request.diff is not None:
        target = root / request.path
        old = target.read_text(encoding="utf-8") if target.is_file() else None
        return [
            FileChange(
                path=request.path, diff=request.diff, old_text=old, new_text=request.new_text
            )
        ]
    return []


class EditorApprovals:
    """Asks the editor's user about file changes the agent proposes."""

    def __init__(
        self,
        server: LanguageServer,
        *,
        root: Path,
        scratch_dir: Path,
        on_applied: OnApplied | None = None,
    ) -> None:
        self._server = server
        self._root = root
        self._scratch = scratch_dir
        self._on_applied = on_applied
        self._hunks = HunkReview(server, root=root, buffers=self._buffer, on_applied=on_applied)

    def _annotations_supported(self) -> bool:
        workspace = self._server.client_capabilities.workspace
        edit = workspace.workspace_edit if workspace else None
        return bool(edit and edit.change_annotation_support is not None)

    def _uri(self, path: str) -> str:
        return (self._root / path).as_uri()

    def _buffer(self, uri: str) -> BufferView | None:
        document = self._server.workspace.text_documents.get(unquote(uri))
        if document is None:
            return None
        return BufferView(uri=uri, version=document.version, text=document.source)

    async def decide(self, request: ActionRequest) -> Decision | None:
        """Ask about a file change.

        Returns None when the request is not a file change, or when the editor cannot be asked:
        the run then waits for ``luminamind.approve`` / ``luminamind.reject``.
        """
        changes = file_changes(request, self._root)
        if not changes:
            return None
        if request.hunks:
            try:
                reviewed = await self._hunks.decide(request)
            except JsonRpcException as exc:
                _log.warning("lsp_hunk_review_unavailable", error=exc.message, tool=request.tool)
                return None
            if reviewed is not None:
                return reviewed
        paths = ", ".join(c.path for c in changes)
        # The buffers as they are now: the edit is built from them, and recorded as applied to them.
        targets = [(c, uri, self._buffer(uri)) for c in changes if (uri := self._uri(c.path))]
        annotate = self._annotations_supported()
        try:
            edit = build_workspace_edit(
                targets, label=f"LuminaMind: {request.tool} {paths}", annotate=annotate
            )
        except EditConflictError as exc:
            self._server.window_show_message(
                lsp.ShowMessageParams(
                    type=lsp.MessageType.Warning,
                    message=f"LuminaMind: cannot apply the change to {paths}: {exc}. Save first.",
                )
            )
            return Decision(
                type="reject",
                message=f"The user has unsaved edits in {paths} that conflict with this change "
                f"({exc}). Ask them to save the file, then read it again before retrying.",
            )
        if not annotate:
            try:
                confirmed = await self._confirm(request, changes, paths)
            except JsonRpcException as exc:
                # The editor cannot ask (it answers window/showMessageRequest with an error):
                # leave the change to the approve / reject commands rather than fail the run.
                _log.warning("lsp_confirm_unavailable", error=exc.message, paths=paths)
                return None
            if not confirmed:
                return Decision(type="reject", message=f"The user rejected the change to {paths}.")
        # The editor may apply something else than what was proposed (VS Code's diff tab has an
        # editable proposal side): when the buffers held exactly what the change was computed
        # from, read them back afterwards and report what they hold if it differs.
        clean = bool(request.hunks) and all(
            b is None or b.text == (c.old_text or "") for c, _, b in targets
        )
        versions = self._hunks.versions(request) if clean else {}
        result = await self._server.workspace_apply_edit_async(
            lsp.ApplyWorkspaceEditParams(edit=edit, label=f"LuminaMind: {request.tool} {paths}")
        )
        # Only buffers can be read back: a file the editor changed without opening it may not
        # be saved yet, and its text on disk would say nothing.
        if (
            result.applied
            and clean
            and request.files
            and all(self._buffer(uri) is not None for _, uri, _ in targets)
        ):
            texts = await self._hunks.texts_after(request, versions)
            if any(texts.get(c.path) != c.new_text for c in request.files):
                if self._on_applied is not None:
                    edits = [EditorEdit(c.path, c.old_text, texts[c.path]) for c in request.files]
                    await self._on_applied(request.tool, [e for e in edits if e.before != e.after])
                return editor_decision(request, read_back(request, texts))
        if result.applied:
            if self._on_applied is not None:
                await self._on_applied(request.tool, applied_texts([(c, b) for c, _, b in targets]))
            return Decision(
                type="respond",
                message=(
                    f"The user reviewed the change to {paths} in the editor and applied it; it is "
                    "done, do not write it again. The file on disk updates when they save."
                ),
            )
        reason = f" ({result.failure_reason})" if result.failure_reason else ""
        return Decision(type="reject", message=f"The user rejected the change to {paths}{reason}.")

    async def _confirm(self, request: ActionRequest, changes: list[FileChange], paths: str) -> bool:
        stats = [_diff_stat(c.diff) for c in changes]
        added, removed = sum(a for a, _ in stats), sum(r for _, r in stats)
        # No final period: Neovim shows the message as a prompt and appends ": " to it.
        question = (
            f"LuminaMind wants to change {paths} (+{added} −{removed} lines) with {request.tool}"
        )
        actions = [_APPLY, _REJECT, _SHOW]
        while True:
            answer = await self._server.window_show_message_request_async(
                lsp.ShowMessageRequestParams(
                    type=lsp.MessageType.Info,
                    message=question,
                    actions=[lsp.MessageActionItem(title=a) for a in actions],
                )
            )
            choice = answer.title if answer is not None else _REJECT
            if choice != _SHOW:
                return choice == _APPLY
            await self._show_diff(request, changes)
            actions = [_APPLY, _REJECT]

    async def _show_diff(self, request: ActionRequest, changes: list[FileChange]) -> None:
        path = self._scratch / f"{request.id}.diff"
        await asyncio.to_thread(_write, path, "".join(c.diff for c in changes))
        window = self._server.client_capabilities.window
        if window is not None and window.show_document is not None:
            await self._server.window_show_document_async(
                lsp.ShowDocumentParams(uri=path.as_uri(), take_focus=True)
            )
        else:
            self._server.window_show_message(
                lsp.ShowMessageParams(type=lsp.MessageType.Info, message=f"Diff: {path}")
            )


def _diff_stat(diff: str) -> tuple[int, int]:
    """Lines added and removed by a one-file unified diff (its ``---``/``+++`` header skipped)."""
    added = removed = 0
    in_hunk = False
    for line in diff.splitlines():
        if line.startswith("@@"):
            in_hunk = True
        elif in_hunk and line.startswith("+"):
            added += 1
        elif in_hunk and line.startswith("-"):
            removed += 1
    return added, removed


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
