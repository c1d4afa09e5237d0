"""AgentService end to end: the real graph, real tools, real langchain-openai, scripted LLM.

Each test scripts the main agent's turns and the code-executor's turns (routed by its system
prompt) and checks both the events and the world (files, audit log, model requests).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from luminamind.agent.events import (
    AgentEvent,
    ApprovalRequested,
    Decision,
    ErrorEvent,
    FinalAnswer,
    RunStarted,
    SubagentFinished,
    SubagentStarted,
    TextDelta,
    TodosChanged,
    ToolFinished,
    ToolStarted,
)
from luminamind.agent.service import AgentService
from luminamind.config import Settings
from luminamind.errors import ThreadNotFoundError
from tests.support.llm_server import ScriptedLLM, Turn

CODE = "code-executor subagent"
OLD = "def greet():\n    return 'hello'\n"
NEW = "def greet():\n    return 'hello, world'\n"


@pytest.fixture
def project(workspace_dir: Path) -> Path:
    (workspace_dir / "app.py").write_text(OLD)
    (workspace_dir / "README.md").write_text("# app\n")
    return workspace_dir


@pytest.fixture
def agent_settings(llm_settings: Settings) -> Settings:
    return llm_settings.model_copy(update={"state_backend": "sqlite"})


async def collect(stream: AsyncIterator[AgentEvent]) -> list[AgentEvent]:
    return [event async for event in stream]


def script_edit_task(llm: ScriptedLLM, *, edit_args: dict[str, str] | None = None) -> None:
    """plan -> delegate -> read + grep -> write_file (approval) -> report -> answer."""
    llm.script(
        [
            Turn.tool_calls(
                (
                    "write_todos",
                    {
                        "todos": [
                            {"content": "Change greet", "status": "in_progress"},
                        ]
                    },
                )
            ),
            Turn.tool_calls(
                (
                    "task",
                    {
                        "description": "Make greet say hello, world",
                        "subagent_type": "code-executor",
                    },
                )
            ),
            Turn.text("Done: greet now says hello, world."),
        ]
    )
    llm.script_for(
        CODE,
        [
            Turn.tool_calls(
                ("read_file", {"path": "app.py"}), ("grep_search", {"pattern": "greet"})
            ),
            Turn.tool_calls(("write_file", edit_args or {"path": "app.py", "content": NEW})),
            Turn.text("Changed app.py."),
        ],
    )


async def test_plan_delegate_approve_changes_file(
    agent_settings: Settings, llm_server: ScriptedLLM, project: Path
) -> None:
    script_edit_task(llm_server)
    async with AgentService.open(agent_settings, surface="cli") as service:
        events = await collect(service.stream(None, "Make greet say hello, world"))
        assert isinstance(events[0], RunStarted)
        thread = events[0].thread_id
        assert any(
            isinstance(e, TodosChanged) and e.todos[0].content == "Change greet" for e in events
        )
        assert any(isinstance(e, SubagentStarted) and e.subagent == "code-executor" for e in events)
        started = [e.tool for e in events if isinstance(e, ToolStarted)]
        assert "read_file" in started
        assert "grep_search" in started
        agents = {e.tool: e.agent for e in events if isinstance(e, ToolStarted)}
        assert agents == {
            "write_todos": "main",
            "read_file": "code-executor",
            "grep_search": "code-executor",
        }
        pending = events[-1]
        assert isinstance(pending, ApprovalRequested)
        (request,) = pending.requests
        assert request.tool == "write_file"
        assert request.path == "app.py"
        assert request.new_text == NEW
        assert request.diff is not None
        assert "+    return 'hello, world'" in request.diff
        assert project.joinpath("app.py").read_text() == OLD

        state = await service.state(thread)
        assert state.info.status == "awaiting_approval"
        assert [r.id for r in state.pending_approvals] == [request.id]

        events = await collect(service.resume(thread, [Decision(type="approve")]))
        assert project.joinpath("app.py").read_text() == NEW
        assert isinstance(events[-1], FinalAnswer)
        assert events[-1].text == "Done: greet now says hello, world."
        assert any(
            isinstance(e, SubagentFinished) and e.result == "Changed app.py." for e in events
        )
        finished = [e for e in events if isinstance(e, ToolFinished) and e.tool == "write_file"]
        assert finished
        assert finished[0].status == "ok"
        assert "".join(e.text for e in events if isinstance(e, TextDelta) and e.agent == "main")
        # read_file and grep ran once: the resume re-entered the subagent at its checkpoint.
        audit = [
            json.loads(line)["tool"]
            for line in agent_settings.audit_log_path.read_text().splitlines()
        ]
        assert audit.count("read_file") == 1
        assert audit.count("write_file") == 1
        infos = await service.threads()
        assert [i.thread_id for i in infos] == [thread]
        assert infos[0].title == "Make greet say hello, world"
        assert infos[0].status == "idle"
    llm_server.assert_done()


async def test_reject_keeps_file_and_tells_the_model(
    agent_settings: Settings, llm_server: ScriptedLLM, project: Path
) -> None:
    script_edit_task(llm_server)
    async with AgentService.open(agent_settings, surface="cli") as service:
        events = await collect(service.stream("t-reject", "Make greet say hello, world"))
        assert isinstance(events[-1], ApprovalRequested)
        events = await collect(
            service.resume("t-reject", [Decision(type="reject", message="keep the old greeting")])
        )
        assert isinstance(events[-1], FinalAnswer)
    assert project.joinpath("app.py").read_text() == OLD
    sub_calls = [c for c in llm_server.calls if CODE in c.system]
    assert any("keep the old greeting" in r for r in sub_calls[-1].tool_results)


async def test_edit_uses_changed_arguments(
    agent_settings: Settings, llm_server: ScriptedLLM, project: Path
) -> None:
    script_edit_task(llm_server)
    edited = "def greet():\n    return 'hi'\n"
    async with AgentService.open(agent_settings, surface="cli") as service:
        await collect(service.stream("t-edit", "Make greet say hello, world"))
        bad = await collect(
            service.resume("t-edit", [Decision(type="edit", arguments={"nope": 1})])
        )
        assert isinstance(bad[-1], ErrorEvent)
        assert bad[-1].code == "invalid_decision"
        assert project.joinpath("app.py").read_text() == OLD
        events = await collect(
            service.resume(
                "t-edit",
                [Decision(type="edit", arguments={"path": "app.py", "content": edited})],
            )
        )
        assert isinstance(events[-1], FinalAnswer)
    assert project.joinpath("app.py").read_text() == edited


async def test_busy_thread_unknown_thread_and_concurrency(
    agent_settings: Settings, llm_server: ScriptedLLM, project: Path
) -> None:
    llm_server.script([Turn.text("slow one", delay=2.0), Turn.text("fast one")])
    async with AgentService.open(agent_settings, surface="mcp") as service:
        first = asyncio.create_task(collect(service.stream("t-a", "one")))
        async with asyncio.timeout(10):  # until the first run is waiting on the model
            while not llm_server.calls:
                await asyncio.sleep(0.02)
        busy = await collect(service.stream("t-a", "again"))
        assert isinstance(busy[-1], ErrorEvent)
        assert busy[-1].code == "thread_busy"
        other = await collect(service.stream("t-b", "two"))
        assert isinstance(other[-1], FinalAnswer)
        assert other[-1].text == "fast one"
        done = await first
        assert isinstance(done[-1], FinalAnswer)
        assert done[-1].text == "slow one"
        with pytest.raises(ThreadNotFoundError):
            await service.state("nope")
        missing = await collect(service.resume("nope", []))
        assert isinstance(missing[-1], ErrorEvent)
        assert missing[-1].code == "thread_not_found"
        assert await service.delete("t-a") is True
        assert [t.thread_id for t in await service.threads()] == ["t-b"]


async def test_a_thread_waiting_for_approval_refuses_a_new_message_from_any_process(
    agent_settings: Settings, llm_server: ScriptedLLM, project: Path
) -> None:
    # The check before a run reads only the latest checkpoint's key and reuses what this
    # service last saw there; an approval asked by another process moves the key.
    llm_server.script([Turn.text("first answer")])
    async with AgentService.open(agent_settings, surface="cli") as here:
        done = await collect(here.stream("t-two", "say something"))
        assert isinstance(done[-1], FinalAnswer)
        script_edit_task(llm_server)
        async with AgentService.open(agent_settings, surface="mcp") as elsewhere:
            waiting = await collect(elsewhere.stream("t-two", "Make greet say hello, world"))
            assert isinstance(waiting[-1], ApprovalRequested)
        refused = await collect(here.stream("t-two", "and now something else"))
        assert isinstance(refused[-1], ErrorEvent)
        assert refused[-1].code == "invalid_decision"
        assert "waits for approval" in refused[-1].message
        again = await collect(here.stream("t-two", "still there?"))  # now from what it saw
        assert isinstance(again[-1], ErrorEvent)
        assert "waits for approval" in again[-1].message
    assert project.joinpath("app.py").read_text() == OLD
