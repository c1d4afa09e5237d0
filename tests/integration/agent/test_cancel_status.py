"""A cancelled run leaves its thread resumable: status ``idle``, not ``error``, however it stops.

Editors stop a run by cancelling the task that drives it ($/cancelRequest, the progress
notification's Cancel): the thread list must not then call the thread broken.
"""

from __future__ import annotations

import asyncio

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
