"""Drive one agent run for an editor command: progress, edit approvals, the answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException

from luminamind.agent.events import (
    ActionRequest,
    AgentEvent,
    ApprovalRequested,
    Decision,
    ErrorEvent,
    FinalAnswer,
    TextDelta,
)
from luminamind.errors import LuminaError
from luminamind_lsp.answers import show_answer
from luminamind_lsp.approvals import EditorApprovals
from luminamind_lsp.progress import RunProgress
from luminamind_lsp.server import LuminaLanguageServer

__all__ = ["THREAD_BUSY", "run_agent"]

THREAD_BUSY = -32001  # application-defined JSON-RPC error code: the thread already has a run


async def run_agent(
    server: LuminaLanguageServer,
    *,
    thread_id: str,
    title: str,
    message: str | None = None,
    decisions: list[Decision] | None = None,
) -> dict[str, Any]:
    """Run (``message``) or resume (``decisions``) a thread until it ends or needs a human.

    File-change approvals are settled in the editor as they come; approvals of anything else end
    the run with ``status: awaiting_approval`` for ``luminamind.approve`` / ``reject``.
    """
    task = asyncio.current_task()
    if task is None:
        raise RuntimeError("run_agent must run inside a task")
    running = server.runs.get(thread_id)
    if running is not None and not running.done():
        raise JsonRpcException(
            f"thread {thread_id} is busy with another command; cancel it (luminamind.cancel) "
            "or pass another threadId",
            code=THREAD_BUSY,
        )
    server.runs[thread_id] = task
    server.track_request(task)
    service = await server.service()
    settings = server.current_settings()
    approvals = EditorApprovals(
        server, root=settings.workspace, scratch_dir=settings.data_dir / "lsp" / "diffs"
    )
    progress = RunProgress(server, title)
    await progress.begin(task)
    answer: list[str] = []
    try:
        stream: AsyncIterator[AgentEvent] = (
            service.stream(thread_id, message)
            if message is not None
            else service.resume(thread_id, decisions or [])
        )
        while True:
            pending: list[ActionRequest] = []
            final: str | None = None
            async for event in stream:
                progress.report(event)
                if isinstance(event, TextDelta) and event.agent == "main":
                    answer.append(event.text)
                elif isinstance(event, FinalAnswer):
                    final = event.text
                elif isinstance(event, ApprovalRequested):
                    pending = list(event.requests)
                elif isinstance(event, ErrorEvent):
                    progress.end(f"error: {event.message[:120]}")
                    _show(server, lsp.MessageType.Error, f"LuminaMind: {event.message}")
                    return {"threadId": thread_id, "status": "error", "error": event.message}
            if not pending:
                text = final if final is not None else "".join(answer)
                progress.end("done")
                document = await show_answer(
                    server,
                    text=text or "(no answer)",
                    title=title,
                    answers_dir=settings.data_dir / "lsp" / "answers",
                    thread_id=thread_id,
                )
                return {
                    "threadId": thread_id,
                    "status": "completed",
                    "answer": text,
                    "document": document,
                }
            decided = [await approvals.decide(r) for r in pending]
            if any(d is None for d in decided):
                # Something other than a file change (e.g. a shell command): ask via commands.
                progress.end("waiting for approval")
                tools = ", ".join(
                    r.tool for r, d in zip(pending, decided, strict=True) if d is None
                )
                _show(
                    server,
                    lsp.MessageType.Warning,
                    f"LuminaMind wants to run {tools}: use 'LuminaMind: Approve' or 'Reject' "
                    f"(thread {thread_id}).",
                )
                return {
                    "threadId": thread_id,
                    "status": "awaiting_approval",
                    "pending": [r.model_dump(mode="json") for r in pending],
                }
            answer.clear()
            stream = service.resume(thread_id, [d for d in decided if d is not None])
    except asyncio.CancelledError:
        progress.end("cancelled")
        await service.cancel(thread_id)
        raise
    except LuminaError as exc:
        progress.end(f"error: {exc.message[:120]}")
        raise JsonRpcException(exc.message, code=-32000, data=exc.to_dict()) from exc
    finally:
        if server.runs.get(thread_id) is task:
            del server.runs[thread_id]


def _show(server: LuminaLanguageServer, kind: lsp.MessageType, message: str) -> None:
    server.window_show_message(lsp.ShowMessageParams(type=kind, message=message))
