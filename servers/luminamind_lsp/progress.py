"""A run's progress for the editor: ``$/progress`` reports, or LuminaMind's own notifications.

A client that declares ``experimental.luminamind.events: true`` in its capabilities (the VS Code
extension) renders runs itself (side bar, status bar, a cancellable notification): it gets every
agent event as a ``luminamind/event`` notification and ``luminamind/runEnded`` at the end, and no
work-done progress (which VS Code would show as a second, raw-titled indicator). Other clients get
one ``$/progress`` report per event. The notifications are documented in docs/lsp.md.
"""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import Future

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from luminamind.agent.events import (
    AgentEvent,
    ApprovalRequested,
    ErrorEvent,
    ReasoningDelta,
    RunStarted,
    SubagentFinished,
    SubagentStarted,
    TextDelta,
    TodosChanged,
    ToolFinished,
    ToolStarted,
)

__all__ = [
    "EVENT_METHOD",
    "RUN_ENDED_METHOD",
    "RunProgress",
    "client_wants_events",
    "describe_event",
]

EVENT_METHOD = "luminamind/event"
RUN_ENDED_METHOD = "luminamind/runEnded"


def client_wants_events(server: LanguageServer) -> bool:
    """Whether the client declared ``experimental.luminamind.events`` (it renders runs itself)."""
    experimental = server.client_capabilities.experimental
    if not isinstance(experimental, dict):
        return False
    own = experimental.get("luminamind")
    return isinstance(own, dict) and own.get("events") is True


def describe_event(event: AgentEvent) -> str | None:
    """A one-line progress message for an event, or None for events not worth a report."""
    match event:
        case RunStarted():
            return "started"
        case TodosChanged(todos=todos):
            done = sum(t.status == "completed" for t in todos)
            current = next((t.content for t in todos if t.status == "in_progress"), None)
            return f"plan {done}/{len(todos)}" + (f": {current}" if current else "")
        case ToolStarted(tool=tool, agent=agent):
            return f"{agent}: {tool}…" if agent != "main" else f"{tool}…"
        case ToolFinished(tool=tool, status=status, duration_ms=ms):
            took = f" in {ms:.0f} ms" if ms is not None else ""
            return f"{tool} {'done' if status == 'ok' else 'failed'}{took}"
        case SubagentStarted(subagent=name, task=task):
            return f"delegating to {name}: {task[:80]}"
        case SubagentFinished(subagent=name):
            return f"{name} finished"
        case ApprovalRequested(requests=requests):
            return "waiting for approval: " + ", ".join(r.tool for r in requests)
        case ErrorEvent(message=message):
            return f"error: {message[:120]}"
        case ReasoningDelta(agent=agent):
            return f"{agent}: thinking…" if agent != "main" else "thinking…"
        case TextDelta():
            return None
        case _:
            return None


class RunProgress:
    """Reports one run's events to the client, and relays its cancel button to the run's task."""

    def __init__(self, server: LanguageServer, title: str) -> None:
        self._server = server
        self._title = title
        self._token: str | None = None
        self._writing = False
        self._last: str | None = None
        self._events = client_wants_events(server)
        self._thread_id: str | None = None

    def _supported(self) -> bool:
        window = self._server.client_capabilities.window
        return bool(window and window.work_done_progress)

    async def begin(self, task: asyncio.Task[object] | None) -> None:
        """Create the token and show the progress (cancellable, when the client supports it)."""
        if self._events or not self._supported():
            return
        token = f"luminamind/{uuid.uuid4()}"
        try:
            await self._server.work_done_progress.create_async(token)
        except Exception:
            return
        self._token = token
        self._server.work_done_progress.begin(
            token,
            lsp.WorkDoneProgressBegin(title=self._title, cancellable=True, message="starting"),
        )
        future = self._server.work_done_progress.tokens.get(token)
        if task is not None and isinstance(future, Future):
            loop = asyncio.get_running_loop()

            def _on_cancel(done: Future[object]) -> None:
                if done.cancelled():
                    loop.call_soon_threadsafe(task.cancel)

            future.add_done_callback(_on_cancel)

    def report(self, event: AgentEvent) -> None:
        """Report one event (streamed text and reasoning are reported once, not per token)."""
        if self._events:
            self._thread_id = event.thread_id
            self._server.protocol.notify(
                EVENT_METHOD, {"threadId": event.thread_id, "event": event.model_dump(mode="json")}
            )
            return
        if self._token is None:
            return
        message = describe_event(event)
        if message is None and isinstance(event, TextDelta) and not self._writing:
            self._writing = True
            message = "writing the answer…"
        if isinstance(event, ReasoningDelta) and message == self._last:
            return  # once per stretch of thinking, not per token
        if message is not None:
            self._last = message
            self._server.work_done_progress.report(
                self._token, lsp.WorkDoneProgressReport(message=message)
            )

    def end(self, message: str) -> None:
        """Close the progress with a final message."""
        if self._events and self._thread_id is not None:
            self._server.protocol.notify(
                RUN_ENDED_METHOD,
                {"threadId": self._thread_id, "title": self._title, "outcome": message},
            )
            self._thread_id = None  # end() may be called twice on the way out
        if self._token is not None:
            self._server.work_done_progress.end(
                self._token, lsp.WorkDoneProgressEnd(message=message)
            )
            self._token = None
