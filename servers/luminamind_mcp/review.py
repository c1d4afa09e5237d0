"""Hunk-by-hunk review of a file change through an MCP elicitation form.

The form has one boolean per hunk (``hunk_1``, ``hunk_2``...; ticked by default, so accepting the
form as shown applies the whole change) and one text field for the reason given to the agent
for the unticked hunks. The message shows every hunk's diff under its number. Elicitation forms
hold only flat primitive fields, so an edited hunk is not offered here: the user rejects it with
a reason, or edits through ``resume_task`` (``hunks`` with ``edit``).
"""

from __future__ import annotations

from typing import Any

from luminamind.agent.events import ActionRequest, Decision, HunkDecision

__all__ = ["REASON_FIELD", "review_decision", "review_message", "review_schema"]

REASON_FIELD = "reason"
# A dialog stays readable: the diff shown is cut; the booleans still cover every hunk.
_MAX_MESSAGE_CHARS = 20_000


def _field(index: int) -> str:
    return f"hunk_{index}"


def review_schema(request: ActionRequest) -> dict[str, Any]:  # Any: JSON Schema
    """The form: ``hunk_N`` booleans (default true) and the ``reason`` for unticked hunks."""
    properties: dict[str, Any] = {}  # Any: JSON Schema
    for hunk in request.hunks:
        what = f"+{hunk.added} −{hunk.removed}" if hunk.kind != "opaque" else hunk.kind
        properties[_field(hunk.index)] = {
            "type": "boolean",
            "title": f"Hunk {hunk.index}: {hunk.path} {hunk.header}".rstrip(),
            "description": f"Apply this hunk ({what} lines); untick to leave it out",
            "default": True,
        }
    properties[REASON_FIELD] = {
        "type": "string",
        "title": "Why (for unticked hunks)",
        "description": "The agent reads it, so it does not propose them again",
    }
    return {"type": "object", "properties": properties}


def review_message(request: ActionRequest) -> str:
    """The dialog text: the tool, then each hunk's diff under its number."""
    lines = [f"The agent wants to change files with `{request.tool}`."]
    if request.notice:
        lines += ["", request.notice]
    lines += ["", "Untick the hunks you do not want; the agent is told which were left out."]
    size = sum(len(line) for line in lines)
    for hunk in request.hunks:
        block = f"\nHunk {hunk.index} — {hunk.path}\n```diff\n{hunk.diff.rstrip(chr(10))}\n```"
        if size + len(block) > _MAX_MESSAGE_CHARS:
            lines.append(f"\n… hunks {hunk.index}-{len(request.hunks)} not shown (too long)")
            break
        lines.append(block)
        size += len(block)
    return "\n".join(lines)


def review_decision(request: ActionRequest, content: dict[str, Any]) -> Decision:  # Any: JSON
    """The `Decision` for an accepted form (a missing box counts as ticked, its default)."""
    reason = content.get(REASON_FIELD)
    reason = reason if isinstance(reason, str) and reason.strip() else None
    hunks = [
        HunkDecision(hunk=h.index, action="accept")
        if content.get(_field(h.index), True) is not False
        else HunkDecision(hunk=h.index, action="reject", reason=reason)
        for h in request.hunks
    ]
    return Decision(type="review", proposal=request.proposal, action_id=request.id, hunks=hunks)
