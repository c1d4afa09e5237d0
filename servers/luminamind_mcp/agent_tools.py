"""The agent as MCP tools: ``run_task``, ``resume_task``, ``get_thread``, ``list_threads``,
``rewind_thread``.

``run_task`` streams every agent event to the client as a progress notification (when the
client sent a progress token) and honours cancellation (``notifications/cancelled`` stops the
run and cancels the thread). When the agent pauses for approval, an elicitation-capable client
is asked right away (approve, reject, or edit with changed arguments) and the run goes on;
other clients get ``status: "awaiting_approval"`` with the pending actions and continue with
``resume_task``.

The agent stack (LangGraph, providers, checkpointer) is imported on the first call, not when
the server starts: ``tools/list`` must answer fast.
"""

from __future__ import annotations

import builtins
import json
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import TYPE_CHECKING, Any, Literal

import anyio
import mcp_types as types
import structlog
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from luminamind.agent.events import (
    ActionRequest,
    AgentEvent,
    ApprovalRequested,
    Decision,
    ErrorEvent,
    FinalAnswer,
    ReasoningDelta,
    SubagentFinished,
    SubagentStarted,
    TextDelta,
    ThreadInfo,
    ThreadState,
    Todo,
    TodosChanged,
    ToolFinished,
    ToolStarted,
)
from luminamind.agent.runs import RunOutcome, RunStatus, resume_run, run_turn
from luminamind.config import Settings, WorkspaceRootConfig
from luminamind.errors import LuminaError, format_validation_errors
from luminamind.security.workspace import Workspace
from luminamind.tools.registry import output_json_schema
from luminamind_mcp.approval import Asker, shorten_arguments
from luminamind_mcp.client_log import ClientLog, log_decisions, log_run_event
from luminamind_mcp.review import review_decision, review_message, review_schema
from luminamind_mcp.rewind import RewindOutcome, RewindThreadArgs, rewind_thread
from luminamind_mcp.tools import error_result, json_result

if TYPE_CHECKING:
    # Typed here, imported on the first call: the agent stack costs seconds to import.
    from luminamind.agent.service import AgentService


__all__ = ["AGENT_TOOL_NAMES", "AgentTools", "TaskResult", "warm_up"]

_log = structlog.get_logger(__name__)

AGENT_TOOL_NAMES = ("run_task", "resume_task", "get_thread", "list_threads", "rewind_thread")
ThreadId = Field(
    pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$",
    description="Thread id (letters, digits, . _ : -); threads are shared by all surfaces.",
)
# Runs pausing for edits re-ask when the edited arguments are not a JSON object.
_EDIT_ATTEMPTS = 3
# Distinct workspaces (client roots) that keep an agent service open at once.
_MAX_SERVICES = 8

ServiceOpener = Callable[[Settings], AbstractAsyncContextManager["AgentService"]]
Progress = Callable[[float, str], Awaitable[None]]


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunTaskArgs(_Args):
    task: str = Field(min_length=1, max_length=100_000, description="What the agent should do.")
    thread_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$",
        description="Continue this thread (a new thread when omitted).",
    )


class ResumeTaskArgs(_Args):
    thread_id: str = ThreadId
    decisions: list[Decision] = Field(
        default_factory=list,
        description=(
            "One decision per pending action, in order: approve; edit with changed "
            "'arguments'; reject with a 'message' the agent sees. Empty when nothing is "
            "pending: continues a run that was interrupted (a crash, a killed replica, the "
            "step limit) from its last checkpoint."
        ),
    )


class GetThreadArgs(_Args):
    thread_id: str = ThreadId


class ListThreadsArgs(_Args):
    limit: int = Field(default=50, ge=1, le=1000, description="Most recently updated first.")


class TaskResult(BaseModel):
    """How a run ended (`luminamind.agent.runs.RunOutcome` as MCP clients see it)."""

    thread_id: str
    status: RunStatus
    answer: str | None = None
    pending: list[ActionRequest] = Field(
        default_factory=list, description="Actions waiting for resume_task decisions."
    )
    todos: list[Todo] = Field(default_factory=list)
    error: str | None = None

    @classmethod
    def from_outcome(cls, outcome: RunOutcome) -> TaskResult:
        """The MCP view of a driven run's outcome."""
        return cls(
            thread_id=outcome.thread_id,
            status=outcome.status,
            answer=outcome.answer,
            pending=outcome.pending,
            todos=outcome.todos,
            error=outcome.error,
        )


