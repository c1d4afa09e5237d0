"""AgentService when things go wrong: provider errors, bad tool calls, limits, cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from luminamind.agent.events import (
    AgentEvent,
    ApprovalRequested,
    Decision,
    ErrorEvent,
    FinalAnswer,
    ToolFinished,
)
from luminamind.agent.service import AgentService
from luminamind.config import Settings
from tests.support.fixtures import scripted_settings
from tests.support.llm_server import ScriptedLLM, ToolCall, Turn


async def collect(stream: AsyncIterator[AgentEvent]) -> list[AgentEvent]:
    return [event async for event in stream]


@pytest.fixture
def memory_settings(llm_settings: Settings) -> Settings:
    return llm_settings.model_copy(update={"state_backend": "memory"})


async def test_rate_limited_twice_then_answers(
    memory_settings: Settings, llm_server: ScriptedLLM
) -> None:
    llm_server.script(
        [Turn.error(429, retry_after=0.01), Turn.error(429, retry_after=0.01), Turn.text("fine")]
    )
    async with AgentService.open(memory_settings, surface="cli") as service:
        events = await collect(service.stream("t", "hi"))
    assert isinstance(events[-1], FinalAnswer)
    assert events[-1].text == "fine"
    assert len(llm_server.calls) == 3


async def test_timeouts_open_the_circuit_with_a_clear_error(
    settings: Settings, llm_server: ScriptedLLM
) -> None:
    tight = scripted_settings(
        settings,
        llm_server,
        timeout_seconds=0.2,
        max_retries=1,
        circuit_failure_threshold=2,
        circuit_reset_seconds=60,
    ).model_copy(update={"state_backend": "memory"})
    llm_server.script([Turn.hang(2.0)] * 4)
    async with AgentService.open(tight, surface="cli") as service:
        first = await collect(service.stream("t", "hi"))
        assert isinstance(first[-1], ErrorEvent)
        assert first[-1].code == "provider_timeout"
        assert first[-1].resumable
        calls = len(llm_server.calls)
        second = await collect(service.stream("t", "again"))
    assert isinstance(second[-1], ErrorEvent)
    assert second[-1].code == "provider_unavailable"
    assert "circuit" in second[-1].message.lower() or "open" in second[-1].message.lower()
    assert len(llm_server.calls) == calls  # failed fast, no request sent


@pytest.mark.parametrize("streaming", [True, False])
async def test_unknown_tool_and_malformed_arguments_go_back_to_the_model(
    memory_settings: Settings, llm_server: ScriptedLLM, workspace_dir: Path, streaming: bool
) -> None:
    memory_settings = memory_settings.model_copy(
        update={"model": memory_settings.model.model_copy(update={"streaming": streaming})}
    )
    llm_server.script(
        [
            Turn.tool_calls(("no_such_tool", {"x": 1})),
            Turn.tool_calls(ToolCall("read_file", "{not json")),
            Turn.tool_calls(("read_file", {"path": 42, "bogus": True})),
            Turn.text("recovered"),
        ]
    )
    async with AgentService.open(memory_settings, surface="cli") as service:
        events = await collect(service.stream("t", "go"))
    assert isinstance(events[-1], FinalAnswer)
    assert events[-1].text == "recovered"
    results = llm_server.calls
    assert "no_such_tool" in results[1].tool_results[0]
    # Streamed, langchain-openai turns unparseable arguments into {} (a validation error);
    # not streamed, they arrive as invalid_tool_calls, which our middleware answers.
    expected = "path: Field required" if streaming else "not a valid JSON object"
    assert expected in results[2].tool_results[-1]
    assert "bogus" in results[3].tool_results[-1]
    errors = [e for e in events if isinstance(e, ToolFinished) and e.status == "error"]
    assert len(errors) >= 2


async def test_step_limit_is_a_clear_resumable_error(
    memory_settings: Settings, llm_server: ScriptedLLM, workspace_dir: Path
) -> None:
    (workspace_dir / "a.txt").write_text("a\n")
    limited = memory_settings.model_copy(update={"max_steps": 2})
    llm_server.script([Turn.tool_calls(("read_file", {"path": "a.txt"}))] * 2)
    async with AgentService.open(limited, surface="cli") as service:
        events = await collect(service.stream("t", "loop"))
        assert isinstance(events[-1], ErrorEvent)
        assert events[-1].code == "step_limit"
        assert "max_steps" in events[-1].message
        assert events[-1].resumable
        llm_server.script([Turn.text("finished now")])
        resumed = await collect(service.resume("t", []))
        assert isinstance(resumed[-1], FinalAnswer)
        assert resumed[-1].text == "finished now"
        assert (await service.state("t")).info.status == "idle"


async def test_cancel_stops_the_run_and_keeps_the_thread(
    memory_settings: Settings, llm_server: ScriptedLLM
) -> None:
    llm_server.script([Turn.text("too late", delay=3.0), Turn.text("second try")])
    async with AgentService.open(memory_settings, surface="lsp") as service:
        assert await service.cancel("t") is False
        run = asyncio.create_task(collect(service.stream("t", "slow")))
        # Cancel once the model is answering (a fixed sleep is too short on a loaded machine).
        async with asyncio.timeout(10):
            while not llm_server.calls:
                await asyncio.sleep(0.02)
        assert await service.cancel("t") is True
        events = await asyncio.wait_for(run, 5)
        assert isinstance(events[-1], ErrorEvent)
        assert events[-1].code == "cancelled"
        again = await collect(service.stream("t", "again"))
        assert isinstance(again[-1], FinalAnswer)


async def test_respond_and_approve_all(
    memory_settings: Settings, llm_server: ScriptedLLM, workspace_dir: Path
) -> None:
    llm_server.script(
        [
            Turn.tool_calls(("write_file", {"path": "x.txt", "content": "x"})),
            Turn.tool_calls(("write_file", {"path": "y.txt", "content": "y"})),
            Turn.tool_calls(("write_file", {"path": "z.txt", "content": "z"})),
            Turn.text("all written"),
        ]
    )
    async with AgentService.open(memory_settings, surface="cli") as service:
        events = await collect(service.stream("t", "write"))
        assert isinstance(events[-1], ApprovalRequested)
        assert events[-1].requests[0].new_text == "x"
        missing = await collect(service.resume("t", [Decision(type="respond")]))
        assert isinstance(missing[-1], ErrorEvent)
        assert missing[-1].code == "invalid_decision"
        events = await collect(
            service.resume("t", [Decision(type="respond", message="applied in the editor")])
        )
        assert isinstance(events[-1], ApprovalRequested)
        assert not (workspace_dir / "x.txt").exists()
        events = await collect(service.resume("t", [Decision(type="approve")], approve_all=True))
        assert isinstance(events[-1], FinalAnswer)
    assert (workspace_dir / "y.txt").read_text() == "y"
    assert (workspace_dir / "z.txt").read_text() == "z"
    assert "applied in the editor" in llm_server.calls[1].tool_results[-1]


async def test_missing_model_is_an_error_event_not_an_exception(
    settings: Settings,
) -> None:
    bare = settings.model_copy(update={"state_backend": "memory"})
    async with AgentService.open(bare, surface="cli") as service:
        events = await collect(service.stream("t", "hi"))
        assert isinstance(events[-1], ErrorEvent)
        assert events[-1].code == "config_error"
        assert "GLM_API_KEY" in events[-1].message
        assert await service.threads() != []
