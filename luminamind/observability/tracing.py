"""OpenTelemetry tracing: a span per agent run, step, model call and tool call.

Tracing is configured by the standard ``OTEL_*`` variables (``OTEL_EXPORTER_OTLP_ENDPOINT``,
``OTEL_TRACES_EXPORTER``, ``OTEL_SERVICE_NAME``...). When none is set, or the ``otel`` extra is not
installed, `span` is a ``nullcontext``: no import, no allocation beyond the call itself.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import lru_cache
from typing import Any

import structlog

__all__ = ["configure_tracing", "span", "tracing_enabled"]

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
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _log.info("tracing_configured", exporter=os.environ.get("OTEL_TRACES_EXPORTER", "otlp"))
    return True


def tracing_enabled() -> bool:
    """True when a real tracer provider is installed (by us or by the embedding application)."""
    try:
        from opentelemetry import trace
    except ImportError:
        return False
    provider = trace.get_tracer_provider()
    return type(provider).__name__ not in {"ProxyTracerProvider", "NoOpTracerProvider"}


@contextmanager
def _real_span(name: str, attributes: Mapping[str, Any]) -> Iterator[Any]:
    from opentelemetry import trace

    tracer = trace.get_tracer("luminamind")
    with tracer.start_as_current_span(name) as current:
        for key, value in attributes.items():
            if value is not None:
                current.set_attribute(
                    key, value if isinstance(value, str | int | float | bool) else str(value)
                )
        yield current


def span(name: str, **attributes: Any) -> AbstractContextManager[Any]:  # Any: OTel attribute values
    """A span named ``name`` when tracing is on, else a no-op context manager."""
    if not tracing_enabled():
        return nullcontext()
    return _real_span(name, attributes)