class ThreadList(BaseModel):
    """Threads, most recently updated first."""

    threads: list[ThreadInfo]


_SPECS: dict[str, tuple[str, type[BaseModel], type[BaseModel], types.ToolAnnotations]] = {
    "run_task": (
        "Run LuminaMind's deep agent on a task (planning, subagents, every LuminaMind tool) "
        "and return its answer. Progress notifications report each step. Actions that need "
        "approval are asked through elicitation; clients without it get status "
        "'awaiting_approval' with the pending actions, to continue with resume_task.",
        RunTaskArgs,
        TaskResult,
        types.ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True
        ),
    ),
    "resume_task": (
        "Continue a thread paused for approval, with one decision per pending action.",
        ResumeTaskArgs,
        TaskResult,
        types.ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True
        ),
    ),
    "get_thread": (
        "A thread's messages, TODO list and pending approvals.",
        GetThreadArgs,
        ThreadState,
        types.ToolAnnotations(
            read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
        ),
    ),
    "list_threads": (
        "The agent's threads (from every surface), most recently updated first.",
        ListThreadsArgs,
        ThreadList,
        types.ToolAnnotations(
            read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
        ),
    ),
    "rewind_thread": (
        "Undo the file changes of a thread's turn (and every later turn) and go back to it in "
        "the conversation, so the agent continues from there. The plan is shown for approval "
        "through elicitation; files changed after the agent's edit are conflicts, never "
        "overwritten silently. Clients without elicitation get 'awaiting_confirmation' and "
        "call again with confirm: true.",
        RewindThreadArgs,
        RewindOutcome,
        types.ToolAnnotations(
            read_only_hint=False,
            destructive_hint=True,
            idempotent_hint=False,
            open_world_hint=False,
        ),
    ),
}


def _schema(model: type[BaseModel]) -> dict[str, Any]:  # Any: JSON Schema
    schema = model.model_json_schema()
    schema.pop("title", None)
    return schema


def _default_opener(settings: Settings) -> AbstractAsyncContextManager[AgentService]:
    # Imported here: the agent stack costs seconds to import and tools/list must not wait.
    from luminamind.agent.service import AgentService
    from luminamind.providers.factory import CLIENT_MODEL, model_key_status

    # No provider configured (no key, no local endpoint): the client's own model, through
    # sampling (a client without it is told how to configure a provider when a run starts).
    _, usable, _ = model_key_status(settings)
    return AgentService.open(settings, surface="mcp", model=None if usable else CLIENT_MODEL)


def _import_agent_stack() -> None:
    from luminamind.agent import service  # noqa: F401  # imported to fill the module cache


async def warm_up() -> None:
    """Import the agent stack in a worker thread, so the event loop keeps serving meanwhile."""
    await anyio.to_thread.run_sync(_import_agent_stack)


