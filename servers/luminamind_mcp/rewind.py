"""``rewind_thread``: undo a turn's file changes and go back to it, approved through elicitation.

The plan (files restored, conflicts with their diff, files that cannot be restored) is shown in
an elicitation form before anything changes. Conflicts and unrestorable files stop the rewind
unless the user ticks "leave them as they are" (or "overwrite the conflicts"). A client that
cannot be asked gets ``awaiting_confirmation`` with the plan and calls again with
``confirm: true`` once its user has agreed: a rewind is never applied unattended.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

from mcp.shared.exceptions import MCPError
from pydantic import BaseModel, ConfigDict, Field

from luminamind.rewind.models import RewindPlan, RewindResult
from luminamind_mcp.approval import Asker

__all__ = ["RewindOutcome", "RewindService", "RewindThreadArgs", "rewind_thread"]

_MAX_DIFF_CHARS = 20_000


class RewindService(Protocol):
    """What ``rewind_thread`` uses of the agent service."""

    async def plan_rewind(self, thread_id: str, *, turn: int | None = None) -> RewindPlan:
        """What the rewind would do."""
        ...

    async def rewind(
        self,
        thread_id: str,
        *,
        turn: int | None = None,
        overwrite: bool = False,
        partial: bool = False,
    ) -> RewindResult:
        """Do it."""
        ...


class RewindThreadArgs(BaseModel):
    """Arguments of ``rewind_thread``."""

    model_config = ConfigDict(extra="forbid")

    thread_id: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$", description="The thread to rewind."
    )
    turn: int | None = Field(
        default=None,
        ge=1,
        description="Go back to before this turn (default: the last). get_thread lists turns.",
    )
    confirm: bool = Field(
        default=False,
        description="For clients without elicitation: the user saw the plan and agreed.",
    )
    partial: bool = Field(
        default=False,
        description="With confirm: leave conflicts and unrestorable files, restore the rest.",
    )
    overwrite: bool = Field(
        default=False, description="With confirm: restore files changed after the agent too."
    )


class RewindOutcome(BaseModel):
    """What ``rewind_thread`` did."""

    status: Literal["rewound", "declined", "awaiting_confirmation"]
    plan: RewindPlan
    result: RewindResult | None = None


def plan_message(plan: RewindPlan) -> str:
    """The elicitation's text: the turns undone and each file, with diffs."""
    lines = [
        f"Rewind thread {plan.thread_id} to before turn {plan.turn} "
        f"(undoing turns {', '.join(map(str, plan.turns_undone))}).",
        f"That turn's message: {plan.message}",
        "",
    ]
    if not plan.files:
        lines.append("No file to restore; only the conversation goes back.")
    diffs = ""
    for f in plan.files:
        if f.problem is None:
            lines.append(f"- restore {f.path} ({f.action})")
        else:
            lines.append(f"- {f.problem.upper()} {f.path}: {f.reason}")
        if f.diff:
            diffs += f.diff
    if diffs:
        if len(diffs) > _MAX_DIFF_CHARS:
            diffs = diffs[:_MAX_DIFF_CHARS] + "\n… (cut)\n"
        lines += ["", "```diff", diffs.rstrip("\n"), "```"]
    if plan.problems:
        lines += [
            "",
            "Some files cannot be restored as they are. Tick 'leave them' to restore the others "
            "and leave these untouched, or 'overwrite' to restore conflicting files anyway.",
        ]
    lines += ["", "Accept to rewind, decline to change nothing."]
    return "\n".join(lines)


def plan_schema(plan: RewindPlan) -> dict[str, Any]:  # Any: JSON Schema
    """The form: empty, or the two choices a plan with problems needs."""
    properties: dict[str, Any] = {}  # Any: JSON Schema
    if plan.problems:
        properties["leave_problem_files"] = {
            "type": "boolean",
            "title": "Leave the files listed as problems as they are; restore the others",
            "default": False,
        }
    if any(f.problem == "conflict" for f in plan.files):
        properties["overwrite_conflicts"] = {
            "type": "boolean",
            "title": "Overwrite files changed after the agent's edit",
            "default": False,
        }
    return {"type": "object", "properties": properties}


async def rewind_thread(
    service: RewindService, args: RewindThreadArgs, asker: Asker
) -> RewindOutcome:
    """Plan, ask (or require ``confirm``), then rewind.

    Raises:
        LuminaError: no such thread or turn, a running thread, another workspace, or problems
            the user did not agree to (nothing changed).
    """
    plan = await service.plan_rewind(args.thread_id, turn=args.turn)
    if asker.available:
        try:
            answer = await asker.aform(plan_message(plan), plan_schema(plan))
        except MCPError:
            return RewindOutcome(status="awaiting_confirmation", plan=plan)
        if answer.action != "accept":
            return RewindOutcome(status="declined", plan=plan)
        content = answer.content or {}
        partial = content.get("leave_problem_files") is True
        overwrite = content.get("overwrite_conflicts") is True
    elif args.confirm:
        partial, overwrite = args.partial, args.overwrite
    else:
        return RewindOutcome(status="awaiting_confirmation", plan=plan)
    result = await service.rewind(
        args.thread_id, turn=plan.turn, overwrite=overwrite, partial=partial
    )
    return RewindOutcome(status="rewound", plan=plan, result=result)
