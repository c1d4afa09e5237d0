"""The hunk-review scenario every surface is tested with.

``notes.txt`` has 40 lines; the scripted model rewrites it with write_file, changing lines 2, 20
and 38: three hunks. The user keeps hunks 1 and 3 and rejects hunk 2 with a reason. Afterwards
the file holds exactly hunks 1 and 3, and the model's next request carries the tool result that
names hunk 2 as rejected (`assert_kept_1_and_3`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from luminamind.agent.events import ActionRequest, ApprovalRequested, Decision, HunkDecision
from tests.support.llm_script import LLMRequest, Turn
from tests.support.llm_server import ScriptedLLM

if TYPE_CHECKING:  # the agent is heavy to import; the editor tests never call propose
    from luminamind.agent.service import AgentService

__all__ = [
    "FINAL_ANSWER",
    "KEPT",
    "NEW",
    "OLD",
    "REASON",
    "assert_kept_1_and_3",
    "keep_1_and_3",
    "propose",
    "review_result",
    "script_three_hunks",
]

OLD = "".join(f"line {i}\n" for i in range(1, 41))
NEW = (
    OLD.replace("line 2\n", "line two\n")
    .replace("line 20\n", "line twenty\n")
    .replace("line 38\n", "line thirty-eight\n")
)
KEPT = OLD.replace("line 2\n", "line two\n").replace("line 38\n", "line thirty-eight\n")
REASON = "keep line 20 as a number"
FINAL_ANSWER = "Kept what you accepted."


def script_three_hunks(llm: ScriptedLLM, workspace: Path) -> None:
    """Write notes.txt and script: write_file (three hunks, needs approval), then an answer."""
    (workspace / "notes.txt").write_text(OLD)
    llm.script(
        [
            Turn.tool_calls(("write_file", {"path": "notes.txt", "content": NEW})),
            Turn.text(FINAL_ANSWER),
        ]
    )


async def propose(service: AgentService) -> tuple[str, ActionRequest]:
    """Ask for the change through ``service``: its thread and the pending review request."""
    events = [event async for event in service.stream(None, "Spell out the numbers in notes.txt")]
    pending = events[-1]
    assert isinstance(pending, ApprovalRequested), events
    (request,) = pending.requests
    return pending.thread_id, request


def keep_1_and_3(request: ActionRequest) -> Decision:
    """The user's decision: hunks 1 and 3 accepted, hunk 2 rejected with `REASON`."""
    return Decision(
        type="review",
        proposal=request.proposal,
        action_id=request.id,
        hunks=[
            HunkDecision(hunk=1, action="accept"),
            HunkDecision(hunk=2, action="reject", reason=REASON),
            HunkDecision(hunk=3, action="accept"),
        ],
    )


def review_result(request: LLMRequest) -> dict[str, object]:
    """The review report in a model request's last tool message."""
    return dict(json.loads(request.tool_results[-1]))


def assert_kept_1_and_3(
    llm: ScriptedLLM, workspace: Path | None, *, reason: str | None = REASON, text: str = ""
) -> None:
    """The file (or ``text``, an editor's buffer) holds hunks 1 and 3 only; the model was told
    hunk 2 was rejected."""
    assert (text if workspace is None else (workspace / "notes.txt").read_text()) == KEPT
    last = llm.calls[-1]
    raw = last.tool_results[-1]
    report = review_result(last)
    assert report["status"] == "partially_applied", raw
    assert report["applied"] == [1, 3], raw
    assert report["rejected"] == [2], raw
    rejected = [h for h in report["hunks"] if h["hunk"] == 2]  # type: ignore[attr-defined]
    assert rejected[0]["status"] == "rejected"
    assert "+line twenty" in rejected[0]["diff"]
    if reason is not None:
        assert rejected[0]["reason"] == reason
