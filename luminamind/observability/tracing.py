"""OpenTelemetry tracing: a span per agent run, step, model call and tool call.

Tracing is configured by the standard ``OTEL_*`` variables (``OTEL_EXPORTER_OTLP_ENDPOINT``,
``OTEL_TRACES_EXPORTER``, ``OTEL_SERVICE_NAME``...). When none is set, or the ``otel`` extra is not
installed, `span` is a ``nullcontext`` and `start_span` returns None: no import, no allocation
beyond the call itself.

The shape of a run's trace::

    agent run                       (AgentService: one per stream/resume)
      agent step model              (one per LangGraph node execution: `step_callbacks`)
        llm scripted                (the providers' middleware)
      agent step tools
        tool read_file              (the tool executor)

LangGraph runs each node in its own task with a copied context, so a step span cannot simply be
made "current" around the node. `step_callbacks` (a LangChain callback handler) opens the step spans
and remembers which LangChain run ids belong to which step; `span` then parents model and tool
spans on the step of the LangChain run it is called from.
"""

from __future__ import annotations

import contextvars
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import lru_cache
from typing import Any
from uuid import UUID

import structlog

__all__ = [
    "configure_tracing",
    "end_span",
    "span",
    "start_span",
    "step_callbacks",
    "task_context",
    "tracing_enabled",
]

_log = structlog.get_logger(__name__)


def _wanted(environ: Mapping[str, str]) -> bool:
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none" or environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    return bool(
        exporter
        or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


@lru_cache(maxsize=1)
def configure_tracing() -> bool:
    """Install an OTLP tracer provider if the environment asks for one; True when tracing is on.

    Called once per process at the entry point; later calls return the first answer.
    """
    if not _wanted(os.environ):
        return False
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
    except ImportError:
        _log.warning("tracing_unavailable", hint="pip install 'luminamind[otel]'")
        return False
    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": os.environ.get("OTEL_SERVICE_NAME", "luminamind")}
        )
    )
    if os.environ.get("OTEL_TRACES_EXPORTER", "otlp").lower() == "console":
        # stderr: stdout carries the stdio MCP and LSP protocols.
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter(out=sys.stderr)))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _log.info("tracing_configured", exporter=os.environ.get("OTEL_TRACES_EXPORTER", "otlp"))
    return True


@lru_cache(maxsize=1)
def _otel_installed() -> bool:
    # Cached: a failed import is retried (and costs a path scan) on every attempt.
    try:
        import opentelemetry.trace  # noqa: F401
    except ImportError:
        return False
    return True


def tracing_enabled() -> bool:
    """True when a real tracer provider is installed (by us or by the embedding application)."""
    if not _otel_installed():
        return False
    from opentelemetry import trace

    provider = trace.get_tracer_provider()
    return type(provider).__name__ not in {"ProxyTracerProvider", "NoOpTracerProvider"}


def _set_attributes(current: Any, attributes: Mapping[str, Any]) -> None:  # Any: an OTel span
    for key, value in attributes.items():
        if value is not None:
            current.set_attribute(
                key, value if isinstance(value, str | int | float | bool) else str(value)
            )


# LangChain run id -> the step span that run executes in (see `step_callbacks`).
_step_of_run: dict[UUID, Any] = {}  # Any: OTel spans


def _step_parent() -> Any:  # Any: an OTel Context, or None for "the current one"
    """The context of the agent step the caller runs in, if it runs inside one."""
    from langchain_core.runnables.config import var_child_runnable_config
    from opentelemetry import trace

    config = var_child_runnable_config.get()
    callbacks = config.get("callbacks") if config else None
    run_id = getattr(callbacks, "parent_run_id", None)
    step = _step_of_run.get(run_id) if run_id is not None else None
    if step is None:
        return None
    # The innermost step wins: a tool called by a subagent maps to the subagent's own step.
    return trace.set_span_in_context(step)


@contextmanager
def _real_span(name: str, attributes: Mapping[str, Any]) -> Iterator[Any]:
    from opentelemetry import trace

    tracer = trace.get_tracer("luminamind")
    with tracer.start_as_current_span(name, context=_step_parent()) as current:
        _set_attributes(current, attributes)
        yield current


def span(name: str, **attributes: Any) -> AbstractContextManager[Any]:  # Any: OTel attribute values
    """A span named ``name``, current for the block, when tracing is on; else a no-op."""
    if not tracing_enabled():
        return nullcontext()
    return _real_span(name, attributes)


