"""Approvals as ``session/request_permission``: one request per pending tool call, with its diff.

Everything an ACP session decides about a pending action lives here, so hunk-by-hunk review can
extend it in one place:

- the session's mode answers first: *plan* rejects every change (read-only), *accept edits*
  approves file edits without asking (commands still ask);
- then what the user chose "always" for this tool in this session (`SessionGrants`);
- a change of 2 to 5 hunks is asked hunk by hunk (``hunks.py``: one request per hunk);
- else the editor is asked with the four ACP options. ``allow_always`` / ``reject_always`` are
  remembered for the session, per tool. A rejection reaches the model as the user's decision.
  An answer naming an option that was never offered is refused as a rejection (nothing runs,
  the model and the user are told). A ``cancelled`` outcome cancels the turn: the action stays
  pending and nothing is written.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import structlog
from acp.schema import (
    AllowedOutcome,
    PermissionOption,
    RequestPermissionResponse,
    ToolCallUpdate,
)

from luminamind.agent.events import ActionRequest, Decision
from luminamind_acp.hunks import ask_hunks, wants_hunks
from luminamind_acp.modes import ModeId, changes_files
from luminamind_acp.toolcalls import ToolCallView

__all__ = [
    "OPTIONS",
    "Asker",
    "PermissionAnswer",
    "SessionGrants",
    "decide_one",
    "decision_for",
]

_log = structlog.get_logger(__name__)

# Offered on every request; the option ids are the ACP kinds, so a client needs no lookup table.
OPTIONS: tuple[PermissionOption, ...] = (
    PermissionOption(option_id="allow_once", name="Allow", kind="allow_once"),
    PermissionOption(option_id="allow_always", name="Always allow this tool", kind="allow_always"),
    PermissionOption(option_id="reject_once", name="Reject", kind="reject_once"),
    PermissionOption(
        option_id="reject_always", name="Always reject this tool", kind="reject_always"
    ),
)
_OPTION_IDS = {o.option_id for o in OPTIONS}

Asker = Callable[[ToolCallUpdate, Sequence[PermissionOption]], Awaitable[RequestPermissionResponse]]
"""Sends ``session/request_permission`` for the session and returns the client's answer."""


@dataclass
class SessionGrants:
    """What the user chose "always" for, per tool, for the life of the session."""

    always: dict[str, Literal["allow", "reject"]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PermissionAnswer:
    """One request's outcome: a decision, or None when the user cancelled the turn."""

    decision: Decision | None
    notice: str | None = None


def decision_for(request: ActionRequest, option_id: str, grants: SessionGrants) -> PermissionAnswer:
    """The `Decision` an option id stands for (remembering the "always" ones)."""
    if option_id not in _OPTION_IDS:
        notice = (
            f"The editor answered the permission request for {request.tool} with option "
            f"'{option_id}', which was not offered ({', '.join(sorted(_OPTION_IDS))}); "
            "the action was not run."
        )
        _log.warning("acp_permission_unknown_option", tool=request.tool, option=option_id[:64])
        return PermissionAnswer(Decision(type="reject", message=notice), notice=notice)
    if option_id == "allow_always":
        grants.always[request.tool] = "allow"
    elif option_id == "reject_always":
        grants.always[request.tool] = "reject"
    if option_id.startswith("allow"):
        return PermissionAnswer(Decision(type="approve"))
    return PermissionAnswer(
        Decision(type="reject", message=f"The user rejected this {request.tool} call.")
    )


async def decide_one(
    request: ActionRequest,
    *,
    mode: ModeId,
    grants: SessionGrants,
    view: ToolCallView,
    ask: Asker,
) -> PermissionAnswer:
    """Decide one pending action: by mode, by an earlier "always", or by asking the editor."""
    if mode == "plan":
        return PermissionAnswer(
            Decision(
                type="reject",
                message=(
                    "The session is in plan mode (read-only): nothing may be changed. Describe "
                    "the change in your plan instead; the user switches modes to apply it."
                ),
            )
        )
    if mode == "accept_edits" and changes_files(request.tool):
        return PermissionAnswer(Decision(type="approve"))
    remembered = grants.always.get(request.tool)
    if remembered == "allow":
        return PermissionAnswer(Decision(type="approve"))
    if remembered == "reject":
        return PermissionAnswer(
            Decision(
                type="reject",
                message=f"The user rejects every {request.tool} call in this session.",
            )
        )
    if wants_hunks(request):
        decision, notice = await ask_hunks(request, view=view.hunk_update, ask=ask)
        return PermissionAnswer(decision, notice=notice)
    response = await ask(view.permission_update(request), OPTIONS)
    outcome = response.outcome
    if isinstance(outcome, AllowedOutcome):
        return decision_for(request, outcome.option_id, grants)
    return PermissionAnswer(None)
