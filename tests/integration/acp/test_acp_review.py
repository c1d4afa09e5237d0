"""Hunk-by-hunk review over ACP: one permission request per hunk, through the SDK's client side.

The three-hunk scenario: the editor applies hunks 1 and 3 and skips hunk 2; the kept text is
written through the editor (its buffer), the call ends with the review report, and the model's
next request names hunk 2 as rejected.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from acp import text_block

from tests.support.acp_editor import EditorClient, start_agent
from tests.support.llm_server import ScriptedLLM
from tests.support.review_scenario import (
    KEPT,
    OLD,
    assert_kept_1_and_3,
    review_result,
    script_three_hunks,
)

pytestmark = pytest.mark.slow


async def test_each_hunk_is_a_permission_request_and_hunk_2_is_skipped(
    workspace_dir: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    script_three_hunks(llm_server, workspace_dir)
    client = EditorClient(answers=["apply_hunk", "skip_hunk", "apply_hunk"])
    async with start_agent(workspace_dir, home, client, env=llm_server.env()) as agent:
        session = await agent.conn.new_session(cwd=str(workspace_dir))
        result = await agent.conn.prompt(
            session_id=session.session_id, prompt=[text_block("Spell out the numbers")]
        )
    assert result.stop_reason == "end_turn"
    target = str(workspace_dir / "notes.txt")
    assert len(client.permissions) == 3
    assert client.options[0] == ["apply_hunk", "apply_rest", "skip_hunk", "skip_rest"]
    second = client.permissions[1]
    assert second.title is not None
    assert "hunk 2/3 @@ -17,7 +17,7 @@" in second.title
    [diff] = [c for c in second.content or [] if c.type == "diff"]
    assert diff.path == target
    assert "line twenty" in diff.new_text
    assert "line two\n" not in diff.new_text, "a hunk's request shows only that hunk"
    # Written through the editor, only hunks 1 and 3; the disk copy is the editor's to save.
    assert client.writes == [(target, KEPT)]
    assert (workspace_dir / "notes.txt").read_text() == OLD
    assert_kept_1_and_3(llm_server, None, reason=None, text=client.buffers[target])
    finished = [u for u in client.of_kind("tool_call_update") if u.status == "completed"]
    assert finished, "the call is closed with the review report"
    assert '"rejected":[2]' in str(finished[-1].content)


async def test_apply_the_rest_and_skip_the_rest(
    workspace_dir: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    script_three_hunks(llm_server, workspace_dir)
    client = EditorClient(answers=["skip_hunk", "apply_rest"])
    async with start_agent(workspace_dir, home, client, env=llm_server.env(), fs=False) as agent:
        session = await agent.conn.new_session(cwd=str(workspace_dir))
        await agent.conn.prompt(session_id=session.session_id, prompt=[text_block("Spell")])
    assert len(client.permissions) == 2, "apply_rest answers hunk 3 too"
    assert (workspace_dir / "notes.txt").read_text() == OLD.replace(
        "line 20\n", "line twenty\n"
    ).replace("line 38\n", "line thirty-eight\n")
    report = review_result(llm_server.calls[-1])
    assert (report["applied"], report["rejected"]) == ([2, 3], [1])
