"""The one run driver against the real service, graph, tools and the scripted model."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from luminamind.agent.events import ActionRequest, AgentEvent, Decision, FinalAnswer, RunStarted
from luminamind.agent.runs import Answers, resume_run, run_turn
from luminamind.agent.service import AgentService
from luminamind.config import Settings
from tests.support.llm_server import ScriptedLLM, Turn

OLD = "x = 1\n"
NEW = "x = 2\n"


@pytest.fixture
def memory_settings(llm_settings: Settings) -> Settings:
    return llm_settings.model_copy(update={"state_backend": "memory"})


@pytest.fixture
def project(workspace_dir: Path) -> Path:
    (workspace_dir / "a.py").write_text(OLD)
    return workspace_dir


def _two_actions(llm: ScriptedLLM) -> None:
    llm.script(
        [
            Turn.tool_calls(
                ("write_file", {"path": "a.py", "content": NEW}), ("shell", {"command": "ls"})
            ),
            Turn.text("Both done."),
        ]
    )


async def test_a_run_ends_with_its_answer_and_frees_the_thread_at_once(
    memory_settings: Settings, llm_server: ScriptedLLM
) -> None:
    llm_server.script([Turn.text("Hello there.")])
    seen: list[AgentEvent] = []

    async def on_event(event: AgentEvent) -> None:
        seen.append(event)

    async with AgentService.open(memory_settings, surface="cli") as service:
        outcome = await run_turn(service, "t", "hi", on_event=on_event)
        # Released when the driver returns, not when the loop finalises the stream.
        assert not service.is_running("t")
        assert (await service.state("t")).info.status == "idle"
    assert outcome.status == "completed"
    assert outcome.answer == "Hello there."
    assert outcome.thread_id == "t"
    assert isinstance(seen[0], RunStarted)
    assert isinstance(seen[-1], FinalAnswer)


async def test_a_new_thread_gets_its_id_from_the_run(
    memory_settings: Settings, llm_server: ScriptedLLM
) -> None:
    llm_server.script([Turn.text("ok")])
    async with AgentService.open(memory_settings, surface="cli") as service:
        outcome = await run_turn(service, None, "hi")
        assert [t.thread_id for t in await service.threads()] == [outcome.thread_id]
    assert outcome.thread_id


async def test_without_decide_the_run_waits_for_approval(
    memory_settings: Settings, llm_server: ScriptedLLM, project: Path
) -> None:
    _two_actions(llm_server)
    async with AgentService.open(memory_settings, surface="mcp") as service:
        paused = await run_turn(service, "t", "edit and list")
        assert paused.status == "awaiting_approval"
        assert [r.tool for r in paused.pending] == ["write_file", "shell"]
        assert paused.settled == {}
        assert (await service.state("t")).info.status == "awaiting_approval"
        done = await resume_run(service, "t", paused.decisions(lambda _: Decision(type="approve")))
    assert done.status == "completed"
    assert done.answer == "Both done."
    assert project.joinpath("a.py").read_text() == NEW


async def test_decisions_made_before_a_pause_are_kept_for_the_resume(
    memory_settings: Settings, llm_server: ScriptedLLM, project: Path
) -> None:
    _two_actions(llm_server)
    done_elsewhere = Decision(type="respond", message="Applied in the editor already.")

    async def decide(requests: Sequence[ActionRequest]) -> list[Decision | None]:
        return [done_elsewhere if r.tool == "write_file" else None for r in requests]

    async with AgentService.open(memory_settings, surface="lsp") as service:
        paused = await run_turn(service, "t", "edit and list", decide=decide)
        assert paused.status == "awaiting_approval"
        assert [r.tool for r in paused.undecided] == ["shell"]
        (write_id,) = paused.settled
        assert paused.pending[0].id == write_id
        decisions = paused.decisions(lambda _: Decision(type="approve"))
        assert decisions[0] == done_elsewhere
        done = await resume_run(service, "t", decisions)
    assert done.status == "completed"
    assert project.joinpath("a.py").read_text() == OLD  # the respond answer did not write
    results = str(llm_server.calls[-1].tool_results)
    assert "Applied in the editor already." in results
    assert "a.py" in results  # ls ran


async def test_decide_answering_everything_resumes_and_approve_all_sticks(
    memory_settings: Settings, llm_server: ScriptedLLM, project: Path
) -> None:
    _two_actions(llm_server)
    asked: list[list[str]] = []

    async def decide(requests: Sequence[ActionRequest]) -> Answers:
        asked.append([r.tool for r in requests])
        return Answers([Decision(type="approve") for _ in requests], approve_all=True)

    async with AgentService.open(memory_settings, surface="cli") as service:
        done = await run_turn(service, "t", "edit and list", decide=decide)
        assert await service.store.approve_all("t")
    assert done.status == "completed", done
    assert asked == [["write_file", "shell"]]
    assert project.joinpath("a.py").read_text() == NEW


async def test_errors_busy_threads_and_wrong_answers(
    memory_settings: Settings, llm_server: ScriptedLLM
) -> None:
    llm_server.script([Turn.text("slow", delay=2.0)])
    async with AgentService.open(memory_settings, surface="cli") as service:
        missing = await resume_run(service, "nope")
        assert missing.status == "error"
        assert missing.error_code == "thread_not_found"
        assert not missing.resumable
        first = asyncio.create_task(run_turn(service, "t", "one"))
        async with asyncio.timeout(10):
            while not llm_server.calls:
                await asyncio.sleep(0.02)
        assert service.running() == ["t"]
        busy = await run_turn(service, "t", "two")
        assert busy.status == "error"
        assert busy.error_code == "thread_busy"
        assert (await first).answer == "slow"

        _two_actions(llm_server)

        async def too_few(requests: Sequence[ActionRequest]) -> list[Decision | None]:
            return [Decision(type="approve")]

        with pytest.raises(ValueError, match="1 decision"):
            await run_turn(service, "u", "edit and list", decide=too_few)
        assert not service.is_running("u")


async def test_a_failing_callback_stops_the_run_and_frees_the_thread(
    memory_settings: Settings, llm_server: ScriptedLLM
) -> None:
    llm_server.script([Turn.text("never shown", chunk_delay=0.05), Turn.text("second")])

    async def explode(event: AgentEvent) -> None:
        if event.type == "text_delta":
            raise RuntimeError("the client went away")

    async with AgentService.open(memory_settings, surface="mcp") as service:
        with pytest.raises(RuntimeError, match="went away"):
            await run_turn(service, "t", "hi", on_event=explode)
        again = await run_turn(service, "t", "hi again")
    assert again.status == "completed", again
    assert again.answer == "second"


async def test_cancelling_the_caller_stops_the_run_and_a_retry_is_not_refused(
    memory_settings: Settings, llm_server: ScriptedLLM
) -> None:
    llm_server.script([Turn.text("too late", delay=20.0), Turn.text("retried")])
    async with AgentService.open(memory_settings, surface="mcp") as service:
        run = asyncio.create_task(run_turn(service, "t", "slow"))
        async with asyncio.timeout(10):
            while not llm_server.calls:
                await asyncio.sleep(0.02)
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run
        retry = await run_turn(service, "t", "again")
    assert retry.status == "completed", retry
    assert retry.answer == "retried"


async def test_cancel_from_elsewhere_is_a_cancelled_outcome(
    memory_settings: Settings, llm_server: ScriptedLLM
) -> None:
    llm_server.script([Turn.text("too late", delay=20.0)])
    async with AgentService.open(memory_settings, surface="lsp") as service:
        run = asyncio.create_task(run_turn(service, "t", "slow"))
        async with asyncio.timeout(10):
            while not llm_server.calls:
                await asyncio.sleep(0.02)
        assert await service.cancel("t") is True
        outcome = await asyncio.wait_for(run, 10)
    assert outcome.status == "cancelled"
