"""The agent over MCP: run_task with the scripted LLM, progress, approvals, cancellation, resume.

The servers are real ``luminamind mcp`` processes pointed at the scripted LLM (a real HTTP server
speaking the OpenAI API): a stdio one per test for the end-to-end run, and one HTTP server for
the module (the agent stack loads once) for approvals, resume and cancellation. The client is
the official MCP client.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest

from tests.support.llm_server import ScriptedLLM, Turn
from tests.support.mcp_clients import (
    TOKEN,
    HttpServer,
    ScriptedUser,
    http_session,
    start_http_server,
    stdio_session,
    stop,
    text_of,
)
from tests.support.review_scenario import REASON, assert_kept_1_and_3, script_three_hunks

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def agent_server(
    _llm_server_session: ScriptedLLM, mcp_workspace: Path, mcp_home: Path
) -> Iterator[HttpServer]:
    """One HTTP server for the module, its agent talking to the session's scripted LLM."""
    env = _llm_server_session.env() | {
        "LUMINAMIND_MCP_TOKEN": TOKEN,
        "LUMINAMIND_SERVER__RATE_LIMIT_PER_MINUTE": "100000",
    }
    server = start_http_server(mcp_workspace, mcp_home, env=env)
    yield server
    stop(server.process)


def _structured(result: types.CallToolResult) -> dict[str, Any]:  # Any: JSON
    assert not result.is_error, text_of(result)
    assert isinstance(result.structured_content, dict)
    return result.structured_content


async def test_run_task_streams_progress_and_answers(
    workspace: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    llm_server.script(
        [
            Turn.tool_calls(("read_file", {"path": "hello.txt"})),
            Turn.text("The file greets the world."),
        ]
    )
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        del progress, total
        messages.append(message or "")

    async with stdio_session(workspace, home, env=llm_server.env()) as session:
        result = await session.call_tool(
            "run_task",
            {"task": "What does hello.txt say?"},
            progress_callback=on_progress,
        )
        data = _structured(result)
        assert data["status"] == "completed"
        assert "greets the world" in data["answer"]
        assert any("read_file" in m for m in messages), messages
        assert len(messages) >= 3, "one notification per agent event"
        thread_id = data["thread_id"]
        # The tool result went back to the model.
        assert "hello" in json.dumps(llm_server.calls[1].tool_results)
        state = _structured(await session.call_tool("get_thread", {"thread_id": thread_id}))
        assert state["info"]["thread_id"] == thread_id
        assert any("hello.txt" in m["content"] for m in state["messages"])
        listing = _structured(await session.call_tool("list_threads", {}))
        assert thread_id in [t["thread_id"] for t in listing["threads"]]
        resource = await session.read_resource(f"luminamind://threads/{thread_id}")
        contents = resource.contents[0]
        assert isinstance(contents, types.TextResourceContents)
        assert json.loads(contents.text)["info"]["thread_id"] == thread_id
        threads = await session.read_resource("luminamind://threads")
        assert thread_id in threads.contents[0].text  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("decider", "written"),
    [
        (ScriptedUser("accept", {"decision": "approve"}), True),
        (ScriptedUser("accept", {"decision": "reject", "message": "not that file"}), False),
        (ScriptedUser("decline"), False),
    ],
    ids=["approve", "reject", "decline"],
)
async def test_agent_approval_through_elicitation(
    agent_server: HttpServer, llm_server: ScriptedLLM, decider: ScriptedUser, written: bool
) -> None:
    name = f"notes-{decider.action}-{(decider.content or {}).get('decision', 'none')}.txt"
    llm_server.script(
        [
            Turn.tool_calls(("write_file", {"path": name, "content": "remember\n"})),
            Turn.text("Finished."),
        ]
    )
    async with http_session(agent_server.url, elicitation=decider) as session:
        data = _structured(await session.call_tool("run_task", {"task": f"Write {name}"}))
    assert data["status"] == "completed", data
    assert len(decider.messages) == 1
    assert decider.schemas[0]["properties"]["decision"]["enum"]
    assert "write_file" in decider.messages[0]
    assert "+remember" in decider.messages[0], "the approval shows the diff"
    assert (agent_server.workspace / name).exists() is written
    if decider.content and decider.content.get("message"):
        assert "not that file" in json.dumps(llm_server.calls[1].tool_results)


