"""Hunk-by-hunk review through AgentService: real graph, real tools, scripted model over HTTP.

The three-hunk scenario (tests/support/review_scenario.py): the user keeps hunks 1 and 3; the
file has exactly those, and the model's next request carries the report naming hunk 2.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from luminamind.agent.events import (
    ActionRequest,
    AgentEvent,
    ApprovalRequested,
    Decision,
    ErrorEvent,
    FinalAnswer,
    HunkDecision,
)
from luminamind.agent.service import AgentService
from luminamind.config import Settings
from tests.support.llm_script import Turn
from tests.support.llm_server import ScriptedLLM
from tests.support.review_scenario import (
    FINAL_ANSWER,
    KEPT,
    NEW,
    OLD,
    assert_kept_1_and_3,
    keep_1_and_3,
    propose,
    review_result,
    script_three_hunks,
)


async def collect(stream: AsyncIterator[AgentEvent]) -> list[AgentEvent]:
    return [event async for event in stream]


def review(request: ActionRequest, *hunks: HunkDecision) -> Decision:
    """The decision answering ``request`` hunk by hunk."""
    return Decision(type="review", proposal=request.proposal, hunks=list(hunks))


@pytest.fixture
async def service(llm_settings: Settings) -> AsyncIterator[AgentService]:
    async with AgentService.open(llm_settings, surface="cli") as service:
        yield service


@pytest.fixture
async def three_hunks(
    service: AgentService, llm_server: ScriptedLLM, workspace_dir: Path
) -> tuple[str, ActionRequest]:
    """The three-hunk scenario proposed and pending: its thread and the request."""
    script_three_hunks(llm_server, workspace_dir)
    return await propose(service)


async def test_keep_hunks_1_and_3_tells_the_model_hunk_2_was_rejected(
    service: AgentService,
    three_hunks: tuple[str, ActionRequest],
    llm_server: ScriptedLLM,
    workspace_dir: Path,
) -> None:
    thread, request = three_hunks
    assert [h.index for h in request.hunks] == [1, 2, 3]
    assert "review" in request.allowed_decisions
    assert request.hunks[1].diff.splitlines()[5] == "+line twenty"
    events = await collect(service.resume(thread, [keep_1_and_3(request)]))
    assert isinstance(events[-1], FinalAnswer)
    assert events[-1].text == FINAL_ANSWER
    assert_kept_1_and_3(llm_server, workspace_dir)


async def test_an_edited_hunk_is_written_and_its_text_reported(
    service: AgentService,
    three_hunks: tuple[str, ActionRequest],
    llm_server: ScriptedLLM,
    workspace_dir: Path,
) -> None:
    thread, request = three_hunks
    edited = request.hunks[1].diff.replace("+line twenty", "+line XX")
    decision = review(
        request,
        HunkDecision(hunk=1, action="reject"),
        HunkDecision(hunk=2, action="edit", patch=edited),
        HunkDecision(hunk=3, action="accept"),
    )
    events = await collect(service.resume(thread, [decision]))
    assert isinstance(events[-1], FinalAnswer)
    text = (workspace_dir / "notes.txt").read_text()
    assert text == OLD.replace("line 20\n", "line XX\n").replace("line 38\n", "line thirty-eight\n")
    report = review_result(llm_server.calls[-1])
    assert (report["applied"], report["rejected"], report["edited"]) == ([3], [1], [2])
    (edited_hunk,) = [h for h in report["hunks"] if h["hunk"] == 2]  # type: ignore[attr-defined]
    assert "line XX\n" in edited_hunk["text"]


async def test_every_hunk_accepted_runs_the_tool_itself(
    service: AgentService,
    three_hunks: tuple[str, ActionRequest],
    llm_server: ScriptedLLM,
    workspace_dir: Path,
) -> None:
    thread, request = three_hunks
    decision = review(request, *(HunkDecision(hunk=i, action="accept") for i in (1, 2, 3)))
    events = await collect(service.resume(thread, [decision]))
    assert isinstance(events[-1], FinalAnswer)
    assert (workspace_dir / "notes.txt").read_text() == NEW
    assert json.loads(llm_server.calls[-1].tool_results[-1])["path"] == "notes.txt"


async def test_every_hunk_rejected_writes_nothing_and_says_why(
    service: AgentService,
    three_hunks: tuple[str, ActionRequest],
    llm_server: ScriptedLLM,
    workspace_dir: Path,
) -> None:
    thread, request = three_hunks
    decision = review(
        request, *(HunkDecision(hunk=i, action="reject", reason=f"no {i}") for i in (1, 2, 3))
    )
    events = await collect(service.resume(thread, [decision]))
    assert isinstance(events[-1], FinalAnswer)
    assert (workspace_dir / "notes.txt").read_text() == OLD
    result = llm_server.calls[-1].tool_results[-1]
    assert "User rejected the tool call for `write_file`" in result
    assert '"rejected":[1,2,3]' in result
    assert '"reason":"no 2"' in result


async def test_a_file_changed_since_the_proposal_is_shown_again_never_clobbered(
    service: AgentService,
    three_hunks: tuple[str, ActionRequest],
    workspace_dir: Path,
) -> None:
    thread, request = three_hunks
    changed = OLD.replace("line 30\n", "line 30 (mine)\n")
    (workspace_dir / "notes.txt").write_text(changed)
    events = await collect(service.resume(thread, [keep_1_and_3(request)]))
    again = events[-1]
    assert isinstance(again, ApprovalRequested), events
    assert (workspace_dir / "notes.txt").read_text() == changed
    (fresh,) = again.requests
    assert fresh.notice is not None
    assert "changed on disk" in fresh.notice
    assert fresh.proposal != request.proposal
    assert "-line 30 (mine)" in fresh.diff  # type: ignore[operator]
    # Answering the new proposal works (write_file would drop the user's line 30: hunk 3).
    hunks = [
        HunkDecision(hunk=h.index, action="reject" if "line 30" in h.diff else "accept")
        for h in fresh.hunks
    ]
    decision = review(fresh, *hunks)
    events = await collect(service.resume(thread, [decision]))
    assert isinstance(events[-1], FinalAnswer)
    text = (workspace_dir / "notes.txt").read_text()
    assert "line 30 (mine)\n" in text
    assert "line two\n" in text


async def test_a_decision_for_an_action_no_longer_pending_is_refused(
    service: AgentService,
    three_hunks: tuple[str, ActionRequest],
    workspace_dir: Path,
) -> None:
    thread, request = three_hunks
    stale = keep_1_and_3(request).model_copy(update={"action_id": "call_gone"})
    events = await collect(service.resume(thread, [stale]))
    assert isinstance(events[-1], ErrorEvent)
    assert events[-1].code == "proposal_not_pending"
    assert (workspace_dir / "notes.txt").read_text() == OLD
    # Still pending: the right decision goes through.
    events = await collect(service.resume(thread, [keep_1_and_3(request)]))
    assert isinstance(events[-1], FinalAnswer)
    assert (workspace_dir / "notes.txt").read_text() == KEPT


@pytest.mark.parametrize(
    ("hunks", "code"),
    [
        (
            [
                HunkDecision(hunk=1, action="accept"),
                HunkDecision(hunk=2, action="edit", patch=" line 17\n-line 20\n+line x\n"),
                HunkDecision(hunk=3, action="accept"),
            ],
            "hunk_edit_invalid",
        ),
        ([HunkDecision(hunk=1, action="accept")], "invalid_hunk_decision"),
        (
            [HunkDecision(hunk=i, action="accept") for i in (1, 2, 3, 4)],
            "invalid_hunk_decision",
        ),
    ],
    ids=["edit-no-longer-applies", "hunks-undecided", "unknown-hunk"],
)
async def test_bad_hunk_decisions_are_typed_errors_and_write_nothing(
    service: AgentService,
    three_hunks: tuple[str, ActionRequest],
    workspace_dir: Path,
    hunks: list[HunkDecision],
    code: str,
) -> None:
    thread, request = three_hunks
    decision = review(request, *hunks)
    events = await collect(service.resume(thread, [decision]))
    assert isinstance(events[-1], ErrorEvent)
    assert events[-1].code == code
    assert "hunk" in events[-1].message
    assert (workspace_dir / "notes.txt").read_text() == OLD
    state = await service.state(thread)
    assert [a.id for a in state.pending_approvals] == [request.id]


async def test_apply_patch_partial_review_over_two_files(
    service: AgentService, llm_server: ScriptedLLM, workspace_dir: Path
) -> None:
    (workspace_dir / "a.txt").write_text("alpha\n")
    (workspace_dir / "b.txt").write_text("beta\n")
    patch = (
        "--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-alpha\n+ALPHA\n"
        "--- a/b.txt\n+++ b/b.txt\n@@ -1 +1 @@\n-beta\n+BETA\n"
    )
    llm_server.script([Turn.tool_calls(("apply_patch", {"patch": patch})), Turn.text(FINAL_ANSWER)])
    thread, request = await propose(service)
    assert [(h.index, h.path) for h in request.hunks] == [(1, "a.txt"), (2, "b.txt")]
    decision = review(
        request,
        HunkDecision(hunk=1, action="reject", reason="keep a"),
        HunkDecision(hunk=2, action="accept"),
    )
    events = await collect(service.resume(thread, [decision]))
    assert isinstance(events[-1], FinalAnswer)
    assert (workspace_dir / "a.txt").read_text() == "alpha\n"
    assert (workspace_dir / "b.txt").read_text() == "BETA\n"
    report = review_result(llm_server.calls[-1])
    assert (report["applied"], report["rejected"]) == ([2], [1])


FAR = "".join(f"row {i}\n" for i in range(1, 31))


@pytest.mark.parametrize(
    ("call", "kept"),
    [
        pytest.param(
            (
                "multi_replace_in_file",
                {
                    "path": "rows.txt",
                    "replacements": [
                        {"old": "row 2\n", "new": "row two\n"},
                        {"old": "row 28\n", "new": "row twenty-eight\n"},
                    ],
                },
            ),
            FAR.replace("row 28\n", "row twenty-eight\n"),
            id="multi_replace_in_file",
        ),
        pytest.param(
            ("copy_file", {"source": "other.txt", "destination": "rows.txt", "overwrite": True}),
            FAR.replace("row 28\n", "row twenty-eight\n"),
            id="copy_file-overwrite",
        ),
    ],
)
async def test_every_file_tool_can_be_reviewed_in_part(
    service: AgentService,
    llm_server: ScriptedLLM,
    workspace_dir: Path,
    call: tuple[str, dict[str, object]],
    kept: str,
) -> None:
    (workspace_dir / "rows.txt").write_text(FAR)
    (workspace_dir / "other.txt").write_text(
        FAR.replace("row 2\n", "row two\n").replace("row 28\n", "row twenty-eight\n")
    )
    llm_server.script([Turn.tool_calls(call), Turn.text(FINAL_ANSWER)])
    thread, request = await propose(service)
    assert len(request.hunks) == 2
    decision = review(
        request,
        HunkDecision(hunk=1, action="reject", reason="keep row 2"),
        HunkDecision(hunk=2, action="accept"),
    )
    events = await collect(service.resume(thread, [decision]))
    assert isinstance(events[-1], FinalAnswer)
    assert (workspace_dir / "rows.txt").read_text() == kept
    report = review_result(llm_server.calls[-1])
    assert (report["applied"], report["rejected"]) == ([2], [1])


@pytest.mark.parametrize("action", ["accept", "reject"])
async def test_delete_file_is_one_hunk(
    service: AgentService, llm_server: ScriptedLLM, workspace_dir: Path, action: str
) -> None:
    (workspace_dir / "old.txt").write_text("bye\n")
    llm_server.script([Turn.tool_calls(("delete_file", {"path": "old.txt"})), Turn.text("Ok.")])
    thread, request = await propose(service)
    (hunk,) = request.hunks
    assert (hunk.kind, hunk.editable) == ("delete", False)
    decision = review(request, HunkDecision(hunk=1, action=action))
    events = await collect(service.resume(thread, [decision]))
    assert isinstance(events[-1], FinalAnswer)
    assert (workspace_dir / "old.txt").exists() is (action == "reject")


async def test_a_subagents_change_is_reviewed_the_same_way(
    service: AgentService, llm_server: ScriptedLLM, workspace_dir: Path
) -> None:
    (workspace_dir / "notes.txt").write_text(OLD)
    llm_server.script(
        [
            Turn.tool_calls(
                ("task", {"description": "Spell out notes.txt", "subagent_type": "code-executor"})
            ),
            Turn.text(FINAL_ANSWER),
        ]
    )
    llm_server.script_for(
        "code-executor subagent",
        [
            Turn.tool_calls(("write_file", {"path": "notes.txt", "content": NEW})),
            Turn.text("Done what was kept."),
        ],
    )
    thread, request = await propose(service)
    assert len(request.hunks) == 3
    events = await collect(service.resume(thread, [keep_1_and_3(request)]))
    assert isinstance(events[-1], FinalAnswer)
    assert (workspace_dir / "notes.txt").read_text() == KEPT
    subagent_requests = [c for c in llm_server.calls if "code-executor subagent" in c.system]
    report = review_result(subagent_requests[-1])
    assert (report["applied"], report["rejected"]) == ([1, 3], [2])
