"""Hunk-by-hunk decisions -> the answer a paused tool call gets.

A ``review`` decision never reaches LangChain's human-in-the-loop middleware as such. Before the
graph resumes, each one is checked against the proposal as it is *now* (the preview recomputed
from disk) and becomes:

- every hunk accepted as shown: ``approve`` (the tool runs itself, with its own result);
- every hunk rejected: ``reject``, the report (reasons, the hunks) as the message;
- anything else: the kept hunks are written here, atomically, and the call is answered with
  ``respond`` carrying the report (applied, rejected with reasons, edited with their text).

All decisions are checked before any file is written. A file that changed since the proposal
raises `ProposalChangedError`: the service shows the new diff and asks again.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from langgraph.types import Interrupt

from luminamind.agent.events import ActionRequest, Decision, ToolFinished
from luminamind.errors import (
    HunkDecisionError,
    LuminaError,
    ProposalChangedError,
    ProposalNotPendingError,
)
from luminamind.review import (
    Hunk,
    HunkDecision,
    build_report,
    choose,
    final_texts,
    infer_decisions,
    proposal_id,
    split_changes,
    write_selection,
)
from luminamind.tools.context import ToolContext
from luminamind.tools.executor import ToolExecutor
from luminamind.tools.preview import FileChange

__all__ = [
    "approval_value",
    "editor_decision",
    "read_back",
    "review_results",
    "selection_texts",
    "settle_reviews",
]


def approval_value(interrupt: Interrupt) -> dict[str, Any] | None:  # Any: JSON
    """The HITL ``tool_approval`` payload of an interrupt, or None for other interrupts."""
    value = interrupt.value
    if isinstance(value, dict) and value.get("type") == "tool_approval":
        return value
    return None


@dataclass(frozen=True, slots=True)
class _Review:
    tool: str
    arguments: dict[str, Any]  # Any: the tool's JSON arguments
    changes: list[FileChange]
    hunks: list[Hunk]
    decisions: list[HunkDecision]
    chosen: dict[int, str | None]


async def settle_reviews(
    interrupts: Sequence[Interrupt],
    decisions: Sequence[Decision],
    *,
    executor: ToolExecutor,
    context: ToolContext,
) -> list[Decision]:
    """Check every decision against the current proposal, write partial reviews, convert them.

    Raises:
        ProposalNotPendingError: a decision names an action that is not the pending one.
        ProposalChangedError: a file changed since the proposal; nothing was written.
        HunkDecisionError, HunkEditError: the per-hunk decisions do not fit; nothing written.
    """
    pending = [(i, v) for i in interrupts if (v := approval_value(i)) is not None]
    if len(decisions) != len(pending):
        return list(decisions)  # hitl_answers reports the count mismatch
    reviews: list[_Review | None] = []
    for (interrupt, value), decision in zip(pending, decisions, strict=True):
        reviews.append(await _check(interrupt, value, decision, executor, context))
    settled: list[Decision] = []
    for decision, review in zip(decisions, reviews, strict=True):
        settled.append(decision if review is None else await _settle(review, executor, context))
    return settled


async def _check(
    interrupt: Interrupt,
    value: dict[str, Any],  # Any: JSON
    decision: Decision,
    executor: ToolExecutor,
    context: ToolContext,
) -> _Review | None:
    call_id = str(value.get("tool_call_id") or interrupt.id)
    tool = str(value.get("name", ""))
    if decision.action_id is not None and decision.action_id != call_id:
        raise ProposalNotPendingError(
            f"the decision answers action {decision.action_id}, which is no longer pending "
            f"(the pending action is {call_id}, {tool}); look at the thread's pending actions"
        )
    if decision.type != "review" and decision.proposal is None:
        return None
    if decision.type == "review" and (decision.proposal is None or not decision.hunks):
        raise HunkDecisionError(
            "a 'review' decision needs the request's 'proposal' and one decision per hunk"
        )
    args: dict[str, Any] = dict(value.get("args") or {})  # Any: JSON arguments
    try:
        changes = await executor.apreview(tool, args, context=context)
    except LuminaError as exc:
        raise ProposalChangedError(
            f"the {tool} change can no longer be previewed ({exc.message}); nothing was written"
        ) from exc
    if decision.proposal != proposal_id(call_id, changes):
        paths = ", ".join(c.path for c in changes) or tool
        raise ProposalChangedError(
            f"{paths} changed on disk since the change was proposed; nothing was written. "
            "Review the new diff"
        )
    if decision.type != "review":
        return None
    hunks = split_changes(changes)
    assert decision.hunks is not None  # checked above
    chosen = choose(hunks, decision.hunks)
    final_texts(changes, hunks, chosen)  # refuses a partial opaque change before any write
    return _Review(tool, args, changes, hunks, list(decision.hunks), chosen)


async def _settle(review: _Review, executor: ToolExecutor, context: ToolContext) -> Decision:
    actions = {d.action for d in review.decisions}
    if actions == {"accept"}:
        return Decision(type="approve")
    if actions == {"reject"}:
        report = build_report(review.tool, review.hunks, review.decisions, review.chosen)
        return Decision(type="reject", message=report.to_text())
    started = time.perf_counter()
    finals = final_texts(review.changes, review.hunks, review.chosen)
    outcome, error = "reviewed", None
    try:
        async with _recorded(executor, context, review):
            written = await write_selection(context, review.changes, finals, tool=review.tool)
    except LuminaError as exc:
        outcome, error = exc.code, exc.message
        raise
    finally:
        # The write happens outside the tool, so it is audited here, under the tool's name.
        executor.audit.record(
            tool=review.tool,
            arguments=review.arguments,
            outcome=outcome,
            duration_ms=(time.perf_counter() - started) * 1000,
            thread_id=context.thread_id,
            surface=context.surface,
            error=error,
        )
    report = build_report(review.tool, review.hunks, review.decisions, review.chosen, written)
    return Decision(type="respond", message=report.to_text())


def _recorded(
    executor: ToolExecutor, context: ToolContext, review: _Review
) -> AbstractAsyncContextManager[None]:
    """The partial write is recorded for rewind like the tool's own write would have been."""
    if executor.recorder is None or context.thread_id is None:
        return contextlib.nullcontext()
    paths = [change.path for change in review.changes]
    return executor.recorder.recording(context, tool=review.tool, paths=paths)


