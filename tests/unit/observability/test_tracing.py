"""Tracing is free when off and records tool spans when a provider is installed."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Annotated

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import BaseModel, Field

from luminamind.config import Settings
from luminamind.observability import tracing
from luminamind.tools import ToolContext, ToolExecutor, ToolRegistry, tool


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


async def test_tool_calls_become_spans(settings: Settings) -> None:
    if not tracing.tracing_enabled():
        assert isinstance(tracing.span("x"), nullcontext)
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        # The global provider can be set once per process; this test owns it.
        trace.set_tracer_provider(provider)
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    executor = ToolExecutor(ToolRegistry([count]))
    context = ToolContext.from_settings(settings, surface="mcp", thread_id="t-1")
    await executor.acall("count", {"n": 3}, context=context)
    spans = [s for s in exporter.get_finished_spans() if s.name == "tool count"]
    assert spans
    assert spans[0].attributes is not None
    assert spans[0].attributes["thread_id"] == "t-1"
    assert spans[0].attributes["surface"] == "mcp"
