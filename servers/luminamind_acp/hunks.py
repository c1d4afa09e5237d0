"""Hunk-by-hunk review over ACP: one ``session/request_permission`` per hunk.

ACP has no per-hunk permission; what every client can do is answer a permission request. A change
of 2 to `MAX_ASKED_HUNKS` hunks is therefore asked hunk by hunk: each request's tool call shows
only that hunk as its ``diff`` (the hunk's lines before and after) and offers Apply this hunk /
Apply this and the rest / Skip this hunk / Skip this and the rest. The answers become one
``review`` decision: the kept hunks are written (through the editor when it takes writes) and
the agent is told which were skipped. More hunks: the whole-change request, as before.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from acp.schema import (
    AllowedOutcome,
    PermissionOption,
    RequestPermissionResponse,
    ToolCallUpdate,
)

from luminamind.agent.events import ActionRequest, Decision, Hunk, HunkDecision

__all__ = ["HUNK_OPTIONS", "MAX_ASKED_HUNKS", "ask_hunks", "wants_hunks"]

MAX_ASKED_HUNKS = 5
HUNK_OPTIONS: tuple[PermissionOption, ...] = (
    PermissionOption(option_id="apply_hunk", name="Apply this hunk", kind="allow_once"),
    PermissionOption(option_id="apply_rest", name="Apply this and the rest", kind="allow_always"),
    PermissionOption(option_id="skip_hunk", name="Skip this hunk", kind="reject_once"),
    PermissionOption(option_id="skip_rest", name="Skip this and the rest", kind="reject_always"),
)
_IDS = {o.option_id for o in HUNK_OPTIONS}

Asker = Callable[[ToolCallUpdate, Sequence[PermissionOption]], Awaitable[RequestPermissionResponse]]
HunkView = Callable[[ActionRequest, Hunk], ToolCallUpdate]


def wants_hunks(request: ActionRequest) -> bool:
    """Whether ``request`` is reviewed hunk by hunk here."""
    return bool(request.proposal) and 1 < len(request.hunks) <= MAX_ASKED_HUNKS


async def ask_hunks(
    request: ActionRequest, *, view: HunkView, ask: Asker
) -> tuple[Decision | None, str | None]:
    """``(decision, notice)``: the review decision, or None when the user cancelled."""
    decisions: list[HunkDecision] = []
    rest: str | None = None
    for hunk in request.hunks:
        option = rest
        if option is None:
            response = await ask(view(request, hunk), HUNK_OPTIONS)
            outcome = response.outcome
            if not isinstance(outcome, AllowedOutcome):
                return None, None
            option = outcome.option_id
            if option not in _IDS:
                notice = (
                    f"The editor answered hunk {hunk.index} of {request.tool} with option "
                    f"'{option[:64]}', which was not offered; nothing was written."
                )
                return Decision(type="reject", message=notice), notice
            if option.endswith("_rest"):
                rest = option
        action = "accept" if option.startswith("apply") else "reject"
        decisions.append(HunkDecision(hunk=hunk.index, action=action))
    return (
        Decision(type="review", proposal=request.proposal, action_id=request.id, hunks=decisions),
        None,
    )
