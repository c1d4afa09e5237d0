"""Tracing is free when off; with a provider, agent runs, steps, model and tool calls nest."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Annotated

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import BaseModel, Field

from luminamind.agent.events import FinalAnswer
from luminamind.agent.service import AgentService
from luminamind.config import Settings
from luminamind.observability import tracing
from luminamind.tools import ToolContext, ToolExecutor, ToolRegistry, tool
from tests.support.llm_server import ScriptedLLM, Turn


class Out(BaseModel):
    n: int


@tool(family="system", read_only=True)
async def count(ctx: ToolContext, *, n: Annotated[int, Field(ge=0)]) -> Out:
    """Count."""
    return Out(n=n)


def test_off_without_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
    assert not tracing._wanted({})
    assert tracing._wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert not tracing._wanted({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "x"})


@pytest.fixture
def spans() -> InMemorySpanExporter:
    """A fresh exporter on the process's tracer provider (installed here if there is none)."""
    if not tracing.tracing_enabled():
        assert isinstance(tracing.span("x"), nullcontext)
        assert tracing.start_span("x") is None
        assert tracing.step_callbacks() == []
        # The global provider can be set once per process; these tests own it.
        trace.set_tracer_provider(TracerProvider())
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


async def test_tool_calls_become_spans(settings: Settings, spans: InMemorySpanExporter) -> None:
    executor = ToolExecutor(ToolRegistry([count]))
    context = ToolContext.from_settings(settings, surface="mcp", thread_id="t-1")
    await executor.acall("count", {"n": 3}, context=context)
    found = [s for s in spans.get_finished_spans() if s.name == "tool count"]
    assert found
    assert found[0].attributes is not None
    assert found[0].attributes["thread_id"] == "t-1"
    assert found[0].attributes["surface"] == "mcp"


async def test_agent_run_steps_llm_and_tool_calls_nest(
    llm_settings: Settings, llm_server: ScriptedLLM, spans: InMemorySpanExporter
) -> None:
    (llm_settings.workspace / "a.txt").write_text("alpha\n")
    llm_server.script(
        [
            Turn.tool_calls(("read_file", {"path": "a.txt"}), usage=(20, 5)),
            Turn.text("It says alpha.", usage=(30, 4)),
        ]
    )
    async with AgentService.open(llm_settings, surface="cli") as service:
        events = [e async for e in service.stream("trace-1", "What is in a.txt?")]
    assert isinstance(events[-1], FinalAnswer), events[-1]
    finished = spans.get_finished_spans()
    by_id = {s.context.span_id: s for s in finished if s.context is not None}

    def parent(s: ReadableSpan) -> ReadableSpan | None:
        return by_id.get(s.parent.span_id) if s.parent is not None else None

    (run,) = [s for s in finished if s.name == "agent run"]
    assert run.attributes is not None
    assert run.attributes["thread_id"] == "trace-1"
    assert run.status.is_ok
    steps = [s for s in finished if s.name.startswith("agent step ")]
    assert {s.name for s in steps} >= {"agent step model", "agent step tools"}
    assert all(parent(s) is run for s in steps)
    llm = [s for s in finished if s.name == "llm scripted"]
    assert len(llm) == 2
    assert all(getattr(parent(s), "name", None) == "agent step model" for s in llm)
    assert llm[0].attributes is not None
    assert llm[0].attributes["gen_ai.usage.input_tokens"] == 20
    (tool_span,) = [s for s in finished if s.name == "tool read_file"]
    assert getattr(parent(tool_span), "name", None) == "agent step tools"
    assert tool_span.attributes is not None
    assert tool_span.attributes["thread_id"] == "trace-1"
    # Everything is one trace, and no step is left open (the run-id map is empty again).
    assert {s.context.trace_id for s in [run, *steps, *llm, tool_span] if s.context} == {
        run.context.trace_id if run.context else 0
    }
    assert not tracing._step_of_run


async def test_subagent_steps_nest_under_the_task_call(
    llm_settings: Settings, llm_server: ScriptedLLM, spans: InMemorySpanExporter
) -> None:
    (llm_settings.workspace / "a.txt").write_text("alpha\n")
    llm_server.script(
        [
            Turn.tool_calls(
                ("task", {"description": "Read a.txt", "subagent_type": "code-executor"})
            ),
            Turn.text("The subagent read it."),
        ]
    )
    llm_server.script_for(
        "code-executor subagent",
        [Turn.tool_calls(("read_file", {"path": "a.txt"})), Turn.text("a.txt says alpha.")],
    )
    async with AgentService.open(llm_settings, surface="cli") as service:
        events = [e async for e in service.stream("trace-2", "Delegate reading a.txt")]
    assert isinstance(events[-1], FinalAnswer), events[-1]
    llm_server.assert_done()
    finished = spans.get_finished_spans()
    by_id = {s.context.span_id: s for s in finished if s.context is not None}

    def ancestors(s: ReadableSpan) -> list[str]:
        names = []
        while s.parent is not None and s.parent.span_id in by_id:
            s = by_id[s.parent.span_id]
            agent = (s.attributes or {}).get("agent")
            names.append(f"{s.name} [{agent}]" if agent else s.name)
        return names

    (tool_span,) = [s for s in finished if s.name == "tool read_file"]
    assert ancestors(tool_span) == [
        "agent step tools [code-executor]",
        "agent step tools [main]",
        "agent run",
    ]
    assert not tracing._step_of_run
