"""MCP tasks (protocol 2025-11-25) for ``run_task`` and ``resume_task``.

A client that sends ``tools/call`` with a ``task`` field gets a ``CreateTaskResult`` at once;
the run goes on in the background through the shared run driver (`AgentTools.acall`) and the
client polls ``tasks/get``, then fetches the tool result with ``tasks/result`` (which blocks
until the task ends, as the specification requires), or stops it with ``tasks/cancel``.

What the SDK (2.3) gives is the wire types only. Its ``tools/call`` result check rejects a
``CreateTaskResult`` on a 2025-11-25 connection, so the task-augmented call is answered by
`McpTasks.middleware`, before the handler; ``tasks/*`` are registered as custom request
handlers; the capability is added to the server's (see `with_tasks`).

State: a `TaskRecord` per task in the checkpointer's backend (`task_store`), so a task
survives its client's connection, and on Redis, a replica restart. An approval that waits
(the run ended ``awaiting_approval``) shows as ``input_required``; ``resume_task`` on that
thread, as a task or not, continues the same task, which then ends with the resumed run.

Ownership: a record keeps the creating MCP session and the principal (a hash of the bearer
token, ``stdio`` or ``anonymous``). Another *live* session is answered exactly as for an
unknown id; once the creating session is gone, the same principal reaches the task.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, cast

import anyio
import mcp_types as types
import structlog
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.session import ServerSession
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, METHOD_NOT_FOUND
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from luminamind.config import Settings
from luminamind_mcp.task_store import TaskRecord, TaskStatus, TaskStore, open_task_store
from luminamind_mcp.tools import error_result

__all__ = [
    "RELATED_TASK",
    "TASK_TOOLS",
    "McpTasks",
    "TaskRun",
    "principal_of",
    "session_of",
    "tasks_capability",
]

_log = structlog.get_logger(__name__)

Ctx = ServerRequestContext[Any, Any]  # Any: no lifespan state; the transport's request object
Progress = Callable[[float, str], Awaitable[None]]
# Runs one agent tool call to its end: built while the creating request is live (it reads the
# connection's workspace), awaited in the background.
TaskRun = Callable[[Progress], Awaitable[types.CallToolResult]]
Prepare = Callable[[Ctx, str, dict[str, Any] | None], Awaitable[TaskRun]]  # Any: JSON arguments

RELATED_TASK = "io.modelcontextprotocol/related-task"
IMMEDIATE_RESPONSE = "io.modelcontextprotocol/model-immediate-response"
TASK_TOOLS = ("run_task", "resume_task")
# Kept an hour unless the client asks otherwise; never less than a minute nor more than a day.
DEFAULT_TTL_MS = 3_600_000
MIN_TTL_MS = 60_000
MAX_TTL_MS = 86_400_000
POLL_INTERVAL_MS = 1_000
PAGE_SIZE = 50
# How often a tasks/result waiting on a task run elsewhere (another replica) re-reads the store.
_REMOTE_POLL_SECONDS = 0.5
# One message for an unknown, expired or someone else's task: nothing tells them apart.
NOT_FOUND = "Failed to retrieve task: Task not found (unknown, expired, or not yours)"


def tasks_capability() -> types.ServerTasksCapability:
    """What the server declares: tasks/list, tasks/cancel and task-augmented tools/call."""
    return types.ServerTasksCapability(
        list=types.TasksListCapability(),
        cancel=types.TasksCancelCapability(),
        requests=types.ServerTasksRequestsCapability(
            tools=types.TasksToolsCapability(call=types.TasksCallCapability())
        ),
    )


def principal_of(ctx: Ctx) -> str:
    """Who is calling: a hash of the bearer token, ``anonymous`` (HTTP without one), ``stdio``."""
    request = ctx.request
    if request is None:
        return "stdio"
    headers = getattr(request, "headers", None)
    auth = headers.get("authorization") if headers is not None else None
    if not auth:
        return "anonymous"
    return "token:" + hashlib.sha256(auth.encode()).hexdigest()[:32]


def session_of(ctx: Ctx) -> str:
    """The MCP session of ``ctx`` (``stdio``: one per process; stateless HTTP: none)."""
    request = ctx.request
    if request is None:
        return "stdio"
    headers = getattr(request, "headers", None)
    session_id = headers.get("mcp-session-id") if headers is not None else None
    return f"http:{session_id}" if session_id else "http:stateless"


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def _outcome(result: types.CallToolResult) -> tuple[TaskStatus, str | None]:
    """The task status a finished (or paused) run's tool result means."""
    data = result.structured_content if isinstance(result.structured_content, dict) else {}
    if result.is_error:
        first = result.content[0] if result.content else None
        return "failed", first.text[:500] if isinstance(first, types.TextContent) else None
    status = data.get("status")
    if status == "awaiting_approval":
        tools = ", ".join(str(p.get("tool")) for p in data.get("pending", []))
        return "input_required", (
            f"Waiting for approval: {tools}. Continue with resume_task(thread_id="
            f"{data.get('thread_id')!r}, decisions=[...]), one decision per pending action "
            "(tasks/result shows them)."
        )
    if status == "error":
        return "failed", str(data.get("error") or "the run failed")[:500]
    if status == "cancelled":
        return "cancelled", "The run was cancelled."
    return "completed", None


