"""Hunk-by-hunk review of a proposed change in the editor, three ways by what the editor can do.

1. The LuminaMind Neovim plugin (``experimental.luminamind.hunkReview`` in its capabilities):
   the server sends ``luminamind/reviewHunks`` with every hunk; the plugin asks accept / reject /
   edit per hunk (with "all" shortcuts) and answers with the decisions.
2. Editors with change annotations (VS Code's refactor preview): one ``workspace/applyEdit`` in
   which every hunk has its own annotation (``needsConfirmation``), so each is a checkbox. The
   editor applies what stays ticked; the server reads the buffers back to learn which hunks
   they hold (`read_back`), including any the user changed.
3. Other editors (Helix, Emacs, plain Neovim): ``window/showMessageRequest`` per hunk for up to
   `MAX_ASKED_HUNKS` hunks (Accept / Reject / Accept the rest / Reject the rest); beyond that the
   whole-change question of `EditorApprovals`.

In 1 and 3 the kept hunks are then sent as a plain ``workspace/applyEdit`` (rebased onto unsaved
buffers). In every case the editor applies the change and the agent gets the review report as
the tool's result (`editor_decision`); nothing is written to disk by the server. What the
editor applied goes to ``on_applied`` (texts before and after), recorded for rewind.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import structlog
from lsprotocol import types as lsp
from pydantic import BaseModel, ValidationError
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer

from luminamind.agent.events import ActionRequest, Decision, Hunk, HunkDecision
from luminamind.agent.review import editor_decision, read_back, selection_texts
from luminamind.errors import LuminaError
from luminamind.review.hunks import split_lines
from luminamind.rewind.models import EditorEdit
from luminamind.tools.preview import FileChange, unified_diff
from luminamind_lsp.edits import (
    BufferView,
    EditConflictError,
    applied_texts,
    build_workspace_edit,
)

__all__ = [
    "MAX_ASKED_HUNKS",
    "REVIEW_METHOD",
    "HunkReview",
    "OnApplied",
    "hunk_workspace_edit",
]

REVIEW_METHOD = "luminamind/reviewHunks"
# One question per hunk is fine for a handful; past that the whole-change question is kinder.
MAX_ASKED_HUNKS = 5
# After the editor says it applied the edit, how long its didChange may take to arrive.
_SETTLE_SECONDS = 1.0
_ACCEPT, _REJECT, _ACCEPT_REST, _REJECT_REST = (
    "Accept",
    "Reject",
    "Accept the rest",
    "Reject the rest",
)

_log = structlog.get_logger(__name__)

BufferLookup = Callable[[str], BufferView | None]
OnApplied = Callable[[str, Sequence[EditorEdit]], Awaitable[None]]
"""Told ``(tool, edits)`` once the editor applied a change (`AgentService.record_editor_edits`)."""


class _PluginAnswer(BaseModel):
    decisions: list[HunkDecision] | None = None


def hunk_workspace_edit(
    request: ActionRequest, *, root: Path, buffers: BufferLookup
) -> lsp.WorkspaceEdit | None:
    """One edit whose every hunk carries its own ``needsConfirmation`` annotation.

    Returns None when per-hunk annotations cannot express the change (an opaque change, or an
    open buffer with unsaved edits: then the whole-change route rebases it).
    """
    operations: list[lsp.TextDocumentEdit | lsp.CreateFile | lsp.RenameFile | lsp.DeleteFile] = []
    annotations: dict[str, lsp.ChangeAnnotation] = {}
    for change in request.files:
        uri = (root / change.path).as_uri()
        buffer = buffers(uri)
        if buffer is not None and buffer.text != (change.old_text or ""):
            return None
        version = buffer.version if buffer is not None else None
        edits: list[lsp.TextEdit | lsp.AnnotatedTextEdit | lsp.SnippetTextEdit] = []
        for hunk in (h for h in request.hunks if h.path == change.path):
            if hunk.kind == "opaque":
                return None
            annotation = f"luminamind.hunk.{hunk.index}"
            annotations[annotation] = lsp.ChangeAnnotation(
                label=f"Hunk {hunk.index}: {hunk.path} {hunk.header}",
                needs_confirmation=True,
                description=hunk.diff[:2_000],
            )
            if hunk.kind == "delete":
                options = lsp.DeleteFileOptions(ignore_if_not_exists=True)
                operations.append(
                    lsp.DeleteFile(uri=uri, options=options, annotation_id=annotation)
                )
                continue
            if hunk.kind == "create" and buffer is None:
                options_c = lsp.CreateFileOptions(ignore_if_exists=True)
                operations.append(
                    lsp.CreateFile(uri=uri, options=options_c, annotation_id=annotation)
                )
            edits.extend(
                lsp.AnnotatedTextEdit(range=rng, new_text=text, annotation_id=annotation)
                for rng, text in _hunk_edits(hunk)
            )
        if edits:
            document = lsp.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version)
            operations.append(lsp.TextDocumentEdit(text_document=document, edits=edits))
    return lsp.WorkspaceEdit(document_changes=operations, change_annotations=annotations)


def _hunk_edits(hunk: Hunk) -> list[tuple[lsp.Range, str]]:
    """The hunk as whole-line replacements, placed at its lines in the file."""
    before = split_lines(hunk.old)
    after = split_lines(hunk.new)
    # The common lines at both ends (context) are left alone; the rest is one replacement.
    head = 0
    while head < min(len(before), len(after)) and before[head] == after[head]:
        head += 1
    tail = 0
    while (
        tail < min(len(before), len(after)) - head
        and before[len(before) - 1 - tail] == after[len(after) - 1 - tail]
    ):
        tail += 1
    start = _position(before, head, hunk.offset)
    end = _position(before, len(before) - tail, hunk.offset)
    return [(lsp.Range(start=start, end=end), "".join(after[head : len(after) - tail]))]


def _position(lines: Sequence[str], index: int, offset: int) -> lsp.Position:
    # Past a last line without an ending: the end of that line, in UTF-16 code units.
    if index >= len(lines) and lines and not lines[-1].endswith(("\n", "\r")):
        last = lines[-1]
        return lsp.Position(
            line=offset + len(lines) - 1, character=len(last.encode("utf-16-le")) // 2
        )
    return lsp.Position(line=offset + index, character=0)


class HunkReview:
    """Asks about each hunk of a change in the editor; returns the agent's answer."""

    def __init__(
        self,
        server: LanguageServer,
        *,
        root: Path,
        buffers: BufferLookup,
        on_applied: OnApplied | None = None,
    ) -> None:
        self._server = server
        self._root = root
        self._buffers = buffers
        self._on_applied = on_applied

    def _experimental(self) -> dict[str, Any]:  # Any: JSON
        experimental = self._server.client_capabilities.experimental
        if isinstance(experimental, dict):
            own = experimental.get("luminamind")
            if isinstance(own, dict):
                return own
        return {}

    def _annotations_supported(self) -> bool:
        workspace = self._server.client_capabilities.workspace
        edit = workspace.workspace_edit if workspace else None
        return bool(edit and edit.change_annotation_support is not None)

    async def decide(self, request: ActionRequest) -> Decision | None:
        """The answer for ``request``, or None to use the whole-change question instead.

        Raises:
            JsonRpcException: the editor failed a request (the caller decides what to do).
        """
        if len(request.hunks) < 2 or not request.proposal:
            return None
        try:
            if self._experimental().get("hunkReview"):
                decisions = await self._ask_plugin(request)
            elif self._annotations_supported():
                return await self._preview(request)
            elif len(request.hunks) <= MAX_ASKED_HUNKS:
                decisions = await self._ask_each(request)
            else:
                return None
            if decisions is None:
                return Decision(type="reject", message="The user dismissed the review.")
            return await self._apply(request, decisions)
        except LuminaError as exc:
            # An edited hunk that no longer applies, a bad answer: the user is told, the agent
            # is told nothing was changed.
            self._server.window_show_message(
                lsp.ShowMessageParams(
                    type=lsp.MessageType.Error, message=f"LuminaMind: {exc.message}"
                )
            )
            return Decision(
                type="reject",
                message=f"The review of the change could not be applied ({exc.message}); "
                "nothing was changed.",
            )

    async def _ask_plugin(self, request: ActionRequest) -> list[HunkDecision] | None:
        params = {
            "id": request.id,
            "tool": request.tool,
            "notice": request.notice,
            "hunks": [{**h.model_dump(mode="json"), "editable": h.editable} for h in request.hunks],
        }
        raw = await self._server.protocol.send_request_async(REVIEW_METHOD, params)
        try:
            answer = _PluginAnswer.model_validate(_plain(raw) or {})
        except ValidationError as exc:
            raise JsonRpcException(f"{REVIEW_METHOD}: bad answer: {exc}") from exc
        return answer.decisions

    async def _ask_each(self, request: ActionRequest) -> list[HunkDecision]:
        decisions: list[HunkDecision] = []
        rest: str | None = None
        total = len(request.hunks)
        for hunk in request.hunks:
            choice = rest
            if choice is None:
                answer = await self._server.window_show_message_request_async(
                    lsp.ShowMessageRequestParams(
                        type=lsp.MessageType.Info,
                        message=_question(hunk, total, request.tool),
                        actions=[
                            lsp.MessageActionItem(title=t)
                            for t in (_ACCEPT, _REJECT, _ACCEPT_REST, _REJECT_REST)
                        ],
                    )
                )
                choice = answer.title if answer is not None else _REJECT_REST
                if choice in (_ACCEPT_REST, _REJECT_REST):
                    rest = choice
            action = "accept" if choice in (_ACCEPT, _ACCEPT_REST) else "reject"
            decisions.append(HunkDecision(hunk=hunk.index, action=action))
        return decisions

    async def _apply(self, request: ActionRequest, decisions: list[HunkDecision]) -> Decision:
        texts = selection_texts(request, decisions)
        kept = [
            FileChange(
                path=c.path,
                diff=unified_diff(c.path, c.old_text, texts[c.path]),
                old_text=c.old_text,
                new_text=texts[c.path],
            )
            for c in request.files
            if texts[c.path] != c.old_text
        ]
        if kept:
            targets = [(c, uri, self._buffers(uri)) for c in kept if (uri := self._uri(c.path))]
            try:
                edit = build_workspace_edit(
                    targets, label=f"LuminaMind: {request.tool}", annotate=False
                )
            except EditConflictError as exc:
                return Decision(
                    type="reject",
                    message=f"The user has unsaved edits that conflict with the kept hunks "
                    f"({exc}); nothing was changed. Ask them to save, then read the file again.",
                )
            result = await self._server.workspace_apply_edit_async(
                lsp.ApplyWorkspaceEditParams(edit=edit, label=f"LuminaMind: {request.tool}")
            )
            if not result.applied:
                reason = f" ({result.failure_reason})" if result.failure_reason else ""
                return Decision(
                    type="reject", message=f"The editor did not apply the kept hunks{reason}."
                )
            await self._applied(request.tool, [(c, b) for c, _, b in targets])
        return editor_decision(request, decisions)

    def _uri(self, path: str) -> str:
        return (self._root / path).as_uri()

    async def _applied(
        self, tool: str, changes: Sequence[tuple[FileChange, BufferView | None]]
    ) -> None:
        if self._on_applied is None:
            return
        await self._on_applied(tool, applied_texts(changes))

    async def _preview(self, request: ActionRequest) -> Decision | None:
        edit = hunk_workspace_edit(request, root=self._root, buffers=self._buffers)
        if edit is None:
            return None
        versions = self.versions(request)
        result = await self._server.workspace_apply_edit_async(
            lsp.ApplyWorkspaceEditParams(edit=edit, label=f"LuminaMind: {request.tool}")
        )
        if not result.applied:
            reason = f" ({result.failure_reason})" if result.failure_reason else ""
            return Decision(type="reject", message=f"The user rejected the change{reason}.")
        texts = await self.texts_after(request, versions)
        if self._on_applied is not None:
            # The buffers held the proposal's old text (or the files were closed): that is before.
            edits = [EditorEdit(c.path, c.old_text, texts[c.path]) for c in request.files]
            await self._on_applied(request.tool, [e for e in edits if e.before != e.after])
        return editor_decision(request, read_back(request, texts))

    def versions(self, request: ActionRequest) -> dict[str, int | None]:
        """Each file's buffer version before an edit is sent (None: not open)."""
        return {
            c.path: (b.version if (b := self._buffers(self._uri(c.path))) else None)
            for c in request.files
        }

    async def texts_after(
        self, request: ActionRequest, versions: dict[str, int | None]
    ) -> dict[str, str | None]:
        """Each file's text once the editor applied an edit sent at ``versions`` (`read_back`)."""
        return {
            c.path: await self._settled(
                self._uri(c.path), versions.get(c.path), c.path, c.old_text or ""
            )
            for c in request.files
        }

    async def _settled(self, uri: str, version: int | None, path: str, old: str) -> str | None:
        """A file's text once the editor's didChange for the applied edit has arrived.

        A buffer that was not open when the edit was sent (VS Code's extension opens it to show
        the diff) has no version to compare: its text leaving ``old`` is the sign instead.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _SETTLE_SECONDS
        while True:
            buffer = self._buffers(uri)
            changed = buffer is not None and (
                buffer.text != old if version is None else buffer.version != version
            )
            if changed or loop.time() >= deadline:
                break
            await asyncio.sleep(0.02)
        if buffer is not None:
            return buffer.text
        # Not open in the editor: it applied the edit to the file (VS Code saves such files).
        target = self._root / path
        return await asyncio.to_thread(_read_or_none, target)


def _plain(value: Any) -> Any:  # Any: JSON
    """pygls hands untyped results over as named tuples (``Object``); back to plain JSON."""
    if hasattr(value, "_asdict"):
        return {k: _plain(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _read_or_none(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError):
        return None


def _question(hunk: Hunk, total: int, tool: str) -> str:
    changed = [line.rstrip("\n") for line in split_lines(hunk.diff)[1:] if line[:1] in "+-"]
    shown = "; ".join(changed[:4]) + (" …" if len(changed) > 4 else "")
    # No final period: Neovim shows the message as a prompt and appends ": " to it.
    return (
        f"LuminaMind {tool}: hunk {hunk.index}/{total} in {hunk.path} {hunk.header} "
        f"(+{hunk.added} −{hunk.removed}): {shown}"
    )
