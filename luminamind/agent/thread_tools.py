"""Tools one thread gets besides the registry's: the MCP servers an editor passes to its session.

An ACP client may name MCP servers in ``session/new``; their tools belong to that session only,
so they cannot be compiled into the shared graph. The surface connects them and attaches
`ThreadTool`s to a `ThreadToolRegistry` under the session's thread; `ThreadToolsMiddleware`
offers them to the model on that thread's calls only (LangChain's dynamic tools: added in
``wrap_model_call``, run by ``wrap_tool_call``) and puts every call under the same rules as the
registry's tools:

- the approval policy: a tool its server marks read-only runs at once, any other asks first
  (the same ``tool_approval`` interrupt `HumanInTheLoopMiddleware` raises for our own tools, so
  every surface shows and answers it as usual); the ``approvals`` setting overrides either by
  the tool's name (``mcp__<server>__<tool>``), and ``deny`` hides it from the model;
- the audit log and the tool metrics: one record per call, with its outcome.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain.agents.middleware import AgentMiddleware, HumanInTheLoopMiddleware
from langchain.agents.middleware.types import (
    ModelRequest,
    ModelResponse,
    ToolCallRequest,
)
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from langgraph.config import get_config
from langgraph.types import Command

from luminamind.agent.middleware import message_text
from luminamind.config import ApprovalMode
from luminamind.observability.audit import AuditSink
from luminamind.observability.metrics import get_metrics
from luminamind.surfaces import Surface

__all__ = ["ThreadTool", "ThreadToolRegistry", "ThreadToolsMiddleware"]

# Metrics label of every thread tool: their names come from outside (bounded label values).
_METRIC_LABEL = "external"


@dataclass(frozen=True, slots=True)
class ThreadTool:
    """One tool lent to a thread.

    Attributes:
        tool: the LangChain tool the model calls (its name is unique in the thread).
        read_only: the tool's server says it changes nothing (runs without asking).
        source: where it comes from, for messages (``MCP server 'github'``).
    """

    tool: BaseTool
    read_only: bool
    source: str


class ThreadToolRegistry:
    """Which extra tools each thread has (most threads have none)."""

    def __init__(self) -> None:
        self._tools: dict[str, dict[str, ThreadTool]] = {}

    def attach(self, thread_id: str, tools: Sequence[ThreadTool]) -> None:
        """``thread_id``'s model is offered ``tools`` from now on (replacing earlier ones)."""
        if tools:
            self._tools[thread_id] = {t.tool.name: t for t in tools}
        else:
            self._tools.pop(thread_id, None)

    def detach(self, thread_id: str) -> None:
        """``thread_id`` has only the registry's tools again."""
        self._tools.pop(thread_id, None)

    def move(self, old: str, new: str) -> None:
        """The session went on in a new thread (``/new``): its tools go with it."""
        tools = self._tools.pop(old, None)
        if tools is not None:
            self._tools[new] = tools

    def get(self, thread_id: str | None) -> Mapping[str, ThreadTool]:
        """The extra tools of ``thread_id``, by name."""
        if thread_id is None:
            return {}
        return self._tools.get(thread_id, {})


def _thread_id() -> str | None:
    try:
        configurable = get_config().get("configurable") or {}
    except RuntimeError:  # outside a graph run
        return None
    value = configurable.get("thread_id")
    return str(value) if value is not None else None


def _describe(tool: ThreadTool) -> Callable[..., str]:
    def describe(tool_call: Any, state: Any, runtime: Any) -> str:  # Any: HITL's callback
        del state, runtime
        return f"{tool.tool.name} ({tool.source}) {tool_call.get('args') or {}}"[:2000]

    return describe


class ThreadToolsMiddleware(AgentMiddleware[Any, Any, Any]):
    """Offers each thread its `ThreadTool`s and runs their calls (see the module docstring).

    Listed right after the approvals middleware: its own approval interrupt comes before
    anything else wraps the call, so a paused call has run nothing.
    """

    def __init__(
        self,
        registry: ThreadToolRegistry,
        *,
        overrides: Mapping[str, ApprovalMode],
        audit: AuditSink,
        surface: Surface,
    ) -> None:
        super().__init__()
        self.registry = registry
        self.overrides = overrides
        self.audit = audit
        self.surface = surface

    @property
    def name(self) -> str:
        return "LuminaThreadTools"

    def mode(self, tool: ThreadTool) -> ApprovalMode:
        """``auto``, ``ask`` or ``deny`` for every call of ``tool``."""
        if tool.tool.name in self.overrides:
            return self.overrides[tool.tool.name]
        return "auto" if tool.read_only else "ask"

    async def awrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]],
    ) -> ModelResponse[Any]:
        extra = [t.tool for t in self.registry.get(_thread_id()).values() if self.mode(t) != "deny"]
        if extra:
            request = request.override(tools=[*request.tools, *extra])
        return await handler(request)

    async def awrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], Awaitable[ToolMessage | Command[Any]]],
    ) -> ToolMessage | Command[Any]:
        thread_id = _thread_id()
        tool = self.registry.get(thread_id).get(request.tool_call["name"])
        if tool is None:
            return await handler(request)
        request = request.override(tool=tool.tool)
        mode = self.mode(tool)
        if mode == "deny":  # never offered; a model that calls it anyway is told
            self._record(request, thread_id, "denied", 0.0, "denied by the approval policy")
            return ToolMessage(
                content=f"Error (tool_denied): {tool.tool.name} is denied by the approval policy.",
                name=tool.tool.name,
                tool_call_id=str(request.tool_call.get("id") or ""),
                status="error",
            )

        ran = False

        async def run(approved: ToolCallRequest) -> ToolMessage | Command[Any]:
            nonlocal ran
            ran = True
            started = time.perf_counter()
            result = await handler(approved)
            failed = isinstance(result, ToolMessage) and result.status == "error"
            self._record(
                approved,
                thread_id,
                "error" if failed else "ok",
                time.perf_counter() - started,
                message_text(result.content)[:500]
                if failed and isinstance(result, ToolMessage)
                else None,
            )
            return result

        if mode == "auto":
            return await run(request)
        # The same per-call interrupt our own gated tools raise: every surface already shows
        # it (tool, arguments, description) and answers approve, reject or respond.
        ask = HumanInTheLoopMiddleware(
            interrupt_on={
                tool.tool.name: {
                    "allowed_decisions": ["approve", "reject", "respond"],
                    "description": _describe(tool),
                }
            },
            interrupt_mode="per_call",
        )
        result = await ask.awrap_tool_call(request, run)
        if not ran:  # rejected (or answered) by the user: recorded too, as not run
            self._record(request, thread_id, "rejected", 0.0, None)
        return result

    def _record(
        self,
        request: ToolCallRequest,
        thread_id: str | None,
        outcome: str,
        duration: float,
        error: str | None,
    ) -> None:
        name = request.tool_call["name"]
        metrics = get_metrics()
        metrics.tool_calls_total.labels(_METRIC_LABEL, self.surface, outcome).inc()
        metrics.tool_duration_seconds.labels(_METRIC_LABEL).observe(duration)
        self.audit.record(
            tool=name,
            arguments=request.tool_call.get("args") or {},
            outcome=outcome,
            duration_ms=duration * 1000,
            thread_id=thread_id,
            surface=self.surface,
            error=error,
        )
