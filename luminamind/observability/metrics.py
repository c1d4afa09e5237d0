"""Every Prometheus metric LuminaMind exports, declared once with bounded labels.

Labels are drawn from closed sets (tool names, surfaces, outcomes, model names from config),
never from user text, so series cardinality stays bounded.
"""

from __future__ import annotations

from functools import lru_cache

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    start_http_server,
)

from luminamind.errors import ConfigError

__all__ = ["Metrics", "get_metrics", "serve_metrics"]

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class Metrics:
    """The process's metrics, registered on one collector registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.requests_total = Counter(
            "luminamind_requests_total",
            "Requests handled, by surface and outcome",
            ["surface", "outcome"],
            registry=registry,
        )
        self.request_duration_seconds = Histogram(
            "luminamind_request_duration_seconds",
            "Request duration, by surface",
            ["surface"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.tool_calls_total = Counter(
            "luminamind_tool_calls_total",
            "Tool executions, by tool, surface and outcome",
            ["tool", "surface", "outcome"],
            registry=registry,
        )
        self.tool_duration_seconds = Histogram(
            "luminamind_tool_duration_seconds",
            "Tool execution time, by tool",
            ["tool"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.cache_requests_total = Counter(
            "luminamind_cache_requests_total",
            "Cache look-ups, by cache (tool, llm) and result (hit, miss, error)",
            ["cache", "result"],
            registry=registry,
        )
        self.llm_requests_total = Counter(
            "luminamind_llm_requests_total",
            "Model calls, by model and outcome",
            ["model", "outcome"],
            registry=registry,
        )
        self.llm_duration_seconds = Histogram(
            "luminamind_llm_duration_seconds",
            "Model call duration, by model",
            ["model"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.llm_tokens_total = Counter(
            "luminamind_llm_tokens_total",
            "Tokens used, by model and direction (input, output)",
            ["model", "direction"],
            registry=registry,
        )
        self.approvals_total = Counter(
            "luminamind_approvals_total",
            "Approvals, by tool and decision (requested, approved, edited, rejected)",
            ["tool", "decision"],
            registry=registry,
        )
        self.agent_runs_total = Counter(
            "luminamind_agent_runs_total",
            "Agent runs ended, by surface and outcome (completed, awaiting_approval, error...)",
            ["surface", "outcome"],
            registry=registry,
        )
        self.active_threads = Gauge(
            "luminamind_active_threads",
            "Threads with an agent run in progress in this process",
            registry=registry,
        )
        self.errors_total = Counter(
            "luminamind_errors_total",
            "Errors, by component and error code",
            ["component", "code"],
            registry=registry,
        )


@lru_cache(maxsize=1)
def get_metrics() -> Metrics:
    """The process-wide metrics on Prometheus' default registry (declared exactly once)."""
    return Metrics(REGISTRY)


def serve_metrics(port: int, *, host: str = "127.0.0.1") -> None:
    """Expose ``/metrics`` on its own port (for the stdio servers and the CLI).

    Binds to loopback by default: metrics name tools and models, which is not for the world.

    Raises:
        ConfigError: the port cannot be bound (in use, privileged).
    """
    get_metrics()
    try:
        start_http_server(port, addr=host)
    except OSError as exc:
        raise ConfigError(f"cannot serve /metrics on {host}:{port}: {exc.strerror or exc}") from exc
