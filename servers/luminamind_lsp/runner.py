"""One agent run for an editor command: progress, edit approvals, the answer.

The run is driven by `luminamind.agent.runs` (the one run driver); this module supplies the
editor's ``on_event`` (``$/progress``) and ``decide`` (file changes go to the editor's diff view)
and turns the `RunOutcome` into the command's JSON result.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException

from luminamind.agent.events import ActionRequest, AgentEvent, Decision
from luminamind.agent.runs import RunOutcome, resume_run, run_turn
from luminamind.errors import LuminaError
from luminamind.rewind.models import EditorEdit
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
) -> dict[str, Any]:  # Any: the command's JSON result
    """Run (``message``) or resume (``decisions``) a thread until it ends or needs a human.

    File-change approvals are settled in the editor as they come; approvals of anything else end
    the run with ``status: awaiting_approval`` for ``luminamind.approve`` / ``reject``. The
    decisions already made in that batch (an edit applied in the editor) are kept on the server
    (`LuminaLanguageServer.settled`) so those commands do not decide them again.
    """
    task = asyncio.current_task()
    if task is None:
        raise RuntimeError("run_agent must run inside a task")
    server.track_request(task)
    service = await server.service()
    settings = server.current_settings()

    async def applied(tool: str, edits: Sequence[EditorEdit]) -> None:
        # The editor made the change, so the tool never ran: the turn records it from here.
        await service.record_editor_edits(thread_id, tool=tool, edits=edits)

    approvals = EditorApprovals(
        server,
        root=settings.workspace,
        scratch_dir=settings.data_dir / "lsp" / "diffs",
        on_applied=applied,
    )
    progress = RunProgress(server, title)
    await progress.begin(task)

    async def on_event(event: AgentEvent) -> None:
        progress.report(event)

    async def decide(requests: Sequence[ActionRequest]) -> list[Decision | None]:
        return [await approvals.decide(r) for r in requests]

    try:
        if message is not None:
            outcome = await run_turn(service, thread_id, message, decide=decide, on_event=on_event)
        else:
            outcome = await resume_run(
                service, thread_id, decisions or [], decide=decide, on_event=on_event
            )
    except asyncio.CancelledError:
        progress.end("cancelled")
        raise
    except LuminaError as exc:
        progress.end(f"error: {exc.message[:120]}")
        raise JsonRpcException(exc.message, code=-32000, data=exc.to_dict()) from exc
    if outcome.status == "awaiting_approval":
        server.settled[thread_id] = dict(outcome.settled)
    else:
        server.settled.pop(thread_id, None)
    return await _result(server, outcome, progress, title=title)


async def _result(
    server: LuminaLanguageServer, outcome: RunOutcome, progress: RunProgress, *, title: str
) -> dict[str, Any]:  # Any: the command's JSON result
    thread_id = outcome.thread_id
    if outcome.status == "cancelled":
        progress.end("cancelled")
        return {"threadId": thread_id, "status": "cancelled"}
    if outcome.status == "error":
        message = outcome.error or "the run failed"
        progress.end(f"error: {message[:120]}")
        if outcome.error_code == "thread_busy":
            raise JsonRpcException(
                f"thread {thread_id} is busy with another command; cancel it (luminamind.cancel) "
                "or pass another threadId",
                code=THREAD_BUSY,
            )
        _show(server, lsp.MessageType.Error, f"LuminaMind: {message}")
        return {"threadId": thread_id, "status": "error", "error": message}
    if outcome.status == "awaiting_approval":
        # Something other than a file change (e.g. a shell command): ask via commands.
        progress.end("waiting for approval")
        waiting = outcome.undecided
        tools = ", ".join(r.tool for r in waiting)
        _show(
            server,
            lsp.MessageType.Warning,
            f"LuminaMind wants to run {tools}: use 'LuminaMind: Approve' or 'Reject' "
            f"(thread {thread_id}).",
        )
        return {
            "threadId": thread_id,
            "status": "awaiting_approval",
            "pending": [r.model_dump(mode="json") for r in waiting],
        }
    text = outcome.answer or ""
    progress.end("done")
    settings = server.current_settings()
    document = await show_answer(
        server,
        text=text or "(no answer)",
        title=title,
        answers_dir=settings.data_dir / "lsp" / "answers",
        thread_id=thread_id,
    )
    return {"threadId": thread_id, "status": "completed", "answer": text, "document": document}


def _show(server: LuminaLanguageServer, kind: lsp.MessageType, message: str) -> None:
    server.window_show_message(lsp.ShowMessageParams(type=kind, message=message))
