"""On SQLite and Redis a checkpoint stores only the new messages; threads saved as full lists
still load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from pydantic import SecretStr

import luminamind.agent.graph as agent_graph
from luminamind.agent.graph import build_agent_graph
from luminamind.config import Settings
from luminamind.providers import build_chat_model
from luminamind.runtime import build_tool_runtime
from luminamind.state.checkpointer import open_checkpointer, stores_message_deltas
from tests.support.llm_server import ScriptedLLM, Turn


@pytest.fixture(params=["sqlite", "redis"])
def saved_settings(llm_settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """The test's settings on SQLite, or on the session's real Redis server (emptied)."""
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        return llm_settings.model_copy(
            update={"state_backend": "redis", "redis_url": SecretStr(url)}
        )
    return llm_settings.model_copy(update={"state_backend": "sqlite"})


async def _turn(settings: Settings, text: str) -> list[str]:
    """One turn on thread "t" with a freshly opened saver; the thread's message texts after it."""
    config: Any = {"configurable": {"thread_id": "t"}}
    async with open_checkpointer(settings) as saver:
        assert stores_message_deltas(saver)
        runtime = build_tool_runtime(settings, surface="cli")
        agent = build_agent_graph(
            settings, runtime=runtime, model=build_chat_model(settings), checkpointer=saver
        )
        await agent.graph.ainvoke({"messages": [HumanMessage(text)]}, config)
        latest = await saver.aget_tuple(config)
        assert latest is not None
        stored = latest.checkpoint["channel_values"].get("messages")
        # A sentinel or nothing: the list is rebuilt from the ancestors' writes.
        assert not isinstance(stored, list)
        state = await agent.graph.aget_state(config)
        return [str(m.content) for m in state.values["messages"]]


async def test_checkpoints_hold_new_messages_only_and_the_thread_reads_back_whole(
    saved_settings: Settings, llm_server: ScriptedLLM, workspace_dir: Path
) -> None:
    settings = saved_settings
    (workspace_dir / "a.txt").write_text("alpha\n")
    llm_server.script([Turn.tool_calls(("read_file", {"path": "a.txt"})), Turn.text("first")])
    assert (await _turn(settings, "one"))[-1] == "first"
    llm_server.script([Turn.text("second")])
    texts = await _turn(settings, "two")
    assert texts[0] == "one"
    assert texts[-2:] == ["two", "second"]
    assert "first" in texts
    assert any("alpha" in t for t in texts)


async def test_a_thread_saved_with_full_message_lists_continues_with_deltas(
    saved_settings: Settings,
    llm_server: ScriptedLLM,
    workspace_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = saved_settings
    # The format before message deltas: the whole list in every checkpoint.
    monkeypatch.setattr(agent_graph, "stores_message_deltas", lambda saver: False)
    llm_server.script([Turn.text("old format")])
    config: Any = {"configurable": {"thread_id": "t"}}
    async with open_checkpointer(settings) as saver:
        runtime = build_tool_runtime(settings, surface="cli")
        old = build_agent_graph(
            settings, runtime=runtime, model=build_chat_model(settings), checkpointer=saver
        )
        await old.graph.ainvoke({"messages": [HumanMessage("before")]}, config)
        latest = await saver.aget_tuple(config)
        assert latest is not None
        assert isinstance(latest.checkpoint["channel_values"]["messages"], list)
    monkeypatch.undo()
    llm_server.script([Turn.text("new format")])
    assert await _turn(settings, "after") == ["before", "old format", "after", "new format"]
