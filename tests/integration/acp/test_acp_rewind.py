"""``/rewind`` in an ACP session: the real ``luminamind acp`` through the SDK's client side.

The rewind scenario (tests/support/rewind_scenario.py) runs as two prompt turns (the client
offers no ``fs/*``, so the tools write the files themselves); ``/rewind 2`` asks with
``session/request_permission`` showing each restored file's diff, and the model's next request
shows the conversation as of turn 1.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from acp import text_block

from tests.support.acp_editor import EditorClient, start_agent
from tests.support.llm_script import Turn
from tests.support.llm_server import ScriptedLLM
from tests.support.rewind_scenario import (
    AFTER_TURN_1,
    AFTER_TURN_2,
    BEFORE,
    MESSAGE_1,
    MESSAGE_2,
    MESSAGE_3,
    human_texts,
    prepare_workspace,
    script_two_turns,
    snapshot_files,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def workspace(workspace_dir: Path) -> Path:
    prepare_workspace(workspace_dir)
    return workspace_dir


async def test_rewind_asks_with_the_diffs_and_goes_back_to_turn_1(
    workspace: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    script_two_turns(llm_server, then=(Turn.text("We made new.txt."),))
    client = EditorClient(answer="allow_once")
    async with start_agent(workspace, home, client, env=llm_server.env(), fs=False) as agent:
        session = await agent.conn.new_session(cwd=str(workspace))
        sid = session.session_id

        async def say(text: str) -> None:
            result = await agent.conn.prompt(session_id=sid, prompt=[text_block(text)])
            assert result.stop_reason == "end_turn", agent.stderr()

        await say(MESSAGE_1)
        await say(MESSAGE_2)
        assert snapshot_files(workspace) == AFTER_TURN_2
        commands = client.of_kind("available_commands_update")
        assert "rewind" in {c.name for c in commands[0].available_commands}

        await say("/rewind 9")
        assert "Cannot rewind" in client.text()
        assert "has no turn 9" in client.text()

        client.answer = "cancel"
        await say("/rewind 2")
        assert snapshot_files(workspace) == AFTER_TURN_2
        assert "nothing changed" in client.text()

        client.answer = "rewind"
        await say("/rewind 2")
        assert snapshot_files(workspace) == AFTER_TURN_1
        asked = client.permissions[-1]
        assert asked.kind == "edit"
        [start] = [u for u in client.of_kind("tool_call") if u.tool_call_id == asked.tool_call_id]
        diffs = {Path(c.path).name: (c.old_text, c.new_text) for c in start.content or []}
        assert diffs == {"gone.txt": (None, "keep me\n"), "made.txt": ("from shell\n", "")}
        assert "Rewound: restored" in client.text()

        client.answer = "allow_once"
        await say(MESSAGE_3)
    assert human_texts(llm_server.calls[-1]) == [
        f"user: {MESSAGE_1}",
        "assistant: Turn one done.",
        f"user: {MESSAGE_3}",
    ]


async def test_writes_the_editor_took_into_its_buffers_are_rewound(
    workspace: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    """fs/write_text_file: the client changes its buffers, the user saves, /rewind undoes it."""
    llm_server.script(
        [
            Turn.tool_calls(
                ("write_file", {"path": "new.txt", "content": "brand new\n"}),
                ("write_file", {"path": "edit.txt", "content": "version 2\n"}),
            ),
            Turn.text("Turn one done."),
        ]
    )
    client = EditorClient(answer="allow_once")
    async with start_agent(workspace, home, client, env=llm_server.env(), fs=True) as agent:
        session = await agent.conn.new_session(cwd=str(workspace))
        sid = session.session_id
        result = await agent.conn.prompt(session_id=sid, prompt=[text_block(MESSAGE_1)])
        assert result.stop_reason == "end_turn", agent.stderr()
        assert sorted(Path(p).name for p, _ in client.writes) == ["edit.txt", "new.txt"]
        assert snapshot_files(workspace) == BEFORE  # in the editor's buffers only
        for path, text in client.buffers.items():  # the user saves them
            Path(path).write_text(text)
        assert snapshot_files(workspace) == AFTER_TURN_1

        client.answer = "rewind"
        result = await agent.conn.prompt(session_id=sid, prompt=[text_block("/rewind 1")])
        assert result.stop_reason == "end_turn", agent.stderr()
        assert "Rewound: restored" in client.text(), client.text()
    assert snapshot_files(workspace) == BEFORE
