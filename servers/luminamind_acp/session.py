"""One ACP session: its thread, mode and grants, and its prompt turns on the shared run driver.

A session is a LuminaMind thread seen from one editor: the session id is the thread id (so
``session/list`` shows threads started in the terminal, MCP or LSP, and ``session/load`` picks
one up). A turn is `luminamind.agent.runs.run_turn` with two callbacks: ``on_event`` turns each
agent event into ``session/update``s, ``decide`` asks ``session/request_permission``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from acp.interfaces import Client
from acp.schema import (
    AgentMessageChunk,
    AgentPlanUpdate,
    AgentThoughtChunk,
    PermissionOption,
    PlanEntry,
    RequestPermissionResponse,
    TerminalToolCallContent,
    TextContentBlock,
    ToolCallProgress,
    ToolCallUpdate,
)

from luminamind.agent.events import (
    ActionRequest,
    AgentEvent,
    Decision,
    FinalAnswer,
    ReasoningDelta,
    SubagentFinished,
    SubagentStarted,
    TextDelta,
    Todo,
    TodosChanged,
    ToolFinished,
    ToolStarted,
)
from luminamind_acp.modes import DEFAULT_MODE, ModeId
from luminamind_acp.permissions import SessionGrants, decide_one
from luminamind_acp.toolcalls import ToolCallView

if TYPE_CHECKING:
    from luminamind.agent.runs import RunOutcome
    from luminamind.agent.service import AgentService
    from luminamind_acp.mcp_servers import McpConnections

__all__ = ["AcpSession", "plan_update"]

_log = structlog.get_logger(__name__)


def plan_update(todos: Sequence[Todo]) -> AgentPlanUpdate:
    """The TODO list as an ACP plan (the whole list each time, as the protocol wants)."""
    return AgentPlanUpdate(
        session_update="plan",
        entries=[PlanEntry(content=t.content, status=t.status, priority="medium") for t in todos],
    )


@dataclass
class AcpSession:
    """State of one session; `turn` runs one prompt."""

    session_id: str
    thread_id: str  # the session's thread: its id at first, a fresh one after /new or /compact
    cwd: Path
    service: AgentService
    client: Client
    mode: ModeId = DEFAULT_MODE
    grants: SessionGrants = field(default_factory=SessionGrants)
    task: asyncio.Task[Any] | None = None  # Any: the prompt handler's task
    cancel_requested: bool = False
    awaiting: bool = False  # the thread waits for permission answers from an earlier turn
    view: ToolCallView = field(init=False)
    _streamed: bool = False
    _shell_calls: deque[str] = field(default_factory=deque)
    _terminals: deque[str] = field(default_factory=deque)
    carry: str | None = None  # a compacted summary, prefixed to the next prompt
    mcp: McpConnections | None = None  # the editor's MCP servers for this session

    def __post_init__(self) -> None:
        self.view = ToolCallView(self.cwd)

    @property
    def running(self) -> bool:
        """A prompt turn is in progress."""
        return self.task is not None and not self.task.done()

    async def send(self, update: Any) -> None:  # Any: one of the SDK's session update models
        """One ``session/update`` to the client."""
        await self.client.session_update(session_id=self.session_id, update=update)

    async def message(self, text: str) -> None:
        """Text from the agent (slash command answers, notices)."""
        await self.send(
            AgentMessageChunk(
                session_update="agent_message_chunk",
                content=TextContentBlock(type="text", text=text),
            )
        )

    def switch_thread(self, thread_id: str) -> None:
        """Go on in another thread (``/new``, ``/compact``); its tools use this editor too."""
        editors = self.service.runtime.context.editors
        if editors is not None:
            editor = editors.get(self.thread_id)
            editors.detach(self.thread_id)
            if editor is not None:
                editors.attach(thread_id, editor)
        if self.service.thread_tools is not None:
            self.service.thread_tools.move(self.thread_id, thread_id)
        self.thread_id = thread_id
        self.awaiting = False

    async def close_mcp(self) -> None:
        """Close the editor's MCP servers of this session; its thread has only ours again."""
        if self.service.thread_tools is not None:
            self.service.thread_tools.detach(self.thread_id)
        if self.mcp is not None:
            mcp, self.mcp = self.mcp, None
            await mcp.aclose()

    # -- the turn ----------------------------------------------------------------------------

    async def turn(self, text: str) -> RunOutcome:
        """Run one prompt on the thread through the shared driver."""
        from luminamind.agent.runs import resume_run, run_turn

        self._streamed = False
        self.cancel_requested = False
        if self.carry is not None:
            text = f"{self.carry}\n\n{text}"
            self.carry = None
        state = await self._pending() if self.awaiting else []
        if state:
            # The previous turn was cancelled while actions waited for permission: the new
            # prompt answers them (rejected, with the user's new words), nothing runs blind.
            note = f"The user cancelled this action and wrote instead: {text}"
            decisions = [Decision(type="reject", message=note) for _ in state]
            for request in state:
                await self.send(self.view.rejected(request.id, "Cancelled by the user."))
            outcome = await resume_run(
                self.service,
                self.thread_id,
                decisions,
                decide=self.decide,
                on_event=self.on_event,
            )
        else:
            outcome = await run_turn(
                self.service, self.thread_id, text, decide=self.decide, on_event=self.on_event
            )
        self.awaiting = outcome.status == "awaiting_approval"
        return outcome

    async def _pending(self) -> list[ActionRequest]:
        from luminamind.errors import ThreadNotFoundError

        if await self.service.store.find(self.thread_id) is None:
            return []
        try:
            state = await self.service.state(self.thread_id)
        except ThreadNotFoundError:
            return []
        return list(state.pending_approvals)

    async def thought(self, text: str) -> None:
        """Thinking the editor shows apart from the answer (usually folded)."""
        await self.send(
            AgentThoughtChunk(
                session_update="agent_thought_chunk",
                content=TextContentBlock(type="text", text=text),
            )
        )

    async def on_event(self, event: AgentEvent) -> None:
        """Every agent event, as the ``session/update``s an editor shows."""
        if isinstance(event, TextDelta):
            if event.agent == "main":
                self._streamed = True
                await self.message(event.text)
            else:  # a subagent's words are the main agent's thinking
                await self.thought(event.text)
        elif isinstance(event, ReasoningDelta):  # the model's reasoning, any agent's
            await self.thought(event.text)
        elif isinstance(event, ToolStarted):
            await self.send(self.view.started(event))
            if event.tool == "shell":
                await self._shell_started(event.call_id)
        elif isinstance(event, ToolFinished):
            if event.call_id in self._shell_calls:
                self._shell_calls.remove(event.call_id)
            await self.send(self.view.finished(event))
        elif isinstance(event, TodosChanged):
            await self.send(plan_update(event.todos))
        elif isinstance(event, SubagentStarted):
            await self.send(self.view.subagent_started(event))
        elif isinstance(event, SubagentFinished):
            await self.send(self.view.subagent_finished(event))
        elif isinstance(event, FinalAnswer) and not self._streamed and event.text:
            await self.message(event.text)

    async def decide(self, requests: Sequence[ActionRequest]) -> list[Decision | None]:
        """Each pending action: by mode, by an earlier "always", or asked of the editor."""
        decisions: list[Decision | None] = []
        for index, request in enumerate(requests):
            await self.send(self.view.pending(request))
            answer = await decide_one(
                request, mode=self.mode, grants=self.grants, view=self.view, ask=self._ask
            )
            if answer.notice:
                await self.message(f"\n{answer.notice}\n")
            if answer.decision is None:  # the user cancelled the permission: end the turn
                self.cancel_requested = True
                decisions.extend(None for _ in requests[index:])
                return decisions
            if answer.decision.type == "reject":
                await self.send(self.view.rejected(request.id, answer.decision.message or ""))
            decisions.append(answer.decision)
        return decisions

    async def _ask(
        self, tool_call: ToolCallUpdate, options: Sequence[PermissionOption]
    ) -> RequestPermissionResponse:
        return await self.client.request_permission(
            session_id=self.session_id, tool_call=tool_call, options=list(options)
        )

    # -- the editor's terminal ---------------------------------------------------------------

    async def _shell_started(self, call_id: str) -> None:
        if self._terminals:
            await self._show_terminal(call_id, self._terminals.popleft())
        else:
            self._shell_calls.append(call_id)

    async def terminal_created(self, terminal_id: str) -> None:
        """The shell tool started a command in the editor's terminal: show it in its call."""
        if self._shell_calls:
            await self._show_terminal(self._shell_calls.popleft(), terminal_id)
        else:  # the tool's start event is still on its way
            self._terminals.append(terminal_id)

    async def _show_terminal(self, call_id: str, terminal_id: str) -> None:
        self.view.terminals[call_id] = terminal_id
        await self.send(
            ToolCallProgress(
                session_update="tool_call_update",
                tool_call_id=call_id,
                content=[TerminalToolCallContent(type="terminal", terminal_id=terminal_id)],
            )
        )
