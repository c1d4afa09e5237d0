"""The model's reasoning, streamed apart from its answer, through the real provider clients.

The scripted server sends ``reasoning_content`` deltas as DeepSeek and GLM do (and Ollama's
``thinking``); the run's events carry them as `ReasoningDelta`, never in the answer.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from langchain_ollama import ChatOllama

from luminamind.agent.events import AgentEvent, ReasoningDelta, TextDelta, ToolFinished
from luminamind.agent.runs import run_turn
from luminamind.agent.service import AgentService
from luminamind.config import Settings
from tests.support.llm_server import ScriptedLLM, Turn

THOUGHT = "The user wants the product. Six times seven is forty-two."


async def _run(service: AgentService, message: str = "6*7?") -> tuple[list[AgentEvent], str]:
    seen: list[AgentEvent] = []

    async def on_event(event: AgentEvent) -> None:
        seen.append(event)

    outcome = await run_turn(service, "t", message, on_event=on_event)
    assert outcome.status == "completed", outcome
    return seen, outcome.answer or ""


def _joined(events: list[AgentEvent], kind: type[ReasoningDelta] | type[TextDelta]) -> str:
    return "".join(
        e.text for e in events if isinstance(e, ReasoningDelta | TextDelta) and isinstance(e, kind)
    )


async def test_openai_compatible_reasoning_deltas_become_reasoning_events(
    llm_settings: Settings, llm_server: ScriptedLLM
) -> None:
    llm_server.script([Turn.text("42", reasoning=THOUGHT)])
    settings = llm_settings.model_copy(update={"state_backend": "memory"})
    async with AgentService.open(settings, surface="cli") as service:
        events, answer = await _run(service)
    assert _joined(events, ReasoningDelta) == THOUGHT
    assert len([e for e in events if isinstance(e, ReasoningDelta)]) > 1  # streamed, not at the end
    assert _joined(events, TextDelta) == "42"
    assert answer == "42"
    first_text = next(i for i, e in enumerate(events) if isinstance(e, TextDelta))
    last_thought = max(i for i, e in enumerate(events) if isinstance(e, ReasoningDelta))
    assert last_thought < first_text
    # The reasoning is not sent back to the model on the next call.
    llm_server.assert_done()


async def test_reasoning_before_a_tool_call_and_without_streaming(
    llm_settings: Settings, llm_server: ScriptedLLM, workspace_dir: Path
) -> None:
    (workspace_dir / "a.txt").write_text("x\n")
    llm_server.script(
        [
            Turn.tool_calls(("read_file", {"path": "a.txt"}), reasoning="Read it first."),
            Turn.text("It says x.", reasoning="It holds x."),
        ]
    )
    model = llm_settings.model.model_copy(update={"streaming": False})
    settings = llm_settings.model_copy(update={"state_backend": "memory", "model": model})
    async with AgentService.open(settings, surface="cli") as service:
        events, answer = await _run(service, "what is in a.txt?")
    assert _joined(events, ReasoningDelta) == "Read it first.It holds x."
    assert answer == "It says x."
    assert [e.tool for e in events if isinstance(e, ToolFinished)] == ["read_file"]
    assert "Read it first" not in str(llm_server.calls[1].messages)


async def test_ollama_thinking_becomes_reasoning_events(
    llm_settings: Settings, llm_server: ScriptedLLM
) -> None:
    llm_server.script([Turn.text("42", reasoning=THOUGHT)])
    settings = llm_settings.model_copy(update={"state_backend": "memory"})
    model = ChatOllama(
        model="scripted",
        base_url=llm_server.ollama_url,
        reasoning=True,
        # As build_chat_model: no pooled sockets left open when the test's loop ends.
        client_kwargs={"limits": httpx.Limits(max_keepalive_connections=0)},
    )
    async with AgentService.open(settings, surface="cli", model=model) as service:
        events, answer = await _run(service)
    assert _joined(events, ReasoningDelta) == THOUGHT
    assert answer == "42"
