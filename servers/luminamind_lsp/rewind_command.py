"""``luminamind.rewind``: go back to before a turn, confirmed as a WorkspaceEdit in the editor.

The restore is sent as one ``workspace/applyEdit`` whose edits carry a ``needsConfirmation``
change annotation, so VS Code shows it in its refactor preview (a diff per file) and applies
nothing until the user accepts. Conflicts (files changed after the agent's edit) and files that
cannot be restored are left out of the edit and shown in a message: never overwritten. Once the
editor has applied the edit the server restores the files on disk too (what the agent reads
next; a file the editor already saved is left alone) and moves the thread back to the turn.
Declining changes nothing.

Argument: ``{"threadId"?: str, "turn"?: int, "uri"?: str}`` (without ``threadId``: the folder's
thread; without ``turn``: the last one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote

from lsprotocol import types as lsp
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams

from luminamind.errors import LuminaError, format_validation_errors
from luminamind.tools.preview import FileChange, unified_diff
from luminamind_lsp.commands import counted_command
from luminamind_lsp.edits import BufferView, EditConflictError, build_workspace_edit
from luminamind_lsp.server import LuminaLanguageServer

__all__ = ["REWIND_COMMANDS", "register_rewind_command"]

REWIND_COMMANDS = ("luminamind.rewind",)


class _RewindArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    thread_id: str | None = Field(default=None, alias="threadId", min_length=1)
    turn: int | None = Field(default=None, ge=1)
    uri: str | None = None


def _parse(args: tuple[Any, ...]) -> _RewindArgs:
    if len(args) > 1 or (args and not isinstance(args[0], dict)):
        raise JsonRpcInvalidParams(
            'luminamind.rewind takes one object argument: {"threadId"?: str, "turn"?: int}'
        )
    try:
        return _RewindArgs.model_validate(args[0] if args else {})
    except ValidationError as exc:
        text, _ = format_validation_errors(exc.errors(include_url=False))
        raise JsonRpcInvalidParams(f"luminamind.rewind: invalid argument: {text}") from None


def _buffer(ls: LuminaLanguageServer, uri: str) -> BufferView | None:
    document = ls.workspace.text_documents.get(unquote(uri))
    if document is None:
        return None
    return BufferView(uri=uri, version=document.version, text=document.source)


def _disk_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError, UnicodeDecodeError):
        return None


def _annotations_supported(ls: LuminaLanguageServer) -> bool:
    workspace = ls.client_capabilities.workspace
    edit = workspace.workspace_edit if workspace else None
    return bool(edit and edit.change_annotation_support is not None)


async def rewind(ls: LuminaLanguageServer, *args: Any) -> dict[str, Any]:  # Any: JSON
    """Plan, ask through the editor's preview, then restore and move the thread back."""
    parsed = _parse(args)
    thread = parsed.thread_id or ls.default_thread(parsed.uri)
    service = await ls.service()
    try:
        plan, texts = await service.restore_texts(thread, turn=parsed.turn)
    except LuminaError as exc:
        raise JsonRpcException(exc.message, code=-32000, data=exc.to_dict()) from exc
    root = service.runtime.context.workspace
    keep: list[str] = []
    changes: list[tuple[FileChange, str, BufferView | None]] = []
    for path, text in texts.items():
        target = root.resolve(path, write=True)
        uri = target.as_uri()
        current = _disk_text(target)
        change = FileChange(
            path=path, diff=unified_diff(path, current, text), old_text=current, new_text=text
        )
        changes.append((change, uri, _buffer(ls, uri)))
    edit: lsp.WorkspaceEdit | None = None
    while changes:
        try:
            edit = build_workspace_edit(
                changes,
                label=f"LuminaMind: rewind to before turn {plan.turn}",
                annotate=_annotations_supported(ls),
            )
            break
        except EditConflictError:
            # A buffer with unsaved edits over the same lines: that file is a conflict too.
            for index, (change, uri, buffer) in enumerate(changes):
                if buffer is not None:
                    try:
                        build_workspace_edit([(change, uri, buffer)], label="", annotate=False)
                    except EditConflictError:
                        keep.append(change.path)
                        del changes[index]
                        break
            else:  # pragma: no cover - the loop above always finds the buffer in conflict
                raise
    problems = [*plan.problems, *(f for f in plan.files if f.path in keep)]
    if problems:
        ls.window_show_message(
            lsp.ShowMessageParams(
                type=lsp.MessageType.Warning,
                message="Left as they are (never overwritten): "
                + "; ".join(
                    f"{f.path}: {f.reason or 'unsaved edits in the editor'}" for f in problems
                ),
            )
        )
    if edit is None:
        # Nothing for the preview to show: ask plainly before the conversation goes back.
        choice = await ls.window_show_message_request_async(
            lsp.ShowMessageRequestParams(
                type=lsp.MessageType.Info,
                message=f"Rewind thread {thread} to before turn {plan.turn} ({plan.message})?",
                actions=[
                    lsp.MessageActionItem(title="Rewind"),
                    lsp.MessageActionItem(title="Cancel"),
                ],
            )
        )
        if choice is None or choice.title != "Rewind":
            return {"threadId": thread, "status": "declined", "plan": plan.model_dump(mode="json")}
    else:
        answer = await ls.workspace_apply_edit_async(
            lsp.ApplyWorkspaceEditParams(
                edit=edit, label=f"LuminaMind: rewind to before turn {plan.turn}"
            )
        )
        if not answer.applied:
            return {"threadId": thread, "status": "declined", "plan": plan.model_dump(mode="json")}
    try:
        result = await service.rewind(thread, turn=plan.turn, partial=True, keep=keep)
    except LuminaError as exc:
        raise JsonRpcException(exc.message, code=-32000, data=exc.to_dict()) from exc
    return {
        "threadId": thread,
        "status": "rewound",
        "plan": plan.model_dump(mode="json"),
        "result": result.model_dump(mode="json"),
    }


def register_rewind_command(server: LuminaLanguageServer) -> None:
    """Attach ``luminamind.rewind`` to ``server``."""
    server.command("luminamind.rewind")(counted_command("luminamind.rewind", rewind))
