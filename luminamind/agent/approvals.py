"""Approvals: pending interrupts -> `ActionRequest`s (with diffs), `Decision`s -> HITL answers.

The graph pauses with one LangChain ``tool_approval`` interrupt per gated tool call (the main
agent's or a subagent's). Surfaces see `ActionRequest`s, in the order of the interrupts, whose
``id`` is the model's tool call id; for file tools they carry the preview the executor computes
without writing (unified diff, new text, every file touched). Decisions answer them by position.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langgraph.types import Interrupt

from luminamind.agent.events import ActionRequest, Decision
from luminamind.agent.review import approval_value
from luminamind.errors import LuminaError, ToolArgumentsError
from luminamind.observability.metrics import get_metrics
from luminamind.review import proposal_id, split_changes
from luminamind.tools.context import ToolContext
from luminamind.tools.executor import ToolExecutor
from luminamind.tools.shell import sandbox_note

__all__ = ["InvalidDecisionError", "action_requests", "hitl_answers"]

_METRIC_DECISION = {
    "approve": "approved",
    "edit": "edited",
    "reject": "rejected",
    "respond": "responded",
    "review": "reviewed",
}


class InvalidDecisionError(LuminaError):
    """The decisions do not fit the pending actions (count, type, edited arguments)."""

    code = "invalid_decision"


async def action_requests(
    interrupts: Sequence[Interrupt],
    *,
    executor: ToolExecutor,
    context: ToolContext,
    count_metric: bool = True,
) -> list[ActionRequest]:
    """The pending tool calls as surfaces show them, with file previews."""
    requests: list[ActionRequest] = []
    for interrupt in interrupts:
        value = approval_value(interrupt)
        if value is None:
            continue
        tool = str(value.get("name", ""))
        args = value.get("args") or {}
        request = ActionRequest(
            id=str(value.get("tool_call_id") or interrupt.id),
            tool=tool,
            arguments=args,
            description=str(value.get("description") or ""),
            allowed_decisions=["approve", "edit", "reject", "respond"],
        )
        if tool == "shell" and (note := sandbox_note(context.settings.shell)):
            request.description += f"\n({note})"
        if tool in executor.registry:
            try:
                changes = await executor.apreview(tool, args, context=context)
            except LuminaError as exc:
                # The call would fail anyway; say so instead of showing no diff.
                request.description += f"\n(no preview: {exc.message})"
            else:
                if changes:
                    first = changes[0]
                    request.path = first.path
                    request.new_text = first.new_text
                    request.diff = "".join(c.diff for c in changes)
                    request.files = list(changes)
                    request.hunks = split_changes(changes)
                    request.proposal = proposal_id(request.id, changes)
                    request.allowed_decisions = [*request.allowed_decisions, "review"]
        if count_metric:
            label = tool if tool in executor.registry else "unknown"
            get_metrics().approvals_total.labels(label, "requested").inc()
        requests.append(request)
    return requests


def hitl_answers(
    interrupts: Sequence[Interrupt],
    decisions: Sequence[Decision],
    *,
    executor: ToolExecutor,
) -> dict[str, dict[str, Any]]:  # Any: HITL decision JSON
    """``Command(resume=...)`` mapping interrupt id -> LangChain decision, by position.

    Raises:
        InvalidDecisionError: a decision is missing or extra, an edit has no or invalid
            arguments, or a respond has no message. Nothing is resumed then.
    """
    pending = [(i, v) for i in interrupts if (v := approval_value(i)) is not None]
    if len(decisions) != len(pending):
        raise InvalidDecisionError(
            f"{len(pending)} action(s) wait for a decision but {len(decisions)} were given; "
            "give one decision per pending action, in order"
        )
    answers: dict[str, dict[str, Any]] = {}
    for (interrupt, value), decision in zip(pending, decisions, strict=True):
        tool = str(value.get("name", ""))
        answer: dict[str, Any]  # Any: HITL decision JSON
        if decision.type == "review":
            # settle_reviews turns reviews into the other four before the graph resumes.
            raise InvalidDecisionError(f"the hunk review of {tool} was not settled")
        if decision.type == "approve":
            answer = {"type": "approve"}
        elif decision.type == "edit":
            if decision.arguments is None:
                raise InvalidDecisionError(f"the edit of {tool} needs the changed 'arguments'")
            try:
                executor.validate(tool, decision.arguments)
            except ToolArgumentsError as exc:
                raise InvalidDecisionError(f"edited arguments: {exc.message}") from exc
            answer = {"type": "edit", "edited_action": {"name": tool, "args": decision.arguments}}
        elif decision.type == "reject":
            answer = {"type": "reject"}
            if decision.message:
                answer["message"] = decision.message
        else:
            if not decision.message:
                raise InvalidDecisionError(f"a 'respond' decision for {tool} needs a 'message'")
            answer = {"type": "respond", "message": decision.message}
        answers[interrupt.id] = answer
        label = tool if tool in executor.registry else "unknown"
        get_metrics().approvals_total.labels(label, _METRIC_DECISION[decision.type]).inc()
    return answers
