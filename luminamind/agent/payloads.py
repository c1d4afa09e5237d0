"""What the graph writes to LangGraph's ``custom`` stream, typed once for writer and reader.

The tool-events middleware and the ``task`` tool `emit` these; `EventTranslator` turns them into
`ToolStarted`, `ToolFinished`, `SubagentStarted` and `SubagentFinished` events. ``kind`` tells
them apart.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

__all__ = [
    "CustomPayload",
    "SubagentFinishedPayload",
    "SubagentStartedPayload",
    "ToolFinishedPayload",
    "ToolStartedPayload",
]


class ToolStartedPayload(TypedDict):
    """A tool call began (``agent``: ``main`` or the subagent's name)."""

    kind: Literal["tool_started"]
    call_id: str
    tool: str
    arguments: dict[str, Any]  # Any: the tool's own JSON arguments
    agent: str


class ToolFinishedPayload(TypedDict):
    """A tool call ended; ``content`` is what the model sees, cut to the event's bound."""

    kind: Literal["tool_finished"]
    call_id: str
    tool: str
    status: Literal["ok", "error"]
    content: str
    duration_ms: float
    agent: str


class SubagentStartedPayload(TypedDict):
    """The ``task`` tool delegated ``task`` to ``subagent``."""

    kind: Literal["subagent_started"]
    call_id: str
    subagent: str
    task: str


class SubagentFinishedPayload(TypedDict):
    """The subagent returned its report."""

    kind: Literal["subagent_finished"]
    call_id: str
    subagent: str
    result: str
    status: NotRequired[Literal["ok", "error"]]


CustomPayload = (
    ToolStartedPayload | ToolFinishedPayload | SubagentStartedPayload | SubagentFinishedPayload
)
