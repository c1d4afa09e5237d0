"""From LangGraph's stream to `AgentEvent`s, and from checkpointed messages to `MessageView`s.

The service streams with ``stream_mode=["messages", "updates", "custom"]`` and
``subgraphs=True``: ``messages`` gives the model's tokens (`TextDelta`, tagged with the subagent
that produced them, and `ReasoningDelta` when the provider streams its reasoning apart),
``updates`` the plan (`TodosChanged`), and ``custom`` what our middleware and the ``task`` tool
report (tool and subagent progress).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from luminamind.agent.events import (
    AgentEvent,
    MessageView,
    ReasoningDelta,
    SubagentFinished,
    SubagentStarted,
    TextDelta,
    Todo,
    TodosChanged,
    ToolFinished,
    ToolStarted,
)
from luminamind.agent.middleware import message_text

__all__ = ["EventTranslator", "message_views", "reasoning_text"]

_CUSTOM_EVENTS: dict[
    str, type[ToolStarted] | type[ToolFinished] | type[SubagentStarted] | type[SubagentFinished]
] = {
    "tool_started": ToolStarted,
    "tool_finished": ToolFinished,
    "subagent_started": SubagentStarted,
    "subagent_finished": SubagentFinished,
}
"""The event each ``custom`` payload becomes, by its ``kind``."""

# Only tokens of these nodes are the agent's answer (summarisation also calls the model).
_MODEL_NODE = "model"


class EventTranslator:
    """Turns one run's stream chunks into events."""

    def __init__(self, thread_id: str) -> None:
        self.thread_id = thread_id

    def translate(
        self,
        namespace: tuple[str, ...],
        mode: str,
        chunk: Any,  # Any: the chunk's shape depends on the stream mode
    ) -> Iterator[AgentEvent]:
        """The events in one ``(namespace, mode, chunk)`` item of the stream."""
        if mode == "messages":
            yield from self._message(namespace, chunk)
        elif mode == "custom" and isinstance(chunk, dict):
            event = self._custom(chunk)
            if event is not None:
                yield event
        elif mode == "updates" and not namespace and isinstance(chunk, dict):
            for update in chunk.values():
                if isinstance(update, dict) and "todos" in update:
                    todos = [Todo.model_validate(t) for t in update["todos"] or []]
                    yield TodosChanged(thread_id=self.thread_id, todos=todos)

    def _message(self, namespace: tuple[str, ...], chunk: Any) -> Iterator[AgentEvent]:
        message, metadata = chunk
        if not isinstance(message, AIMessageChunk | AIMessage):
            return
        if (metadata or {}).get("langgraph_node") != _MODEL_NODE:
            return
        text = message_text(message.content)
        reasoning = reasoning_text(message)
        if not text and not reasoning:
            return
        agent = "main"
        if namespace:
            agent = str((metadata or {}).get("luminamind_agent") or "subagent")
        if reasoning:
            yield ReasoningDelta(thread_id=self.thread_id, text=reasoning, agent=agent)
        if text:
            yield TextDelta(thread_id=self.thread_id, text=text, agent=agent)

    def _custom(self, data: dict[str, Any]) -> AgentEvent | None:  # Any: JSON fields
        # The stream hands back what `emit` wrote (luminamind.agent.payloads): a payload's
        # ``kind`` is its event's ``type`` and its other fields are the event's own.
        kind = data.get("kind")
        event = _CUSTOM_EVENTS.get(kind) if isinstance(kind, str) else None
        if event is None:
            return None
        return event.model_validate({**data, "thread_id": self.thread_id})


def reasoning_text(message: AIMessage | AIMessageChunk) -> str:
    """The reasoning a model message carries apart from its answer ("" when none).

    LangChain puts it in ``additional_kwargs["reasoning_content"]`` (langchain-ollama with
    ``reasoning``, our OpenAI-compatible model for ``reasoning_content`` deltas) or in
    ``reasoning`` / ``thinking`` content blocks (v1 content, Anthropic).
    """
    reasoning = message.additional_kwargs.get("reasoning_content")
    parts = [reasoning] if isinstance(reasoning, str) else []
    if isinstance(message.content, list):
        for block in message.content:
            if isinstance(block, dict) and block.get("type") in ("reasoning", "thinking"):
                value = block.get("reasoning", block.get("thinking"))
                if isinstance(value, str):
                    parts.append(value)
    return "".join(parts)


def message_views(messages: Sequence[BaseMessage]) -> list[MessageView]:
    """A thread's messages as surfaces show them."""
    views: list[MessageView] = []
    for message in messages:
        text = message_text(message.content)
        if isinstance(message, HumanMessage):
            views.append(MessageView(role="user", content=text))
        elif isinstance(message, AIMessage):
            views.append(
                MessageView(
                    role="assistant",
                    content=text,
                    reasoning=reasoning_text(message),
                    tool_calls=[
                        {"id": c.get("id"), "name": c["name"], "args": c["args"]}
                        for c in message.tool_calls
                    ],
                )
            )
        elif isinstance(message, ToolMessage):
            views.append(
                MessageView(
                    role="tool",
                    content=text,
                    name=message.name,
                    tool_call_id=message.tool_call_id,
                )
            )
        elif isinstance(message, SystemMessage):
            views.append(MessageView(role="system", content=text))
    return views
