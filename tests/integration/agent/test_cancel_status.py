"""A cancelled run leaves its thread resumable: status ``idle``, not ``error``, however it stops.

Editors stop a run by cancelling the task that drives it ($/cancelRequest, the progress
notification's Cancel): the thread list must not then call the thread broken.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from luminamind.agent.runs import run_turn
from luminamind.agent.service import AgentService
from luminamind.config import Settings
from tests.support.llm_server import ScriptedLLM, Turn


@pytest.fixture
def memory_settings(llm_settings: Settings) -> Settings:
    return llm_settings.model_copy(update={"state_backend": "memory"})


async def _started(llm: ScriptedLLM) -> None:
    # Generous: the first run of a session builds the graph, seconds on a loaded machine.
    async with asyncio.timeout(60):
        while not llm.calls:
            await asyncio.sleep(0.02)


async def test_cancelling_the_driving_task_leaves_the_thread_idle(
    memory_settings: Settings, llm_server: ScriptedLLM
) -> None:
    llm_server.script([Turn.text("too late", delay=20.0), Turn.text("went on")])
    async with AgentService.open(memory_settings, surface="lsp") as service:
        run = asyncio.create_task(run_turn(service, "t", "slow"))
        await _started(llm_server)
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run
        (info,) = [t for t in await service.threads() if t.thread_id == "t"]
        assert info.status == "idle"
        again = await run_turn(service, "t", "go on")
    assert again.status == "completed"


async def test_cancel_from_elsewhere_leaves_the_thread_idle(
    memory_settings: Settings, llm_server: ScriptedLLM
) -> None:
    llm_server.script([Turn.text("too late", delay=20.0)])
    async with AgentService.open(memory_settings, surface="lsp") as service:
        run = asyncio.create_task(run_turn(service, "t", "slow"))
        await _started(llm_server)
        assert await service.cancel("t") is True
        await asyncio.wait_for(run, 10)
        (info,) = [t for t in await service.threads() if t.thread_id == "t"]
    assert info.status == "idle"


async def test_a_run_cancelled_before_its_first_step_still_ends(
    memory_settings: Settings, llm_server: ScriptedLLM
) -> None:
    """A cancel that lands between the run's task being created and its first step.

    Such a task never runs its body, so nothing inside it can tell the stream it stopped; the
    stream waited forever (seen under load as a hung test that cancels a run it just started).
    The loop's task factory cancels the run's task the moment it is created.
    """
    llm_server.script([Turn.text("never asked")])
    loop = asyncio.get_running_loop()
    cancelled: list[asyncio.Task[Any]] = []

    def cancel_runs_at_birth(
        loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any
    ) -> asyncio.Task[Any]:
        task = asyncio.Task(coro, loop=loop, **kwargs)
        # The task is named after the factory returns: tell the run's task by its coroutine.
        if coro.__qualname__ == "AgentService._pump.<locals>.produce":
            task.cancel()
            cancelled.append(task)
        return task

    async with AgentService.open(memory_settings, surface="lsp") as service:
        loop.set_task_factory(cancel_runs_at_birth)
        try:
            outcome = await asyncio.wait_for(run_turn(service, "t", "hello"), 20)
        finally:
            loop.set_task_factory(None)
        assert len(cancelled) == 1
        assert outcome.status == "cancelled", outcome
        assert not service.is_running("t")
        assert not llm_server.calls
        again = await run_turn(service, "t", "hello again")
    assert again.status == "completed"
