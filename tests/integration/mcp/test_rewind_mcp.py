"""``rewind_thread`` over MCP: a real ``luminamind mcp`` over stdio, the official client, the
scripted LLM. The rewind scenario (tests/support/rewind_scenario.py) runs as two ``run_task``
turns; the rewind is approved through elicitation (or, for a client without it, confirmed by a
second call), and the model's next request shows the conversation as of turn 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from mcp.client.session import ClientSession

from tests.support.llm_script import Turn
from tests.support.llm_server import ScriptedLLM
from tests.support.mcp_clients import ScriptedUser, stdio_session, text_of
from tests.support.rewind_scenario import (
    AFTER_TURN_1,
    AFTER_TURN_2,
    MESSAGE_1,
    MESSAGE_2,
    MESSAGE_3,
    human_texts,
    prepare_workspace,
    script_two_turns,
    snapshot_files,
)

pytestmark = pytest.mark.slow

THREAD = "mcp-rewind"


@pytest.fixture
def project(workspace_dir: Path) -> Path:
    prepare_workspace(workspace_dir)
    return workspace_dir


def _structured(result: types.CallToolResult) -> dict[str, Any]:  # Any: JSON
    assert not result.is_error, text_of(result)
    assert isinstance(result.structured_content, dict)
    return result.structured_content


async def two_turns(session: ClientSession, project: Path) -> None:
    for message in (MESSAGE_1, MESSAGE_2):
        data = _structured(
            await session.call_tool("run_task", {"task": message, "thread_id": THREAD})
        )
        assert data["status"] == "completed", data
    assert snapshot_files(project) == AFTER_TURN_2


async def test_rewind_thread_is_approved_by_elicitation(
    project: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    script_two_turns(llm_server, then=(Turn.text("We made new.txt."),))
    user = ScriptedUser("accept", {"decision": "approve"})
    async with stdio_session(project, home, env=llm_server.env(), elicitation=user) as session:
        await two_turns(session, project)
        state = _structured(await session.call_tool("get_thread", {"thread_id": THREAD}))
        assert [[f["path"] for f in t["files"]] for t in state["turns"]] == [
            ["edit.txt", "new.txt"],
            ["gone.txt", "made.txt"],
        ]
        user.action = "decline"
        declined = _structured(
            await session.call_tool("rewind_thread", {"thread_id": THREAD, "turn": 2})
        )
        assert declined["status"] == "declined"
        assert snapshot_files(project) == AFTER_TURN_2
        user.action, user.content = "accept", {}
        data = _structured(
            await session.call_tool("rewind_thread", {"thread_id": THREAD, "turn": 2})
        )
        assert data["status"] == "rewound", data
        assert sorted(data["result"]["restored"]) == ["gone.txt", "made.txt"]
        assert "restore gone.txt (write)" in user.messages[-1]
        assert "restore made.txt (delete)" in user.messages[-1]
        assert snapshot_files(project) == AFTER_TURN_1
        third = _structured(
            await session.call_tool("run_task", {"task": MESSAGE_3, "thread_id": THREAD})
        )
        assert third["status"] == "completed", third
    assert human_texts(llm_server.calls[-1]) == [
        f"user: {MESSAGE_1}",
        "assistant: Turn one done.",
        f"user: {MESSAGE_3}",
    ]


async def test_without_elicitation_a_rewind_waits_for_confirm_and_bad_input_is_an_error(
    project: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    script_two_turns(llm_server)
    env = llm_server.env() | {"LUMINAMIND_SERVER__UNATTENDED_APPROVAL": "approve"}
    async with stdio_session(project, home, env=env) as session:
        await two_turns(session, project)
        missing = await session.call_tool("rewind_thread", {"thread_id": THREAD, "turn": 9})
        assert missing.is_error
        assert "has no turn 9: it has turns 1 to 2" in text_of(missing)
        unknown = await session.call_tool("rewind_thread", {"thread_id": "nope", "turn": 1})
        assert unknown.is_error
        assert "no thread 'nope'" in text_of(unknown)
        bad = await session.call_tool("rewind_thread", {"thread_id": THREAD, "turn": 0})
        assert bad.is_error

        (project / "new.txt").write_text("the user's own\n")
        waiting = _structured(
            await session.call_tool("rewind_thread", {"thread_id": THREAD, "turn": 1})
        )
        assert waiting["status"] == "awaiting_confirmation"
        (conflict,) = [f for f in waiting["plan"]["files"] if f["problem"]]
        assert (conflict["path"], conflict["problem"]) == ("new.txt", "conflict")
        refused = await session.call_tool(
            "rewind_thread", {"thread_id": THREAD, "turn": 1, "confirm": True}
        )
        assert refused.is_error
        assert "new.txt: changed after the agent's edit" in text_of(refused)
        assert snapshot_files(project)["new.txt"] == "the user's own\n"
        done = _structured(
            await session.call_tool(
                "rewind_thread", {"thread_id": THREAD, "turn": 1, "confirm": True, "partial": True}
            )
        )
        assert done["status"] == "rewound"
        assert [f["path"] for f in done["result"]["left"]] == ["new.txt"]
    assert snapshot_files(project) == {
        "edit.txt": "version 1\n",
        "gone.txt": "keep me\n",
        "new.txt": "the user's own\n",
    }
