"""``session/load`` replays a thread as the ``session/update``s its turns would have sent."""

from __future__ import annotations

from typing import Any

from acp.schema import (
    AgentMessageChunk,
    ContentToolCallContent,
    TextContentBlock,
    ToolCallProgress,
    UserMessageChunk,
)

from luminamind.agent.events import ThreadState
from luminamind_acp.toolcalls import ToolCallView

__all__ = ["replay_updates"]

# What the replay shows of an old tool result; the thread keeps all of it.
_MAX_RESULT_CHARS = 4_000


def _text(value: str) -> TextContentBlock:
    return TextContentBlock(type="text", text=value)


def replay_updates(state: ThreadState, view: ToolCallView) -> list[Any]:  # Any: update models
    """The thread's messages (user, agent, tool calls with results) and its plan, in order."""
    from luminamind_acp.session import plan_update

    updates: list[Any] = []  # Any: the SDK's session update models
    for message in state.messages:
        if message.role == "user" and message.content:
            updates.append(
                UserMessageChunk(
                    session_update="user_message_chunk", content=_text(message.content)
                )
            )
        elif message.role == "assistant":
            if message.content:
                updates.append(
                    AgentMessageChunk(
                        session_update="agent_message_chunk", content=_text(message.content)
                    )
                )
            for call in message.tool_calls:
                call_id = str(call.get("id") or "")
                if call_id:
                    args = call.get("args")
                    start = view.announce(
                        call_id,
                        str(call.get("name", "")),
                        args if isinstance(args, dict) else {},
                        status="completed",
                    )
                    updates.append(start)
        elif message.role == "tool" and message.tool_call_id:
            content = message.content
            if len(content) > _MAX_RESULT_CHARS:
                content = content[:_MAX_RESULT_CHARS] + "…"
            failed = content.startswith("Error")
            updates.append(
                ToolCallProgress(
                    session_update="tool_call_update",
                    tool_call_id=message.tool_call_id,
                    status="failed" if failed else "completed",
                    content=[ContentToolCallContent(type="content", content=_text(content))],
                )
            )
    if state.todos:
        updates.append(plan_update(state.todos))
    return updates