class AgentTools:
    """The agent's MCP tools, with one agent service per workspace opened on first use.

    Args:
        settings: the server's settings (the workspace is replaced per client roots).
        unattended: ``approve`` lets runs approve their own actions when the client cannot be
            asked; ``deny`` (default) pauses them as ``awaiting_approval``.
        opener: opens an `AgentService` for settings (tests and embedders may swap it).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        unattended: Literal["deny", "approve"] = "deny",
        opener: ServiceOpener | None = None,
    ) -> None:
        self._settings = settings
        self._unattended = unattended
        self._opener = opener or _default_opener
        self._stack = AsyncExitStack()
        self._services: dict[tuple[tuple[str, str], ...], AgentService] = {}
        self._lock = anyio.Lock()
        self._tools = [
            types.Tool(
                name=name,
                description=description,
                input_schema=_schema(args),
                output_schema=output_json_schema(result),
                annotations=annotations,
                # MCP tasks (2025-11-25): the long runs may be called as a task
                # (`luminamind_mcp.tasks`); the quick reads may not.
                execution=types.ToolExecution(task_support="optional")
                if name in ("run_task", "resume_task")
                else None,
            )
            for name, (description, args, result, annotations) in _SPECS.items()
        ]

    def list(self) -> builtins.list[types.Tool]:
        """The agent tools as ``tools/list`` shows them."""
        return list(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in _SPECS

    async def aclose(self) -> None:
        """Close every agent service (checkpointer connections)."""
        await self._stack.aclose()
        self._services.clear()

    async def service(self, workspace: Workspace | None = None) -> AgentService:
        """The agent service for ``workspace`` (the server's when None), opened once."""
        roots = workspace.roots if workspace is not None else ()
        key = tuple((str(r.path), r.mode) for r in roots)
        async with self._lock:
            service = self._services.get(key)
            if service is None:
                if self._opener is _default_opener:
                    await warm_up()
                if len(self._services) >= _MAX_SERVICES:
                    raise MCPError(
                        code=INVALID_PARAMS,
                        message=f"too many distinct workspaces ({_MAX_SERVICES}) on this server",
                    )
                settings = self._settings
                if workspace is not None:
                    settings = settings.model_copy(
                        update={
                            "workspace": workspace.root,
                            "extra_roots": [
                                WorkspaceRootConfig(path=r.path, mode=r.mode)
                                for r in workspace.roots[1:]
                            ],
                        }
                    )
                service = await self._stack.enter_async_context(self._opener(settings))
                self._services[key] = service
            return service

    async def ready(self) -> None:
        """Readiness: the checkpointer answers (listing threads reads it)."""
        service = await self.service()
        await service.threads()

    async def acall(
        self,
        name: str,
        arguments: dict[str, Any] | None,  # Any: JSON arguments
        *,
        workspace: Workspace,
        asker: Asker | None,
        progress: Progress,
        log: ClientLog | None = None,
    ) -> types.CallToolResult:
        """Run one agent tool; errors become ``isError`` results.

        ``asker`` None: nobody can be asked (a run in the background, as an MCP task); approvals
        follow the unattended policy. ``log`` receives the run's events worth a log line
        (`log_run_event`), at the levels the client chose.
        """
        _, args_model, _, _ = _SPECS[name]
        try:
            args = args_model.model_validate(arguments or {})
        except ValidationError as exc:
            text, _ = format_validation_errors(exc.errors(include_url=False))
            return error_result(f"{name}: invalid arguments: {text}")
        try:
            if isinstance(args, RunTaskArgs):
                thread_id = args.thread_id or f"mcp-{uuid.uuid4().hex[:12]}"
                service = await self.service(workspace)
                outcome = await run_turn(
                    service,
                    thread_id,
                    args.task,
                    decide=self._decider(asker, log, thread_id),
                    on_event=_reporter(progress, log, thread_id),
                )
                return json_result(TaskResult.from_outcome(outcome))
            if isinstance(args, ResumeTaskArgs):
                service = await self.service(workspace)
                outcome = await resume_run(
                    service,
                    args.thread_id,
                    args.decisions,
                    decide=self._decider(asker, log, args.thread_id),
                    on_event=_reporter(progress, log, args.thread_id),
                )
                return json_result(TaskResult.from_outcome(outcome))
            if isinstance(args, RewindThreadArgs):
                if asker is None:  # only run_task / resume_task run as tasks (tasks.py)
                    return error_result("rewind_thread: cannot run in the background")
                # The thread's own workspace (the client's roots) is where its files are restored.
                service = await self.service(workspace)
                return json_result(await rewind_thread(service, args, asker))
            service = await self.service()
            if isinstance(args, GetThreadArgs):
                return json_result(await service.state(args.thread_id))
            assert isinstance(args, ListThreadsArgs)
            threads = await service.threads()
            return json_result(ThreadList(threads=list(threads)[: args.limit]))
        except LuminaError as exc:
            return error_result(f"{name}: {exc.message}")

    def _decider(
        self, asker: Asker | None, log: ClientLog | None, thread_id: str
    ) -> Callable[[Sequence[ActionRequest]], Awaitable[builtins.list[Decision] | None]]:
        async def decide(pending: Sequence[ActionRequest]) -> builtins.list[Decision] | None:
            decisions = await self._decide(pending, asker)
            if log is not None:
                await log_decisions(log, thread_id, decisions)
            return decisions

        return decide

    async def _decide(
        self, pending: Sequence[ActionRequest], asker: Asker | None
    ) -> builtins.list[Decision] | None:
        """Decisions for every pending action, or None to leave them for resume_task."""
        if asker is None or not asker.available:
            if self._unattended == "approve":
                return [Decision(type="approve") for _ in pending]
            return None
        decisions: builtins.list[Decision] = []
        for request in pending:
            decision = await self._ask(request, asker)
            if decision is None:
                return None
            decisions.append(decision)
        return decisions

    async def _ask(self, request: ActionRequest, asker: Asker) -> Decision | None:
        # Several hunks are reviewed one by one; a single hunk keeps approve / edit / reject.
        if len(request.hunks) > 1 and request.proposal:
            return await self._ask_hunks(request, asker)
        allowed = [d for d in request.allowed_decisions if d in ("approve", "edit", "reject")]
        schema: dict[str, Any] = {  # Any: JSON Schema
            "type": "object",
            "properties": {
                "decision": {
                    "type": "string",
                    "title": "Decision",
                    "enum": allowed,
                    "default": "approve",
                },
                "message": {
                    "type": "string",
                    "title": "Message for the agent",
                    "description": "Why, when rejecting (the agent reads it).",
                },
                "arguments": {
                    "type": "string",
                    "title": "Changed arguments (JSON object)",
                    "description": "Only for 'edit': the tool's arguments as you want them.",
                },
            },
            "required": ["decision"],
        }
        note = ""
        for _ in range(_EDIT_ATTEMPTS):
            try:
                answer = await asker.aform(note + _action_message(request), schema)
            except MCPError:
                return None
            if answer.action == "cancel":
                return None
            if answer.action == "decline":
                return Decision(type="reject", message="rejected by the user")
            content = answer.content or {}
            kind = content.get("decision", "approve")
            message = content.get("message")
            message = message if isinstance(message, str) and message else None
            if kind == "reject":
                return Decision(type="reject", message=message or "rejected by the user")
            if kind != "edit":
                return Decision(type="approve")
            try:
                edited = json.loads(str(content.get("arguments") or ""))
            except json.JSONDecodeError as exc:
                note = f"The edited arguments were not valid JSON ({exc.msg}); try again.\n\n"
                continue
            if not isinstance(edited, dict):
                note = "The edited arguments must be a JSON object; try again.\n\n"
                continue
            return Decision(type="edit", arguments=edited, message=message)
        return None

    async def _ask_hunks(self, request: ActionRequest, asker: Asker) -> Decision | None:
        """A file change: one box per hunk, the unticked ones rejected with the reason given."""
        try:
            answer = await asker.aform(review_message(request), review_schema(request))
        except MCPError:
            return None
        if answer.action == "cancel":
            return None
        if answer.action == "decline":
            return Decision(type="reject", message="rejected by the user")
        return review_decision(request, dict(answer.content or {}))


def _reporter(
    progress: Progress, log: ClientLog | None, thread_id: str
) -> Callable[[AgentEvent], Awaitable[None]]:
    """Each event of the run as one progress notification (and a log message if it merits one)."""
    step = 0

    async def on_event(event: AgentEvent) -> None:
        nonlocal step
        step += 1
        await progress(step, describe(event))
        if log is not None:
            await log_run_event(log, thread_id, event)

    return on_event


def _action_message(request: ActionRequest) -> str:
    lines = [f"The agent wants to run `{request.tool}`."]
    if request.description:
        lines += ["", request.description]
    lines += ["", "Arguments:", shorten_arguments(request.arguments)]
    diff = request.diff or "".join(f.diff for f in request.files)
    if diff:
        lines += ["", "Changes:", "```diff", diff[:20_000].rstrip("\n"), "```"]
    lines += ["", "Choose approve, edit (give the changed arguments) or reject."]
    return "\n".join(lines)


_SPACE = re.compile(r"\s+")


def describe(event: AgentEvent) -> str:
    """One line for a progress notification."""

    def short(text: str, limit: int = 160) -> str:
        text = _SPACE.sub(" ", text).strip()
        return text if len(text) <= limit else text[: limit - 1] + "…"

    if isinstance(event, TextDelta):
        return f"text: {short(event.text)}"
    if isinstance(event, ReasoningDelta):
        return f"thinking: {short(event.text)}"
    if isinstance(event, ToolStarted):
        return f"tool {event.tool} started ({event.agent})"
    if isinstance(event, ToolFinished):
        return f"tool {event.tool} {event.status}: {short(event.content, 120)}"
    if isinstance(event, TodosChanged):
        done = sum(t.status == "completed" for t in event.todos)
        return f"plan: {done}/{len(event.todos)} done"
    if isinstance(event, SubagentStarted):
        return f"subagent {event.subagent} started: {short(event.task, 120)}"
    if isinstance(event, SubagentFinished):
        return f"subagent {event.subagent} {event.status}"
    if isinstance(event, ApprovalRequested):
        return "approval needed: " + ", ".join(r.tool for r in event.requests)
    if isinstance(event, FinalAnswer):
        return "final answer"
    if isinstance(event, ErrorEvent):
        return f"error: {short(event.message)}"
    return event.type
