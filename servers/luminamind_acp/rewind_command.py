"""``/rewind [N]``: undo turn N and every later turn (files and conversation), after asking.

The plan is announced as an ``edit`` tool call whose content is each restored file's diff (its
text now -> its text before the turn; a removed file shows as emptied, ACP's diff has no
"deleted"), and ``session/request_permission`` asks: rewind, rewind leaving the files that
cannot be restored as they are (offered only when there are some), or cancel. Conflicts (files
changed after the agent's edit) are listed and never overwritten. Without a number: the last turn.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from acp.schema import (
    AllowedOutcome,
    FileEditToolCallContent,
    PermissionOption,
    ToolCallLocation,
    ToolCallProgress,
    ToolCallStart,
    ToolCallUpdate,
)

from luminamind.errors import LuminaError
from luminamind.rewind.models import RewindPlan
from luminamind_acp.session import AcpSession

__all__ = ["rewind_command"]

_REWIND = PermissionOption(option_id="rewind", name="Rewind", kind="allow_once")
_LEAVE = PermissionOption(
    option_id="rewind_leave",
    name="Rewind, leaving the files listed as they are",
    kind="allow_once",
)
_CANCEL = PermissionOption(option_id="cancel", name="Cancel", kind="reject_once")


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _summary(plan: RewindPlan) -> str:
    lines = [
        f"Rewind to before turn {plan.turn} (undoing turns "
        f"{', '.join(map(str, plan.turns_undone))}). That turn's message: {plan.message}",
    ]
    for f in plan.files:
        if f.problem is None:
            lines.append(f"- restore `{f.path}` ({f.action})")
        else:
            lines.append(f"- **{f.problem}** `{f.path}`: {f.reason}")
    if not plan.files:
        lines.append("- no file to restore; only the conversation goes back")
    return "\n".join(lines)


async def rewind_command(session: AcpSession, argument: str) -> None:
    """Show the plan, ask through ``session/request_permission``, then rewind."""
    if argument and not argument.isdigit():
        await session.message("Usage: `/rewind [TURN]` (a turn number; the last by default).")
        return
    turn = int(argument) if argument else None
    try:
        plan, texts = await session.service.restore_texts(session.thread_id, turn=turn)
    except LuminaError as exc:
        await session.message(f"Cannot rewind: {exc.message}")
        return
    root = session.service.runtime.context.workspace
    diffs = []
    for path, text in texts.items():
        target = root.resolve(path, write=True)
        diffs.append(
            FileEditToolCallContent(
                type="diff", path=str(target), old_text=_read(target), new_text=text or ""
            )
        )
    call_id = f"rewind-{uuid.uuid4().hex[:8]}"
    title = f"Rewind to before turn {plan.turn}"
    locations = [ToolCallLocation(path=str(root.resolve(f.path))) for f in plan.files]
    await session.message(_summary(plan) + "\n")
    await session.send(
        ToolCallStart(
            session_update="tool_call",
            tool_call_id=call_id,
            title=title,
            kind="edit",
            status="pending",
            content=list(diffs),
            locations=locations,
        )
    )
    options = [_REWIND, *([_LEAVE] if plan.problems else []), _CANCEL]
    response = await session.client.request_permission(
        session_id=session.session_id,
        tool_call=ToolCallUpdate(tool_call_id=call_id, title=title, kind="edit", status="pending"),
        options=options,
    )
    outcome = response.outcome
    chosen = outcome.option_id if isinstance(outcome, AllowedOutcome) else "cancel"
    if chosen not in {o.option_id for o in options} or chosen == "cancel":
        await _finish(session, call_id, "failed")
        await session.message("Rewind cancelled; nothing changed.")
        return
    try:
        result = await session.service.rewind(
            session.thread_id, turn=plan.turn, partial=chosen == "rewind_leave"
        )
    except LuminaError as exc:
        await _finish(session, call_id, "failed")
        await session.message(f"Nothing changed: {exc.message}")
        return
    await _finish(session, call_id, "completed")
    left = "".join(f"\n- left as it is: `{f.path}` ({f.reason})" for f in result.left)
    restored = ", ".join(f"`{p}`" for p in result.restored) or "no file"
    await session.message(
        f"Rewound: restored {restored}; the thread is back at the start of turn {result.turn}."
        f"{left}\nIts message was: {result.message}"
    )


async def _finish(session: AcpSession, call_id: str, status: str) -> None:
    await session.send(
        ToolCallProgress(session_update="tool_call_update", tool_call_id=call_id, status=status)
    )
