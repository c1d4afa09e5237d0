"""What the model is given: tools by policy, subagents (built-in and from the config)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from luminamind.agent.events import AgentEvent, ErrorEvent, FinalAnswer, ToolStarted
from luminamind.agent.service import AgentService
from luminamind.config import Settings, SubagentConfig
from tests.support.llm_server import LLMRequest, ScriptedLLM, Turn


async def collect(stream: AsyncIterator[AgentEvent]) -> list[AgentEvent]:
    return [event async for event in stream]


def tool_names(request: LLMRequest) -> set[str]:
    return {t["function"]["name"] for t in request.body.get("tools", [])}


async def test_denied_tools_are_hidden_and_auto_tools_run_without_asking(
    llm_settings: Settings, llm_server: ScriptedLLM, workspace_dir: Path
) -> None:
    settings = llm_settings.model_copy(
        update={
            "state_backend": "memory",
            "approvals": {"shell": "deny", "write_file": "auto"},
        }
    )
    llm_server.script(
        [Turn.tool_calls(("write_file", {"path": "n.txt", "content": "n"})), Turn.text("ok")]
    )
    async with AgentService.open(settings, surface="cli") as service:
        events = await collect(service.stream("t", "write"))
    assert isinstance(events[-1], FinalAnswer)
    assert (workspace_dir / "n.txt").read_text() == "n"
    names = tool_names(llm_server.calls[0])
    assert "shell" not in names
    assert {"task", "write_todos", "read_file", "grep_search", "web_search"} <= names


async def test_user_subagent_gets_its_prompt_and_only_its_tools(
    llm_settings: Settings, llm_server: ScriptedLLM, workspace_dir: Path
) -> None:
    (workspace_dir / "doc.md").write_text("# Doc\n")
    reviewer = SubagentConfig(
        name="reviewer",
        description="reviews documents",
        prompt="You are the doc reviewer of {workspace}.",
        tools=["read_file"],
    )
    settings = llm_settings.model_copy(update={"state_backend": "memory", "subagents": [reviewer]})
    llm_server.script(
        [
            Turn.tool_calls(
                ("task", {"description": "Review doc.md", "subagent_type": "reviewer"})
            ),
            Turn.text("Reviewed."),
        ]
    )
    llm_server.script_for(
        "doc reviewer",
        [Turn.tool_calls(("read_file", {"path": "doc.md"})), Turn.text("Looks good")],
    )
    async with AgentService.open(settings, surface="cli") as service:
        events = await collect(service.stream("t", "review"))
    assert isinstance(events[-1], FinalAnswer)
    sub = [c for c in llm_server.calls if "doc reviewer" in c.system]
    assert str(workspace_dir) in sub[0].system
    assert tool_names(sub[0]) == {"read_file"}
    assert any(isinstance(e, ToolStarted) and e.agent == "reviewer" for e in events)
    assert "Looks good" in llm_server.calls[-1].tool_results[-1]
    assert "reviewer: reviews documents" in llm_server.calls[0].system


async def test_unknown_subagent_type_goes_back_to_the_model(
    llm_settings: Settings, llm_server: ScriptedLLM
) -> None:
    settings = llm_settings.model_copy(update={"state_backend": "memory"})
    llm_server.script(
        [
            Turn.tool_calls(("task", {"description": "x", "subagent_type": "wizard"})),
            Turn.text("ok"),
        ]
    )
    async with AgentService.open(settings, surface="cli") as service:
        events = await collect(service.stream("t", "go"))
    assert isinstance(events[-1], FinalAnswer)
    assert "no subagent 'wizard'" in llm_server.calls[1].tool_results[0]


async def test_user_subagent_with_unknown_tool_is_a_config_error(
    llm_settings: Settings, llm_server: ScriptedLLM
) -> None:
    bad = SubagentConfig(name="x", description="x", prompt="x", tools=["teleport"])
    settings = llm_settings.model_copy(update={"state_backend": "memory", "subagents": [bad]})
    async with AgentService.open(settings, surface="cli") as service:
        events = await collect(service.stream("t", "go"))
    assert isinstance(events[-1], ErrorEvent)
    assert events[-1].code == "config_error"
    assert "teleport" in events[-1].message
    assert llm_server.calls == []
