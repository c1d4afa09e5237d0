"""``luminamind acp`` driven through the ACP SDK's client side, with the scripted LLM.

Each test spawns the real agent process; the client is `EditorClient` (tests/support/acp_editor.py),
a real implementation of the SDK's Client interface (buffers, permissions, writes recorded).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from acp import text_block

from tests.support.acp_editor import EditorClient, start_agent
from tests.support.llm_server import ScriptedLLM, Turn

pytestmark = pytest.mark.slow


def _edit_script(llm: ScriptedLLM, content: str = "hello\nthere\n") -> None:
    llm.script(
        [
            Turn.tool_calls(("write_file", {"path": "hello.txt", "content": content})),
            Turn.text("Edited hello.txt."),
        ]
    )


async def test_initialize_advertises_what_is_implemented(
    workspace: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    async with start_agent(workspace, home, EditorClient(), initialize=False) as agent:
        response = await agent.conn.initialize(protocol_version=1)
    caps = response.agent_capabilities
    assert response.protocol_version == 1
    assert caps is not None
    assert caps.load_session is True
    assert caps.prompt_capabilities is not None
    assert caps.prompt_capabilities.embedded_context
    assert caps.session_capabilities is not None
    assert caps.session_capabilities.list is not None
    assert response.agent_info is not None
    assert response.agent_info.name == "luminamind"


async def test_edit_asks_with_the_diff_and_writes_through_the_editor(
    workspace: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    _edit_script(llm_server)
    client = EditorClient(answer="allow_once")
    async with start_agent(workspace, home, client, env=llm_server.env()) as agent:
        session = await agent.conn.new_session(cwd=str(workspace))
        assert session.modes is not None
        assert session.modes.current_mode_id == "ask"
        result = await agent.conn.prompt(
            session_id=session.session_id, prompt=[text_block("Change hello.txt")]
        )
    assert result.stop_reason == "end_turn"
    [asked] = client.permissions
    [diff] = [c for c in asked.content or [] if c.type == "diff"]
    target = str(workspace / "hello.txt")
    assert (diff.path, diff.old_text, diff.new_text) == (target, "hello\nworld\n", "hello\nthere\n")
    assert asked.kind == "edit"
    assert asked.locations is not None
    assert asked.locations[0].path == target
    # Written through the editor (its buffer), not behind its back on disk.
    assert client.writes == [(target, "hello\nthere\n")]
    assert (workspace / "hello.txt").read_text(encoding="utf-8") == "hello\nworld\n"
    finished = [u for u in client.of_kind("tool_call_update") if u.status == "completed"]
    assert finished
    assert finished[-1].tool_call_id == asked.tool_call_id
    assert "Edited hello.txt." in client.text()
    commands = client.of_kind("available_commands_update")
    assert {c.name for c in commands[0].available_commands} >= {
        "threads",
        "new",
        "model",
        "compact",
    }


async def test_a_patch_applies_to_the_editors_buffer_and_is_written_through_it(
    workspace: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    patch = "--- a/hello.txt\n+++ b/hello.txt\n@@ -1,2 +1,2 @@\n hello\n-unsaved\n+patched\n"
    llm_server.script([Turn.tool_calls(("apply_patch", {"patch": patch})), Turn.text("Patched.")])
    target = str(workspace / "hello.txt")
    client = EditorClient(answer="allow_once", buffers={target: "hello\nunsaved\n"})
    async with start_agent(workspace, home, client, env=llm_server.env()) as agent:
        session = await agent.conn.new_session(cwd=str(workspace))
        await agent.conn.prompt(session_id=session.session_id, prompt=[text_block("Patch it")])
    [asked] = client.permissions
    [diff] = [c for c in asked.content or [] if c.type == "diff"]
    assert (diff.old_text, diff.new_text) == ("hello\nunsaved\n", "hello\npatched\n")
    assert client.writes == [(target, "hello\npatched\n")]
    assert (workspace / "hello.txt").read_text(encoding="utf-8") == "hello\nworld\n"


async def test_without_fs_capability_the_edit_goes_to_disk(
    workspace: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    _edit_script(llm_server)
    client = EditorClient(answer="allow_once")
    async with start_agent(workspace, home, client, env=llm_server.env(), fs=False) as agent:
        session = await agent.conn.new_session(cwd=str(workspace))
        await agent.conn.prompt(session_id=session.session_id, prompt=[text_block("Change it")])
    assert client.writes == []
    assert (workspace / "hello.txt").read_text(encoding="utf-8") == "hello\nthere\n"


async def test_reading_sees_the_editors_unsaved_buffer(
    workspace: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    llm_server.script([Turn.tool_calls(("read_file", {"path": "hello.txt"})), Turn.text("Read.")])
    target = str(workspace / "hello.txt")
    client = EditorClient(buffers={target: "unsaved edit\n"})
    async with start_agent(workspace, home, client, env=llm_server.env()) as agent:
        session = await agent.conn.new_session(cwd=str(workspace))
        await agent.conn.prompt(session_id=session.session_id, prompt=[text_block("Read it")])
    assert client.reads == [target]
    tool_result = llm_server.requests[1]["messages"][-1]["content"]
    assert "unsaved edit" in tool_result
    [start] = client.of_kind("tool_call")
    assert start.kind == "read"
    assert start.locations[0].path == target


async def test_shell_runs_in_the_editors_terminal(
    workspace: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    llm_server.script(
        [Turn.tool_calls(("shell", {"command": "cat hello.txt"})), Turn.text("It says hello.")]
    )
    client = EditorClient(answer="allow_once")
    # The editor's terminal is used only where LuminaMind's own OS sandbox would not apply.
    env = {**llm_server.env(), "LUMINAMIND_SHELL__SANDBOX": "false"}
    async with start_agent(workspace, home, client, env=env, terminal=True) as agent:
        session = await agent.conn.new_session(cwd=str(workspace))
        await agent.conn.prompt(session_id=session.session_id, prompt=[text_block("Show it")])
    [argv] = client.commands
    assert argv[0].endswith("/cat")
    assert argv[1:] == ["hello.txt"]
    result = llm_server.requests[1]["messages"][-1]["content"]
    assert '"exit_code":0' in result
    assert "hello\\nworld" in result
    shown = [
        c.terminal_id
        for u in client.of_kind("tool_call_update")
        for c in u.content or []
        if c.type == "terminal"
    ]
    assert shown
    assert shown[0] == "term-1"


async def test_with_the_os_sandbox_commands_stay_sandboxed_not_in_the_terminal(
    workspace: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    from luminamind.security.sandbox import sandbox_status

    if not sandbox_status().available:
        pytest.skip("no OS sandbox on this machine: the terminal path is the one that applies")
    llm_server.script(
        [Turn.tool_calls(("shell", {"command": "cat hello.txt"})), Turn.text("It says hello.")]
    )
    client = EditorClient(answer="allow_once")
    async with start_agent(workspace, home, client, env=llm_server.env(), terminal=True) as agent:
        session = await agent.conn.new_session(cwd=str(workspace))
        await agent.conn.prompt(session_id=session.session_id, prompt=[text_block("Show it")])
    assert client.commands == []  # the editor's terminal is outside the sandbox: not used
    result = llm_server.requests[1]["messages"][-1]["content"]
    assert '"exit_code":0' in result
    assert "not sandboxed" not in result


async def test_rejecting_writes_nothing_and_tells_the_model(
    workspace: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    _edit_script(llm_server)
    client = EditorClient(answer="reject_once")
    async with start_agent(workspace, home, client, env=llm_server.env()) as agent:
        session = await agent.conn.new_session(cwd=str(workspace))
        result = await agent.conn.prompt(session_id=session.session_id, prompt=[text_block("Go")])
    assert result.stop_reason == "end_turn"
    assert client.writes == []
    assert (workspace / "hello.txt").read_text(encoding="utf-8") == "hello\nworld\n"
    told = llm_server.requests[1]["messages"][-1]
    assert told["role"] == "tool"
    assert "rejected" in told["content"]
    failed = [u for u in client.of_kind("tool_call_update") if u.status == "failed"]
    assert failed


async def test_allow_always_is_remembered_for_the_session(
    workspace: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    llm_server.script(
        [
            Turn.tool_calls(("write_file", {"path": "a.txt", "content": "1\n"})),
            Turn.tool_calls(("write_file", {"path": "b.txt", "content": "2\n"})),
            Turn.text("Both written."),
        ]
    )
    client = EditorClient(answer="allow_always")
    async with start_agent(workspace, home, client, env=llm_server.env()) as agent:
        session = await agent.conn.new_session(cwd=str(workspace))
        await agent.conn.prompt(session_id=session.session_id, prompt=[text_block("Two files")])
    assert len(client.permissions) == 1  # the second write_file was not asked
    assert [Path(p).name for p, _ in client.writes] == ["a.txt", "b.txt"]


async def test_plan_mode_refuses_every_change(
    workspace: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    _edit_script(llm_server)
    client = EditorClient(answer="allow_once")
    async with start_agent(workspace, home, client, env=llm_server.env()) as agent:
        session = await agent.conn.new_session(cwd=str(workspace))
        await agent.conn.set_session_mode(session_id=session.session_id, mode_id="plan")
        await agent.conn.prompt(session_id=session.session_id, prompt=[text_block("Go")])
    assert client.permissions == []
    assert client.writes == []
    assert "plan mode" in llm_server.requests[1]["messages"][-1]["content"]
    assert client.of_kind("current_mode_update")[0].current_mode_id == "plan"


async def test_plan_updates_follow_the_todo_list(
    workspace: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    todos = [
        {"content": "Read the code", "status": "completed"},
        {"content": "Fix the bug", "status": "in_progress"},
    ]
    llm_server.script([Turn.tool_calls(("write_todos", {"todos": todos})), Turn.text("Planned.")])
    client = EditorClient()
    async with start_agent(workspace, home, client, env=llm_server.env()) as agent:
        session = await agent.conn.new_session(cwd=str(workspace))
        await agent.conn.prompt(session_id=session.session_id, prompt=[text_block("Plan it")])
    [plan] = client.of_kind("plan")
    assert [(e.content, e.status) for e in plan.entries] == [
        ("Read the code", "completed"),
        ("Fix the bug", "in_progress"),
    ]


async def test_model_reasoning_streams_as_thought_chunks(
    workspace: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    thought = "The user greets me. A short greeting back will do."
    llm_server.script([Turn.text("Hello!", reasoning=thought)])
    client = EditorClient()
    async with start_agent(workspace, home, client, env=llm_server.env()) as agent:
        session = await agent.conn.new_session(cwd=str(workspace))
        result = await agent.conn.prompt(session_id=session.session_id, prompt=[text_block("Hi")])
    assert result.stop_reason == "end_turn"
    thoughts = client.of_kind("agent_thought_chunk")
    assert len(thoughts) > 1  # streamed as it comes
    assert "".join(t.content.text for t in thoughts) == thought
    assert client.text() == "Hello!"  # the answer, without the reasoning
    kinds = [u.session_update for _, u in client.updates]
    assert kinds.index("agent_thought_chunk") < kinds.index("agent_message_chunk")


async def test_load_replays_a_thread_and_list_shows_it(
    workspace: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    llm_server.script([Turn.text("First answer.")])
    async with start_agent(workspace, home, EditorClient(), env=llm_server.env()) as agent:
        session = await agent.conn.new_session(cwd=str(workspace))
        await agent.conn.prompt(session_id=session.session_id, prompt=[text_block("Hi there")])
    # A new process (the editor restarted): the thread is listed and replays.
    client = EditorClient()
    async with start_agent(workspace, home, client, env=llm_server.env()) as agent:
        listed = await agent.conn.list_sessions(cwd=str(workspace))
        assert [s.session_id for s in listed.sessions] == [session.session_id]
        assert listed.sessions[0].title == "Hi there"
        await agent.conn.load_session(cwd=str(workspace), session_id=session.session_id)
    assert [u.content.text for u in client.of_kind("user_message_chunk")] == ["Hi there"]
    assert client.text() == "First answer."


async def test_cancel_mid_run_stops_within_a_second(
    workspace: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    llm_server.script([Turn.hang(30)])
    async with start_agent(workspace, home, EditorClient(), env=llm_server.env()) as agent:
        session = await agent.conn.new_session(cwd=str(workspace))
        turn = asyncio.create_task(
            agent.conn.prompt(session_id=session.session_id, prompt=[text_block("Slow")])
        )
        await asyncio.to_thread(llm_server.wait_for_calls, 1, timeout=60)
        started = time.monotonic()
        await agent.conn.cancel(session_id=session.session_id)
        result = await asyncio.wait_for(turn, 5)
        assert time.monotonic() - started < 1.0
        assert result.stop_reason == "cancelled"
        # The session serves the next prompt.
        llm_server.script([Turn.text("Back.")])
        again = await agent.conn.prompt(session_id=session.session_id, prompt=[text_block("Hi")])
        assert again.stop_reason == "end_turn"


async def test_two_sessions_run_concurrently(
    workspace: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    llm_server.script([Turn.text("warm"), Turn.text("one", delay=1.0), Turn.text("two", delay=1.0)])
    client = EditorClient()
    async with start_agent(workspace, home, client, env=llm_server.env()) as agent:
        warm = await agent.conn.new_session(cwd=str(workspace))  # the agent stack is built
        await agent.conn.prompt(session_id=warm.session_id, prompt=[text_block("warm up")])
        first = await agent.conn.new_session(cwd=str(workspace))
        second = await agent.conn.new_session(cwd=str(workspace))
        started = time.monotonic()
        results = await asyncio.gather(
            agent.conn.prompt(session_id=first.session_id, prompt=[text_block("A")]),
            agent.conn.prompt(session_id=second.session_id, prompt=[text_block("B")]),
        )
        elapsed = time.monotonic() - started
    assert [r.stop_reason for r in results] == ["end_turn", "end_turn"]
    assert elapsed < 1.9  # overlapped, not one after the other
    assert {client.text(first.session_id), client.text(second.session_id)} == {"one", "two"}


async def test_slash_commands_threads_model_new_and_compact(
    workspace: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    llm_server.script(
        [
            Turn.text("First answer."),
            Turn.text("Summary: the user said hi."),
            Turn.text("Carrying on."),
        ]
    )
    client = EditorClient()
    async with start_agent(workspace, home, client, env=llm_server.env()) as agent:
        conn = agent.conn
        session = await conn.new_session(cwd=str(workspace))
        sid = session.session_id
        await conn.prompt(session_id=sid, prompt=[text_block("hi")])
        await conn.prompt(session_id=sid, prompt=[text_block("/threads")])
        assert f"`{sid}` hi" in client.text(sid)
        await conn.prompt(session_id=sid, prompt=[text_block("/model")])
        assert "Model: `openai:scripted`" in client.text(sid)
        await conn.prompt(session_id=sid, prompt=[text_block("/compact")])
        assert "Compacted: the session goes on in thread" in client.text(sid)
        await conn.prompt(session_id=sid, prompt=[text_block("and now?")])
        listed = await conn.list_sessions(cwd=str(workspace))
        await conn.prompt(session_id=sid, prompt=[text_block("/new")])
        assert "Started a new thread" in client.text(sid)
    # The summary request ran in the old thread; the next prompt started a new one with it.
    assert "Summarise this conversation" in llm_server.requests[1]["messages"][-1]["content"]
    carried = llm_server.requests[2]["messages"][-1]["content"]
    assert carried.startswith(f"Summary of the earlier conversation (thread {sid})")
    assert carried.endswith("and now?")
    assert len(listed.sessions) == 2