async def test_elicitation_with_one_box_per_hunk_keeps_hunks_1_and_3(
    agent_server: HttpServer, llm_server: ScriptedLLM
) -> None:
    script_three_hunks(llm_server, agent_server.workspace)
    user = ScriptedUser(
        "accept", {"hunk_1": True, "hunk_2": False, "hunk_3": True, "reason": REASON}
    )
    async with http_session(agent_server.url, elicitation=user) as session:
        data = _structured(await session.call_tool("run_task", {"task": "Spell out the numbers"}))
    assert data["status"] == "completed", data
    (schema,) = user.schemas
    boxes = {k: v for k, v in schema["properties"].items() if k.startswith("hunk_")}
    assert list(boxes) == ["hunk_1", "hunk_2", "hunk_3"]
    assert all(box["type"] == "boolean" and box["default"] is True for box in boxes.values())
    assert "Hunk 2 — notes.txt" in user.messages[0]
    assert "+line twenty" in user.messages[0], "the message shows each hunk's diff"
    assert_kept_1_and_3(llm_server, agent_server.workspace)


async def test_awaiting_approval_then_resume_task(
    agent_server: HttpServer, llm_server: ScriptedLLM
) -> None:
    llm_server.script(
        [
            Turn.tool_calls(("write_file", {"path": "later.txt", "content": "later\n"})),
            Turn.text("Written after approval."),
        ]
    )
    target = agent_server.workspace / "later.txt"
    async with http_session(agent_server.url) as session:
        paused = _structured(await session.call_tool("run_task", {"task": "Write later.txt"}))
        assert paused["status"] == "awaiting_approval"
        assert [p["tool"] for p in paused["pending"]] == ["write_file"]
        assert "+later" in (paused["pending"][0]["diff"] or "")
        assert not target.exists()
        # No decisions while actions are pending: shown again, nothing runs.
        again = _structured(
            await session.call_tool("resume_task", {"thread_id": paused["thread_id"]})
        )
        assert again["status"] == "awaiting_approval", again
        assert [p["tool"] for p in again["pending"]] == ["write_file"]
        assert not target.exists()
        state = _structured(
            await session.call_tool("get_thread", {"thread_id": paused["thread_id"]})
        )
        assert [a["tool"] for a in state["pending_approvals"]] == ["write_file"]
    # Another connection (any replica sharing the checkpointer) can resume the thread.
    async with http_session(agent_server.url) as session:
        done = _structured(
            await session.call_tool(
                "resume_task",
                {"thread_id": paused["thread_id"], "decisions": [{"type": "approve"}]},
            )
        )
    assert done["status"] == "completed"
    assert "after approval" in done["answer"]
    assert target.read_text() == "later\n"


async def test_cancelling_run_task_stops_the_run(
    agent_server: HttpServer, llm_server: ScriptedLLM
) -> None:
    llm_server.script([Turn.text("too late", delay=30.0)])
    async with http_session(agent_server.url) as session:
        finished: list[bool] = []

        async def call() -> None:
            await session.call_tool("run_task", {"task": "Think slowly", "thread_id": "slow-1"})
            finished.append(True)

        async with anyio.create_task_group() as tg:
            tg.start_soon(call)
            # Cancel once the model is thinking: the client sends notifications/cancelled.
            await anyio.to_thread.run_sync(lambda: llm_server.wait_for_calls(1, timeout=60))
            tg.cancel_scope.cancel()
        assert not finished, "the call was still running when the client cancelled"
        # The server is alive, and the thread is free for the next run.
        llm_server.script([Turn.text("Quick answer.")])
        data = _structured(
            await session.call_tool("run_task", {"task": "Answer now", "thread_id": "slow-1"})
        )
    assert data["status"] == "completed", data
    assert "Quick answer" in data["answer"]


async def test_thread_ids_complete_in_the_thread_template(
    agent_server: HttpServer, llm_server: ScriptedLLM
) -> None:
    llm_server.script([Turn.text("Hi.")])
    template = types.ResourceTemplateReference(
        type="ref/resource", uri="luminamind://threads/{thread_id}"
    )
    async with http_session(agent_server.url) as session:
        await session.call_tool("run_task", {"task": "Say hi", "thread_id": "complete-me-1"})
        found = await session.complete(template, {"name": "thread_id", "value": "complete-me"})
        assert found.completion.values == ["complete-me-1"]
        assert (
            await session.complete(template, {"name": "thread_id", "value": "zz"})
        ).completion.values == []
