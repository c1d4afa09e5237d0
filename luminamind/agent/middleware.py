"""LuminaMind's own agent middleware: tool progress events and malformed tool calls.

Everything else (planning, approvals, summarisation, limits, retries) is LangChain's middleware;
these two fill gaps it leaves:

- `ToolEventsMiddleware` reports each tool call's start and end (with its duration and status) on
  LangGraph's custom stream, where `AgentService` turns them into `ToolStarted`/`ToolFinished`.
  It sits inside `HumanInTheLoopMiddleware`, so a call is reported only once it really runs.
- `InvalidToolCallsMiddleware`: when the model sends tool calls whose arguments are not JSON,
  LangChain keeps them as ``invalid_tool_calls`` and, seeing no valid call, would end the run
  with an empty answer. This middleware answers each with an error ``ToolMessage`` and sends the
  model back to try again.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from langchain.agents.middleware import AgentMiddleware
from langchain.agents.middleware.types import AgentState, ToolCallRequest, hook_config
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.runtime import Runtime
from langgraph.types import Command

from luminamind.agent.tools import emit

__all__ = ["InvalidToolCallsMiddleware", "ToolEventsMiddleware", "message_text"]

_MAX_EVENT_CONTENT = 4_000


def message_text(content: Any) -> str:  # Any: str or a list of content blocks
    """The plain text of a message's content (string or content blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, dict) and block.get("type") == "text":
                parts.append(str(block.get("text", "")))
        return "".join(parts)
    return str(content)


# AgentMiddleware is generic in state, context and response; these touch none of them.
class ToolEventsMiddleware(AgentMiddleware[Any, Any, Any]):
    """Reports ``tool_started`` / ``tool_finished`` for the agent named ``agent``."""

    def __init__(self, agent: str) -> None:
        super().__init__()
        self.agent = agent

    @property
    def name(self) -> str:
        # Middleware names must be unique per agent; one instance per agent is enough.
        return "LuminaToolEvents"

    async def awrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], Awaitable[ToolMessage | Command[Any]]],
    ) -> ToolMessage | Command[Any]:
        call = request.tool_call
        call_id = str(call.get("id") or "")
        if call["name"] != "task":  # delegation reports itself as subagent events
            emit(
                {
                    "kind": "tool_started",
                    "call_id": call_id,
                    "tool": call["name"],
                    "arguments": call.get("args") or {},
                    "agent": self.agent,
                }
            )
        started = time.perf_counter()
        result = await handler(request)
        if call["name"] != "task":
            status: Literal["ok", "error"] = "error"
            content = ""
            if isinstance(result, ToolMessage):
                status = "error" if result.status == "error" else "ok"
                content = message_text(result.content)
            elif isinstance(result, Command):
                status, content = "ok", "(state updated)"
            emit(
                {
                    "kind": "tool_finished",
                    "call_id": call_id,
                    "tool": call["name"],
                    "status": status,
                    "content": content[:_MAX_EVENT_CONTENT],
                    "duration_ms": (time.perf_counter() - started) * 1000,
                    "agent": self.agent,
                }
            )
        return result


class InvalidToolCallsMiddleware(AgentMiddleware[Any, Any, Any]):
    """Sends tool calls with unparseable arguments back to the model as errors."""

    def __init__(self, agent: str) -> None:
        super().__init__()
        self.agent = agent

    @property
    def name(self) -> str:
        return "LuminaInvalidToolCalls"

    @hook_config(can_jump_to=["model"])
    async def aafter_model(
        self, state: AgentState[Any], runtime: Runtime[Any]
    ) -> dict[str, Any] | None:  # Any: a partial state update
        return self.after_model(state, runtime)

    @hook_config(can_jump_to=["model"])
    def after_model(
        self, state: AgentState[Any], runtime: Runtime[Any]
    ) -> dict[str, Any] | None:  # Any: a partial state update
        messages = state["messages"]
        last = messages[-1] if messages else None
        if not isinstance(last, AIMessage) or not last.invalid_tool_calls or last.tool_calls:
            return None
        replies = [
            ToolMessage(
                content=(
                    f"Error (invalid_arguments): the arguments of {bad.get('name') or 'the call'} "
                    f"are not a valid JSON object ({bad.get('error') or 'unparseable'}): "
                    f"{str(bad.get('args') or '')[:500]}. Call the tool again with valid JSON."
                ),
                name=bad.get("name") or "unknown",
                tool_call_id=bad.get("id") or f"invalid_{i}",
                status="error",
            )
            for i, bad in enumerate(last.invalid_tool_calls)
        ]
        for reply in replies:
            emit(
                {
                    "kind": "tool_finished",
                    "call_id": reply.tool_call_id,
                    "tool": reply.name or "unknown",
                    "status": "error",
                    "content": message_text(reply.content),
                    "duration_ms": 0.0,
                    "agent": self.agent,
                }
            )
        return {"messages": replies, "jump_to": "model"}