def review_results(
    interrupts: Sequence[Interrupt],
    given: Sequence[Decision],
    settled: Sequence[Decision],
    *,
    thread_id: str,
) -> list[ToolFinished]:
    """A `ToolFinished` for each review settled without running the tool (written here, or
    every hunk rejected), so surfaces close the call as they would after the tool ran."""
    pending = [(i, v) for i in interrupts if (v := approval_value(i)) is not None]
    events: list[ToolFinished] = []
    for (interrupt, value), before, after in zip(pending, given, settled, strict=False):
        if before.type != "review" or after.type not in ("respond", "reject"):
            continue
        events.append(
            ToolFinished(
                thread_id=thread_id,
                call_id=str(value.get("tool_call_id") or interrupt.id),
                tool=str(value.get("name", "")),
                status="ok" if after.type == "respond" else "error",
                content=(after.message or "")[:4_000],
            )
        )
    return events


# --- editors that apply the change themselves ---------------------------------------------------


def selection_texts(
    request: ActionRequest, decisions: Sequence[HunkDecision]
) -> dict[str, str | None]:
    """Each file's text after ``decisions`` (for an editor to apply to its buffers).

    Raises:
        HunkDecisionError, HunkEditError, ReviewError: as `choose` and `final_texts`.
    """
    chosen = choose(request.hunks, decisions)
    return final_texts(request.files, request.hunks, chosen)


def read_back(request: ActionRequest, texts: dict[str, str | None]) -> list[HunkDecision]:
    """The decisions an editor's buffers show: each hunk as proposed, as before, or changed.

    ``texts`` maps each file of the request to its text after the editor applied what the user
    kept (None: the file is absent); a file missing from ``texts`` is taken as unchanged.
    """
    decisions: list[HunkDecision] = []
    for change in request.files:
        own = [h for h in request.hunks if h.path == change.path]
        final = texts.get(change.path, change.old_text)
        decisions.extend(infer_decisions(change.old_text, own, final).decisions)
    return decisions


def editor_decision(request: ActionRequest, decisions: Sequence[HunkDecision]) -> Decision:
    """The answer for a change the editor applied to its buffers as ``decisions`` say.

    Every hunk rejected: ``reject`` with the report; otherwise ``respond`` with it (the tool
    does not run: the editor has made the change).
    """
    chosen = choose(request.hunks, decisions)
    report = build_report(request.tool, request.hunks, decisions, chosen, in_editor=True)
    kind = "reject" if report.status == "rejected" else "respond"
    return Decision(type=kind, message=report.to_text(), action_id=request.id)
