"""Bad input to ``luminamind acp``: a clear JSON-RPC error or tool error, nothing lost, and the
agent keeps serving. Each case of the issue has its test; the client is the SDK's client side
(raw bytes for malformed JSON-RPC)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from acp import RequestError, text_block

from tests.support.acp_editor import BIN, EditorClient, start_agent
from tests.support.llm_server import ScriptedLLM, Turn
from tests.support.server_home import server_env

pytestmark = pytest.mark.slow


async def test_unknown_ids_modes_cursors_and_cwds_are_clear_errors(
    workspace: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    async with start_agent(workspace, home, EditorClient(), env=llm_server.env()) as agent:
        conn = agent.conn
        with pytest.raises(RequestError, match="unknown session 'nope'") as caught:
            await conn.prompt(session_id="nope", prompt=[text_block("hi")])
        assert caught.value.code == -32002
        with pytest.raises(RequestError, match="unknown session"):
            await conn.set_session_mode(session_id="nope", mode_id="plan")
        with pytest.raises(RequestError, match="no thread has this id"):
            await conn.load_session(cwd=str(workspace), session_id="nope")
        with pytest.raises(RequestError, match="not an absolute path"):
            await conn.new_session(cwd="relative/dir")
        with pytest.raises(RequestError, match="not a directory"):
            await conn.new_session(cwd=str(workspace / "hello.txt"))
        session = await conn.new_session(cwd=str(workspace))
        with pytest.raises(RequestError, match="unknown mode 'yolo'") as caught:
            await conn.set_session_mode(session_id=session.session_id, mode_id="yolo")
        assert caught.value.code == -32602
        with pytest.raises(RequestError, match="cursor"):
            await conn.list_sessions(cursor="abc")
        # Still serving: a prompt runs.
        llm_server.script([Turn.text("fine")])
        done = await conn.prompt(session_id=session.session_id, prompt=[text_block("hi")])
        assert done.stop_reason == "end_turn"


async def test_a_prompt_for_a_running_session_is_refused(
    workspace: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    llm_server.script([Turn.text("slow", delay=3.0)])
    async with start_agent(workspace, home, EditorClient(), env=llm_server.env()) as agent:
        session = await agent.conn.new_session(cwd=str(workspace))
        first = asyncio.create_task(
            agent.conn.prompt(session_id=session.session_id, prompt=[text_block("one")])
        )
        await asyncio.to_thread(llm_server.wait_for_calls, 1, timeout=60)
        with pytest.raises(RequestError, match="already answering a prompt") as caught:
            await agent.conn.prompt(session_id=session.session_id, prompt=[text_block("two")])
        assert caught.value.code == -32600
        assert (await first).stop_reason == "end_turn"


async def test_malformed_json_rpc_gets_errors_and_the_agent_keeps_serving(
    workspace: Path, home: Path
) -> None:
    process = await asyncio.create_subprocess_exec(
        str(BIN),
        "acp",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=server_env(home),
        cwd=workspace,
    )
    assert process.stdin is not None
    assert process.stdout is not None

    async def exchange(line: bytes) -> dict[str, Any]:
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.write(line + b"\n")
        await process.stdin.drain()
        answer: dict[str, Any] = json.loads(await asyncio.wait_for(process.stdout.readline(), 30))
        return answer

    try:
        parse = await exchange(b"{this is not json")
        assert parse["id"] is None
        assert parse["error"]["code"] == -32700
        array = await exchange(b"[1, 2]")
        assert array["error"]["code"] == -32600
        no_version = await exchange(b'{"id": 3, "method": "initialize"}')
        assert "jsonrpc" in no_version["error"]["data"]["details"]
        unknown = await exchange(b'{"jsonrpc": "2.0", "id": 4, "method": "session/fly"}')
        assert unknown["id"] == 4
        assert unknown["error"]["code"] == -32601
        bad_params = await exchange(
            b'{"jsonrpc": "2.0", "id": 5, "method": "session/prompt", "params": {"x": 1}}'
        )
        assert bad_params["id"] == 5
        assert bad_params["error"]["code"] == -32602
        ok = await exchange(
            b'{"jsonrpc": "2.0", "id": 6, "method": "initialize", "params": {"protocolVersion": 1}}'
        )
        assert ok["id"] == 6
        assert ok["result"]["protocolVersion"] == 1
    finally:
        process.stdin.close()
        await asyncio.wait_for(process.wait(), 10)


async def test_a_permission_answer_with_an_unknown_option_runs_nothing(
    workspace: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    llm_server.script(
        [
            Turn.tool_calls(("write_file", {"path": "hello.txt", "content": "x\n"})),
            Turn.text("ok"),
        ]
    )
    client = EditorClient(answer="approve-please")
    async with start_agent(workspace, home, client, env=llm_server.env()) as agent:
        session = await agent.conn.new_session(cwd=str(workspace))
        await agent.conn.prompt(session_id=session.session_id, prompt=[text_block("go")])
    assert client.writes == []
    assert (workspace / "hello.txt").read_text(encoding="utf-8") == "hello\nworld\n"
    assert "approve-please" in client.text()  # the user is told
    assert "was not offered" in llm_server.requests[1]["messages"][-1]["content"]


async def test_an_unanswered_permission_waits_is_cancellable_and_writes_nothing(
    workspace: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    llm_server.script([Turn.tool_calls(("write_file", {"path": "hello.txt", "content": "x\n"}))])
    client = EditorClient(answer="never")
    async with start_agent(workspace, home, client, env=llm_server.env()) as agent:
        session = await agent.conn.new_session(cwd=str(workspace))
        turn = asyncio.create_task(
            agent.conn.prompt(session_id=session.session_id, prompt=[text_block("go")])
        )
        await asyncio.wait_for(client.asked.wait(), 30)
        await asyncio.sleep(0.5)
        assert not turn.done()  # waiting for the user
        started = time.monotonic()
        await agent.conn.cancel(session_id=session.session_id)
        assert (await asyncio.wait_for(turn, 5)).stop_reason == "cancelled"
        assert time.monotonic() - started < 1.0
        # The next prompt answers the abandoned action (rejected, with the user's words).
        llm_server.script([Turn.text("Understood, leaving it.")])
        client.answer = "allow_once"
        again = await agent.conn.prompt(
            session_id=session.session_id, prompt=[text_block("never mind")]
        )
        assert again.stop_reason == "end_turn"
    assert client.writes == []
    assert (workspace / "hello.txt").read_text(encoding="utf-8") == "hello\nworld\n"
    told = llm_server.requests[-1]["messages"][-1]
    assert told["role"] == "tool"
    assert "never mind" in told["content"]


async def test_a_failed_editor_write_is_the_tools_error_and_nothing_reaches_disk(
    workspace: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    llm_server.script(
        [
            Turn.tool_calls(("write_file", {"path": "hello.txt", "content": "x\n"})),
            Turn.text("It failed."),
        ]
    )
    client = EditorClient(fail_writes=True)
    async with start_agent(workspace, home, client, env=llm_server.env()) as agent:
        session = await agent.conn.new_session(cwd=str(workspace))
        done = await agent.conn.prompt(session_id=session.session_id, prompt=[text_block("go")])
    assert done.stop_reason == "end_turn"
    assert (workspace / "hello.txt").read_text(encoding="utf-8") == "hello\nworld\n"
    told = llm_server.requests[1]["messages"][-1]["content"]
    assert "the editor refused to write" in told
    assert "read-only" in told
    failed = [u for u in client.of_kind("tool_call_update") if u.status == "failed"]
    assert failed


async def test_a_path_outside_the_workspace_is_refused(
    workspace: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    outside = workspace.parent / "outside.txt"
    llm_server.script(
        [
            Turn.tool_calls(("read_file", {"path": str(outside)})),
            Turn.tool_calls(("write_file", {"path": "../outside.txt", "content": "x\n"})),
            Turn.text("Refused twice."),
        ]
    )
    outside.write_text("secret\n", encoding="utf-8")
    client = EditorClient(answer="allow_once")
    async with start_agent(workspace, home, client, env=llm_server.env()) as agent:
        session = await agent.conn.new_session(cwd=str(workspace))
        done = await agent.conn.prompt(session_id=session.session_id, prompt=[text_block("go")])
    assert done.stop_reason == "end_turn"
    assert client.reads == []
    assert client.writes == []
    assert outside.read_text(encoding="utf-8") == "secret\n"
    read_result = llm_server.requests[1]["messages"][-1]["content"]
    assert "outside the workspace" in read_result
    assert "secret" not in read_result


async def test_a_broken_setting_is_named_and_the_agent_keeps_serving(
    workspace: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    env = {**llm_server.env(), "LUMINAMIND_MODEL__TEMPERATURE": "hot"}
    client = EditorClient()
    async with start_agent(workspace, home, client, env=env) as agent:
        session = await agent.conn.new_session(cwd=str(workspace))
        done = await agent.conn.prompt(session_id=session.session_id, prompt=[text_block("hi")])
        assert done.stop_reason == "end_turn"
        await agent.conn.prompt(session_id=session.session_id, prompt=[text_block("/model")])
    text = client.text(session.session_id)
    assert "LUMINAMIND_MODEL__TEMPERATURE" in text
    assert "cannot run until it is fixed" in text
    assert "Model: `openai:scripted`" in text  # slash commands still answer
    assert llm_server.requests == []  # the agent never ran with defaults in its place