class McpTasks:
    """Task-augmented ``run_task`` / ``resume_task`` and the ``tasks/*`` requests.

    Args:
        settings: where records are kept (`open_task_store`).
        prepare: builds the background run of one tool call (workspace read from the request).
        store: a store to use instead of the settings' (tests).
    """

    def __init__(
        self, settings: Settings, prepare: Prepare, *, store: TaskStore | None = None
    ) -> None:
        self._settings = settings
        self._prepare = prepare
        self._store = store
        # Whether an MCP session still exists; the HTTP app answers from its session manager.
        self.live: Callable[[str], bool] = lambda session_id: session_id == "stdio"
        self._running: dict[str, asyncio.Task[None]] = {}
        self._changed: dict[str, anyio.Event] = {}
        self._progress: dict[str, str] = {}
        self._listeners: dict[str, tuple[str, ServerSession]] = {}
        self._closing = False

    def store(self) -> TaskStore:
        """The record store, opened on first use (so ``tools/list`` never waits for it)."""
        if self._store is None:
            self._store = open_task_store(self._settings)
        return self._store

    async def aclose(self) -> None:
        """Stop the runs of this process (their tasks end ``failed``) and close the store."""
        self._closing = True
        for run in list(self._running.values()):
            run.cancel()
        if self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)
        if self._store is not None:
            await self._store.aclose()

    def register(self, server: Any) -> None:  # Any: the SDK server, generic over its lifespan
        """Add the ``tasks/*`` handlers and the ``tools/call`` middleware to ``server``."""
        server.add_request_handler("tasks/get", types.GetTaskRequestParams, self.get)
        server.add_request_handler("tasks/result", types.GetTaskPayloadRequestParams, self.result)
        server.add_request_handler("tasks/cancel", types.CancelTaskRequestParams, self.cancel)
        server.add_request_handler("tasks/list", types.PaginatedRequestParams, self.list)
        server.middleware.append(self.middleware)

    # -- tools/call -------------------------------------------------------------------------

    async def middleware(self, ctx: Ctx, call_next: CallNext) -> HandlerResult:
        """Answer a task-augmented ``tools/call`` with a task; link ``resume_task`` to its task."""
        params = ctx.params
        if (
            ctx.method != "tools/call"
            or not isinstance(params, Mapping)
            or ctx.protocol_version in MODERN_PROTOCOL_VERSIONS  # tasks are 2025-11-25's
        ):
            return await call_next(ctx)
        name = params.get("name")
        task = params.get("task")
        if task is None:
            if name == "resume_task":
                return await self._resume_inline(ctx, call_next)
            return await call_next(ctx)
        if name not in TASK_TOOLS:
            raise MCPError(
                code=METHOD_NOT_FOUND,
                message=f"tool {name!r} cannot run as a task (only {', '.join(TASK_TOOLS)} can); "
                "call it without 'task'",
            )
        try:
            meta = types.TaskMetadata.model_validate(task)
        except ValueError:
            raise MCPError(
                code=INVALID_PARAMS, message="'task' must be an object with an optional 'ttl'"
            ) from None
        raw_args = params.get("arguments")
        arguments: dict[str, Any] | None = (  # Any: JSON arguments
            dict(raw_args) if isinstance(raw_args, Mapping) else None
        )
        if name == "run_task" and arguments is not None and not arguments.get("thread_id"):
            # Known up front, so the task names its thread from the start.
            arguments["thread_id"] = f"mcp-{uuid.uuid4().hex[:12]}"
        thread = arguments.get("thread_id") if arguments is not None else None
        thread_id = thread if isinstance(thread, str) else None
        record = await self._waiting(ctx, thread_id) if name == "resume_task" else None
        now = time.time()
        if record is None:
            ttl = meta.ttl if meta.ttl is not None else DEFAULT_TTL_MS
            record = TaskRecord(
                task_id=str(uuid.uuid4()),
                principal=principal_of(ctx),
                session_id=session_of(ctx),
                tool=str(name),
                thread_id=thread_id,
                created_at=now,
                updated_at=now,
                ttl_ms=min(max(ttl, MIN_TTL_MS), MAX_TTL_MS),
            )
        else:
            # The task waiting on this thread's approval goes on with this resume.
            record = record.model_copy(
                update={"status": "working", "status_message": None, "updated_at": now}
            )
        run = await self._prepare(ctx, str(name), arguments)
        await self.store().put(record)
        self._listeners[record.task_id] = (session_of(ctx), ctx.session)
        self._launch(record, run)
        _log.info("mcp_task_created", task_id=record.task_id, tool=name, thread_id=thread_id)
        created = types.CreateTaskResult(
            task=self._task(record),
            _meta={
                IMMEDIATE_RESPONSE: f"LuminaMind is working on it as task {record.task_id} "
                f"(thread {thread_id}); poll tasks/get, then read tasks/result."
            },
        )
        return created.model_dump(by_alias=True, mode="json", exclude_none=True)

    async def _resume_inline(self, ctx: Ctx, call_next: CallNext) -> HandlerResult:
        """A plain ``resume_task`` on a thread whose task waits: that task ends with it."""
        assert ctx.params is not None
        arguments = ctx.params.get("arguments")
        thread = arguments.get("thread_id") if isinstance(arguments, Mapping) else None
        waiting = await self._waiting(ctx, thread if isinstance(thread, str) else None)
        if waiting is None:
            return await call_next(ctx)
        await self._update(waiting, status="working", message=None)
        try:
            result = await call_next(ctx)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._update(waiting, status="input_required", message=waiting.status_message)
            raise
        if isinstance(result, Mapping):
            await self._finish(waiting.task_id, types.CallToolResult.model_validate(result))
        return result

    async def _waiting(self, ctx: Ctx, thread_id: str | None) -> TaskRecord | None:
        """The newest reachable task of ``thread_id`` waiting for approval, if any."""
        if thread_id is None:
            return None
        records = await self.store().list(principal_of(ctx))
        waiting = [
            r
            for r in records
            if r.thread_id == thread_id and r.status == "input_required" and self._reachable(ctx, r)
        ]
        return waiting[-1] if waiting else None

    def _launch(self, record: TaskRecord, run: TaskRun) -> None:
        task_id = record.task_id

        async def progress(step: float, message: str) -> None:
            del step
            self._progress[task_id] = message

        async def drive() -> None:
            try:
                result = await run(progress)
            except asyncio.CancelledError:
                # tasks/cancel (the task stays cancelled) or shutdown: the run driver stopped
                # the run first, the thread keeps its last checkpoint.
                result = error_result(
                    f"{record.tool}: the server stopped before the run ended; "
                    f"resume_task(thread_id={record.thread_id!r}) continues the thread"
                    if self._closing
                    else f"{record.tool}: the task was cancelled"
                )
            except Exception as exc:  # the task fails with what went wrong; the server goes on
                _log.exception("mcp_task_crashed", task_id=task_id)
                result = error_result(f"{record.tool}: {type(exc).__name__}: {exc}")
            finally:
                self._running.pop(task_id, None)
                self._progress.pop(task_id, None)
            await self._finish(task_id, result)

        # A task of its own (not the request's task group): the run outlives the request and
        # the connection; the references kept here stop it being collected mid-run.
        self._running[task_id] = asyncio.get_running_loop().create_task(drive())

    async def _finish(self, task_id: str, result: types.CallToolResult) -> None:
        record = await self.store().get(task_id)
        if record is None:  # expired meanwhile
            return
        wire = result.model_dump(by_alias=True, mode="json", exclude_none=True)
        if record.status == "cancelled":
            # Cancelled stays cancelled; the result is what the cancelled call returned.
            record = record.model_copy(update={"result": record.result or wire})
            await self.store().put(record)
        else:
            status, message = _outcome(result)
            await self._update(record, status=status, message=message, result=wire)
            return
        self._signal(task_id)

    async def _update(
        self,
        record: TaskRecord,
        *,
        status: TaskStatus,
        message: str | None,
        result: dict[str, Any] | None = None,  # Any: CallToolResult as JSON
    ) -> TaskRecord:
        update: dict[str, Any] = {  # Any: record fields
            "status": status,
            "status_message": message,
            "updated_at": time.time(),
        }
        if result is not None:
            update["result"] = result
        record = record.model_copy(update=update)
        await self.store().put(record)
        self._signal(record.task_id)
        await self._notify(record)
        return record

    def _signal(self, task_id: str) -> None:
        event = self._changed.pop(task_id, None)
        if event is not None:
            event.set()

    async def _notify(self, record: TaskRecord) -> None:
        """``notifications/tasks/status`` to the session that created (or resumed) the task."""
        listener = self._listeners.get(record.task_id)
        if listener is None:
            return
        session_id, session = listener
        if record.terminal:
            self._listeners.pop(record.task_id, None)
        if not self.live(session_id):
            return
        notification = types.TaskStatusNotification(
            params=types.TaskStatusNotificationParams(**self._fields(record))
        )
        try:
            # Not in the SDK's ServerNotification union (it leaves tasks out); same wire form.
            await session.send_notification(cast(Any, notification))
        except Exception as exc:  # a client gone meanwhile: polling still works
            _log.debug("mcp_task_status_not_sent", task_id=record.task_id, error=str(exc))

    # -- tasks/* -----------------------------------------------------------------------------

    def _reachable(self, ctx: Ctx, record: TaskRecord) -> bool:
        if record.principal != principal_of(ctx):
            return False
        return record.session_id == session_of(ctx) or not self.live(record.session_id)

    async def _find(self, ctx: Ctx, task_id: str) -> TaskRecord:
        record = await self.store().get(task_id)
        if record is None or not self._reachable(ctx, record):
            raise MCPError(code=INVALID_PARAMS, message=NOT_FOUND)
        return record

    def _fields(self, record: TaskRecord) -> dict[str, Any]:  # Any: Task fields
        message = record.status_message
        if record.status == "working":
            message = self._progress.get(record.task_id, message) or "The agent is working."
        return {
            "task_id": record.task_id,
            "status": record.status,
            "status_message": message,
            "created_at": _iso(record.created_at),
            "last_updated_at": _iso(record.updated_at),
            "ttl": record.ttl_ms,
            "poll_interval": POLL_INTERVAL_MS,
        }

    def _task(self, record: TaskRecord) -> types.Task:
        return types.Task(**self._fields(record))

    async def get(self, ctx: Ctx, params: types.GetTaskRequestParams) -> types.GetTaskResult:
        """``tasks/get``: the task's status."""
        return types.GetTaskResult(**self._fields(await self._find(ctx, params.task_id)))

    async def result(
        self, ctx: Ctx, params: types.GetTaskPayloadRequestParams
    ) -> dict[str, Any]:  # Any: CallToolResult as JSON
        """``tasks/result``: the tool result, once the task ended (waits until then)."""
        record = await self._find(ctx, params.task_id)
        while not record.terminal:
            event = self._changed.setdefault(record.task_id, anyio.Event())
            # Woken by this process's runs; a task run by another replica is re-read.
            with anyio.move_on_after(_REMOTE_POLL_SECONDS):
                await event.wait()
            record = await self._find(ctx, params.task_id)
        result = dict(
            record.result
            or error_result("the task ended without a result").model_dump(
                by_alias=True, mode="json", exclude_none=True
            )
        )
        meta = dict(result.get("_meta") or {})
        meta[RELATED_TASK] = {"taskId": record.task_id}
        result["_meta"] = meta
        return result

    async def cancel(
        self, ctx: Ctx, params: types.CancelTaskRequestParams
    ) -> types.CancelTaskResult:
        """``tasks/cancel``: stop the run (if this process runs it); the task is ``cancelled``."""
        record = await self._find(ctx, params.task_id)
        if record.terminal:
            raise MCPError(
                code=INVALID_PARAMS,
                message=f"task {record.task_id} already ended ({record.status}); only working "
                "or input_required tasks can be cancelled",
            )
        cancelled = error_result(f"{record.tool}: the task was cancelled by request")
        record = await self._update(
            record,
            status="cancelled",
            message="The task was cancelled by request.",
            result=cancelled.model_dump(by_alias=True, mode="json", exclude_none=True),
        )
        run = self._running.get(record.task_id)
        if run is not None:
            run.cancel()
        _log.info("mcp_task_cancelled", task_id=record.task_id)
        return types.CancelTaskResult(**self._fields(record))

    async def list(self, ctx: Ctx, params: types.PaginatedRequestParams) -> types.ListTasksResult:
        """``tasks/list``: the caller's tasks, oldest first, ``PAGE_SIZE`` at a time."""
        start = 0
        if params.cursor is not None:
            if not params.cursor.isdigit():
                raise MCPError(code=INVALID_PARAMS, message="invalid tasks/list cursor")
            start = int(params.cursor)
        records = [r for r in await self.store().list(principal_of(ctx)) if self._reachable(ctx, r)]
        page = records[start : start + PAGE_SIZE]
        more = start + PAGE_SIZE < len(records)
        return types.ListTasksResult(
            tasks=[self._task(r) for r in page],
            next_cursor=str(start + PAGE_SIZE) if more else None,
        )
