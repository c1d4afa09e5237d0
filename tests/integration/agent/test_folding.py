"""The middleware's model hooks run as one node each, in LangChain's order and with its jumps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import AgentMiddleware
from langchain.agents.middleware.types import AgentState, hook_config
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.runtime import Runtime

from luminamind.agent.folding import FoldedModelHooks, fold_model_hooks
from luminamind.agent.graph import build_agent_graph
from luminamind.config import Settings
from luminamind.providers import build_chat_model
from luminamind.runtime import build_tool_runtime
from tests.support.llm_server import ScriptedLLM, Turn


async def test_the_agent_graph_is_model_tools_and_two_folded_hook_nodes(
    llm_settings: Settings, llm_server: ScriptedLLM, workspace_dir: Path
) -> None:
    (workspace_dir / "a.txt").write_text("a\n")
    runtime = build_tool_runtime(llm_settings, surface="cli")
    saver = InMemorySaver()
    agent = build_agent_graph(
        llm_settings, runtime=runtime, model=build_chat_model(llm_settings), checkpointer=saver
    )
    nodes = set(agent.graph.get_graph().nodes)
    assert nodes == {
        "__start__",
        "__end__",
        "model",
        "tools",
        "LuminaBeforeModel.before_model",
        "LuminaAfterModel.after_model",
    }
    folds = [m for m in agent.graph.builder.nodes if "Lumina" in m]
    assert len(folds) == 2
    llm_server.script([Turn.tool_calls(("read_file", {"path": "a.txt"})), Turn.text("done")])
    config: Any = {"configurable": {"thread_id": "t"}}
    await agent.graph.ainvoke({"messages": [HumanMessage("read a.txt")]}, config)
    history = [s async for s in agent.graph.aget_state_history(config)]
    # input, then per model call: before hooks, model, after hooks (+ tools when it calls one)
    assert len(history) == 1 + 1 + (4 + 3)
    assert history[0].values["messages"][-1].content == "done"


class _Recorder(AgentMiddleware[Any, Any, Any]):
    """Appends a marker message after the model and records what it saw."""

    def __init__(self, label: str, seen: list[tuple[str, list[str]]], jump: bool = False) -> None:
        super().__init__()
        self.label = label
        self.seen = seen
        self.jump = jump

    @property
    def name(self) -> str:
        return f"Recorder{self.label}"

    @hook_config(can_jump_to=["end"])
    def after_model(self, state: AgentState[Any], runtime: Runtime[Any]) -> dict[str, Any]:
        del runtime
        self.seen.append((self.label, [str(m.content) for m in state["messages"]]))
        update: dict[str, Any] = {"messages": [AIMessage(f"from {self.label}")]}
        if self.jump:
            update["jump_to"] = "end"
        return update


async def test_folded_hooks_see_each_others_updates_and_stop_at_a_jump(
    llm_settings: Settings, llm_server: ScriptedLLM
) -> None:
    seen: list[tuple[str, list[str]]] = []
    stack = [_Recorder("outer", seen), _Recorder("middle", seen, jump=True), _Recorder("x", seen)]
    folded = fold_model_hooks(stack)
    assert isinstance(folded[-1], FoldedModelHooks)
    assert folded[-1].folded == (
        "Recorderx.after_model",
        "Recordermiddle.after_model",
        "Recorderouter.after_model",
    )
    graph = create_agent(build_chat_model(llm_settings), [], middleware=folded)
    llm_server.script([Turn.text("answer")])
    result = await graph.ainvoke({"messages": [HumanMessage("hi")]})
    # after_model hooks run innermost first; "middle" jumps to the end, so "outer" never runs
    assert seen == [
        ("x", ["hi", "answer"]),
        ("middle", ["hi", "answer", "from x"]),
    ]
    assert [m.content for m in result["messages"]] == ["hi", "answer", "from x", "from middle"]