def start_span(name: str, **attributes: Any) -> Any:  # Any: an OTel span, or None
    """Start a span that is not made current (end it with `end_span`); None when tracing is off.

    For work whose start and end sit in different frames (an async generator's run), where a
    current-span context manager would be entered and left in different contexts.
    """
    if not tracing_enabled():
        return None
    from opentelemetry import trace

    started = trace.get_tracer("luminamind").start_span(name)
    _set_attributes(started, attributes)
    return started


def end_span(started: Any, *, error: str | None = None) -> None:  # Any: from `start_span`
    """End a span from `start_span` (None is ignored), marking it failed when ``error`` is set."""
    if started is None:
        return
    if error is not None:
        from opentelemetry.trace import Status, StatusCode

        started.set_status(Status(StatusCode.ERROR, error))
    started.end()


def task_context(parent: Any) -> contextvars.Context:  # Any: from `start_span`
    """A copy of the current context in which ``parent`` (if any) is the current span.

    Pass it to ``asyncio.create_task(..., context=...)``: spans opened in the task become
    children of ``parent`` and nothing leaks back into the caller's context.
    """
    copied = contextvars.copy_context()
    if parent is not None:
        from opentelemetry import context, trace

        copied.run(context.attach, trace.set_span_in_context(parent))
    return copied


def _make_step_spans() -> Any:  # Any: a LangChain callback handler
    from langchain_core.callbacks import BaseCallbackHandler
    from opentelemetry import trace

    class _StepSpans(BaseCallbackHandler):
        """Opens a span per LangGraph node execution and maps nested run ids to it."""

        # Called in the caller's thread and context, not in an executor.
        run_inline = True

        def __init__(self) -> None:
            super().__init__()
            self._steps: dict[UUID, Any] = {}  # Any: OTel spans

        def on_chain_start(
            self,
            serialized: Any,  # Any: LangChain's callback signature
            inputs: Any,
            *,
            run_id: UUID,
            parent_run_id: UUID | None = None,
            metadata: dict[str, Any] | None = None,
            **kwargs: Any,
        ) -> None:
            meta = metadata or {}
            node = meta.get("langgraph_node")
            parent = _step_of_run.get(parent_run_id) if parent_run_id is not None else None
            if node is not None and kwargs.get("name") == node:
                context = trace.set_span_in_context(parent) if parent is not None else None
                step = trace.get_tracer("luminamind").start_span(
                    f"agent step {node}", context=context
                )
                _set_attributes(
                    step,
                    {
                        "node": node,
                        "step": meta.get("langgraph_step"),
                        "thread_id": meta.get("thread_id"),
                        "agent": meta.get("luminamind_agent", "main"),
                    },
                )
                self._steps[run_id] = step
                _step_of_run[run_id] = step
            elif parent is not None:
                _step_of_run[run_id] = parent

        def _finish(self, run_id: UUID, error: BaseException | None = None) -> None:
            _step_of_run.pop(run_id, None)
            step = self._steps.pop(run_id, None)
            if step is None:
                return
            if error is not None and not _is_interrupt(error):
                from opentelemetry.trace import Status, StatusCode

                step.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
            step.end()

        def _nested(self, run_id: UUID, parent_run_id: UUID | None) -> None:
            parent = _step_of_run.get(parent_run_id) if parent_run_id is not None else None
            if parent is not None:
                _step_of_run[run_id] = parent

        def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
            self._finish(run_id)

        def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
            self._finish(run_id, error)

        def on_tool_start(
            self,
            serialized: Any,
            input_str: str,
            *,
            run_id: UUID,
            parent_run_id: UUID | None = None,
            **kwargs: Any,
        ) -> None:
            self._nested(run_id, parent_run_id)

        def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
            self._finish(run_id)

        def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
            self._finish(run_id)

        def on_chat_model_start(
            self,
            serialized: Any,
            messages: Any,
            *,
            run_id: UUID,
            parent_run_id: UUID | None = None,
            **kwargs: Any,
        ) -> None:
            self._nested(run_id, parent_run_id)

        def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
            self._finish(run_id)

        def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
            self._finish(run_id)

    return _StepSpans()


def _is_interrupt(error: BaseException) -> bool:
    # A human-in-the-loop pause ends a node with GraphInterrupt: a pause, not a failure.
    return type(error).__name__ in {"GraphInterrupt", "ParentCommand"}


def step_callbacks() -> list[Any]:  # Any: LangChain callback handlers
    """Callbacks giving each agent step (LangGraph node execution) its span; [] when off."""
    if not tracing_enabled():
        return []
    return [_make_step_spans()]
