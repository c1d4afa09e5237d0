"""`AgentService`: the one façade the CLI, the MCP server and the language server drive.

::

    async with AgentService.open(settings, surface="cli") as service:
        async for event in service.stream(None, "Fix the failing test"):
            ...                                   # RunStarted, TextDelta, ToolStarted, ...
        async for event in service.resume(thread_id, [Decision(type="approve")]):
            ...

Every run yields `RunStarted` first and ends with exactly one of `FinalAnswer`,
`ApprovalRequested` or `ErrorEvent`. Expected failures (provider down, bad configuration,
checkpointer errors, invalid decisions, a busy thread, the step limit) are `ErrorEvent`s, never
exceptions out of the stream; the thread stays as it was at its last checkpoint and can be
resumed. Several threads run concurrently; a second run of a busy thread is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import structlog
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command
from pydantic import ValidationError

from luminamind.agent import rewind as _rewind
from luminamind.agent.approvals import InvalidDecisionError, action_requests, hitl_answers
from luminamind.agent.events import (
    AgentEvent,
    ApprovalRequested,
    Decision,
    ErrorEvent,
    FinalAnswer,
    RunStarted,
    ThreadInfo,
    ThreadState,
    Todo,
)
from luminamind.agent.graph import AgentGraph, build_agent_graph
from luminamind.agent.middleware import message_text
from luminamind.agent.review import settle_reviews
from luminamind.agent.streaming import EventTranslator, message_views
from luminamind.config import Settings
from luminamind.errors import LuminaError, ProposalChangedError, ThreadNotFoundError
from luminamind.observability.metrics import get_metrics
from luminamind.observability.tracing import end_span, start_span, step_callbacks, task_context
from luminamind.providers import CircuitBreakers, build_chat_model
from luminamind.rewind.models import RewindPlan, RewindResult, TurnView
from luminamind.rewind.recorder import TurnRecorder
from luminamind.runtime import ToolRuntime, build_tool_runtime
from luminamind.state.checkpointer import open_checkpointer
from luminamind.state.snapshots import SnapshotStore, open_snapshot_store
from luminamind.state.threads import ThreadStatus, ThreadStore, open_thread_store, title_from
from luminamind.tools.context import ToolContext
from luminamind.tools.registry import ToolRegistry

__all__ = ["STEP_LIMIT_PREFIX", "AgentService"]

_log = structlog.get_logger(__name__)

# LangChain's ModelCallLimitMiddleware ends a run with an AIMessage starting so.
STEP_LIMIT_PREFIX = "Model call limits exceeded"
_CONTINUE = "Continue the task from where you stopped."
_STREAM_MODES = ["messages", "updates", "custom"]
_DONE = object()


class AgentService:
    """Runs the agent on threads; build it with `AgentService.open`."""

    def __init__(
        self,
        settings: Settings,
        *,
        surface: str,
        checkpointer: BaseCheckpointSaver[Any],  # Any: the saver's version type
        store: ThreadStore,
        runtime: ToolRuntime,
        model: str | BaseChatModel | None = None,
        snapshots: SnapshotStore | None = None,
    ) -> None:
        self.settings = settings
        self.snapshots = snapshots
        self.surface = surface
        self.checkpointer = checkpointer
        self.store = store
        self.runtime = runtime
        self._model = model
        self._agent: AgentGraph | None = None
        self._breakers = CircuitBreakers.from_settings(settings.model)
        self._running: set[str] = set()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._run_spans: dict[str, Any] = {}  # Any: OTel spans of the runs in progress
        self._build_lock = asyncio.Lock()
        self._prebuild: asyncio.Task[AgentGraph] | None = None

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        settings: Settings,
        *,
        surface: str,
        checkpointer: BaseCheckpointSaver[Any] | None = None,  # Any: the saver's version type
        model: str | BaseChatModel | None = None,
        registry: ToolRegistry | None = None,
        prebuild: bool = True,
    ) -> AsyncIterator[AgentService]:
        """Open the checkpointer and thread store for the life of the block.

        The model is built on the first run, so listing or deleting threads works without a
        model configured; a missing model configuration is then an `ErrorEvent`.

        Args:
            settings: the configuration (workspace, data dir, model, approvals, limits).
            surface: ``cli``, ``mcp`` or ``lsp`` (thread metadata, metrics, audit log).
            checkpointer: a saver to use instead of the configured one.
            model: ``provider:model`` or a chat model instead of ``settings.model.model``.
            registry: the tools (the built-in ones by default).
            prebuild: start building the agent (importing the provider SDK takes seconds) in
                a worker thread right away, so the first run does not wait for it.

        Raises:
            CheckpointError: the checkpointer or the thread store cannot be opened.
            ConfigError: the state backend is misconfigured.
        """
        async with AsyncExitStack() as stack:
            saver: BaseCheckpointSaver[Any] = (  # Any: the saver's version type
                checkpointer
                if checkpointer is not None
                else await stack.enter_async_context(open_checkpointer(settings))
            )
            snapshots: SnapshotStore | None = None
            if settings.rewind.enabled:
                # What each turn changes in the workspace, so it can be rewound (docs/rewind.md).
                snapshots = open_snapshot_store(settings)
                stack.push_async_callback(snapshots.aclose)
            runtime = build_tool_runtime(
                settings,
                surface=surface,
                registry=registry,
                recorder=TurnRecorder(snapshots, settings.rewind) if snapshots else None,
            )
            store = open_thread_store(settings)
            closer = getattr(store, "aclose", None)  # the Redis store holds a connection pool
            if closer is not None:
                stack.push_async_callback(closer)
            service = cls(
                settings,
                surface=surface,
                checkpointer=saver,
                store=store,
                runtime=runtime,
                model=model,
                snapshots=snapshots,
            )
            if prebuild:
                service._prebuild = asyncio.create_task(service.aagent())
            try:
                yield service
            finally:
                await service._cancel_all()

    # --- the graph ----------------------------------------------------------------------------

    def agent(self) -> AgentGraph:
        """The compiled agent, built on first use.

        Raises:
            ConfigError: the model (or a subagent's) is not configured.
        """
        if self._agent is None:
            model = self._model
            if not isinstance(model, BaseChatModel):
                model = build_chat_model(self.settings, model=model)
                self._attach_llm_cache(model)
            self._agent = build_agent_graph(
                self.settings,
                runtime=self.runtime,
                model=model,
                checkpointer=self.checkpointer,
                breakers=self._breakers,
            )
        return self._agent

    async def aagent(self) -> AgentGraph:
        """`agent`, built in a worker thread the first time (it imports the provider SDK)."""
        if self._agent is not None:
            return self._agent
        async with self._build_lock:
            if self._agent is None:
                await asyncio.to_thread(self.agent)
        assert self._agent is not None
        return self._agent

    def _attach_llm_cache(self, model: BaseChatModel) -> None:
        try:
            from luminamind.state.llm_cache import build_llm_cache
        except ImportError:  # pragma: no cover - the cache module ships with the package
            return
        cache = build_llm_cache(self.settings)
        if cache is not None:
            model.cache = cache

    def _config(self, thread_id: str) -> RunnableConfig:
        config: RunnableConfig = {"configurable": {"thread_id": thread_id}}
        callbacks = step_callbacks()
        if callbacks:  # only with tracing on: a callback costs on every node and model call
            config["callbacks"] = callbacks
        return config

    def _context(self, thread_id: str) -> ToolContext:
        base = self.runtime.context
        return ToolContext(
            workspace=base.workspace,
            settings=base.settings,
            thread_id=thread_id,
            surface=base.surface,
        )

    # --- public API ---------------------------------------------------------------------------

    async def stream(self, thread_id: str | None, message: str) -> AsyncIterator[AgentEvent]:
        """Run the agent on ``message`` in ``thread_id`` (a new thread when None or unknown)."""
        thread_id = thread_id or uuid.uuid4().hex[:16]
        async for event in self._guarded(thread_id, self._stream(thread_id, message)):
            yield event

    async def _stream(self, thread_id: str, message: str) -> AsyncIterator[AgentEvent]:
        await self.store.create(
            thread_id,
            title=title_from(message),
            surface=self.surface,
            workspace=str(self.settings.workspace),
        )
        graph = (await self.aagent()).graph
        config = self._config(thread_id)
        snapshot = await graph.aget_state(config)
        if snapshot.interrupts:
            raise InvalidDecisionError(
                f"thread {thread_id} waits for approval of {len(snapshot.interrupts)} "
                f"action(s); answer them with resume (luminamind resume {thread_id}) first"
            )
        if self.snapshots is not None:
            # The turn starts from this checkpoint: rewinding to it forks from there.
            at = snapshot.config.get("configurable", {}).get("checkpoint_id")
            await self.snapshots.begin_turn(
                thread_id, checkpoint_id=at if snapshot.created_at else None, message=message
            )
            await self.snapshots.prune(thread_id, keep=self.settings.rewind.keep_turns)
        run_input = {"messages": [HumanMessage(content=message)]}
        async for event in self._drive(thread_id, run_input):
            yield event

    async def resume(
        self,
        thread_id: str,
        decisions: list[Decision],
        *,
        approve_all: bool = False,
    ) -> AsyncIterator[AgentEvent]:
        """Continue ``thread_id``: answer its pending approvals, or go on after a crash.

        Args:
            thread_id: the thread.
            decisions: one per pending action, in order. Empty with no pending action continues
                a run that stopped mid-way (a killed process) from its last checkpoint, or a
                run that hit the step limit; empty with pending actions shows them again.
            approve_all: approve these and every later action of the thread (``--yes``).
        """
        async for event in self._guarded(
            thread_id, self._resume(thread_id, decisions, approve_all=approve_all)
        ):
            yield event

    async def _resume(
        self, thread_id: str, decisions: list[Decision], *, approve_all: bool
    ) -> AsyncIterator[AgentEvent]:
        await self.store.get(thread_id)
        if approve_all:
            await self.store.set_approve_all(thread_id, True)
        graph = (await self.aagent()).graph
        snapshot = await graph.aget_state(self._config(thread_id))
        run_input: Any  # Any: a graph input, a Command, or None (continue)
        if snapshot.interrupts:
            if not decisions and (approve_all or await self.store.approve_all(thread_id)):
                decisions = [Decision(type="approve") for _ in snapshot.interrupts]
            if not decisions:
                requests = await action_requests(
                    snapshot.interrupts,
                    executor=self.runtime.executor,
                    context=self._context(thread_id),
                    count_metric=False,
                )
                await self._set_status(thread_id, "awaiting_approval")
                yield ApprovalRequested(thread_id=thread_id, requests=requests)
                return
            context = self._context(thread_id)
            try:
                decisions = await settle_reviews(
                    snapshot.interrupts, decisions, executor=self.runtime.executor, context=context
                )
            except ProposalChangedError as exc:
                # Never applied blind: show the change as it is now and ask again.
                requests = await action_requests(
                    snapshot.interrupts,
                    executor=self.runtime.executor,
                    context=context,
                    count_metric=False,
                )
                for request in requests:
                    request.notice = exc.message
                await self._set_status(thread_id, "awaiting_approval")
                yield ApprovalRequested(thread_id=thread_id, requests=requests)
                return
            run_input = Command(
                resume=hitl_answers(snapshot.interrupts, decisions, executor=self.runtime.executor)
            )
        elif decisions:
            raise InvalidDecisionError(f"thread {thread_id} has no action waiting for a decision")
        elif snapshot.next:
            run_input = None  # a run stopped mid-way: go on from the last checkpoint
        elif _stopped_at_step_limit(snapshot.values):
            run_input = {"messages": [HumanMessage(content=_CONTINUE)]}
        else:
            raise InvalidDecisionError(
                f"thread {thread_id} has nothing to resume; send it a new message instead"
            )
        async for event in self._drive(thread_id, run_input):
            yield event

    async def state(self, thread_id: str) -> ThreadState:
        """Messages, TODOs and pending approvals of a thread.

        Raises:
            ThreadNotFoundError: no such thread.
            ConfigError: the model is not configured (the graph cannot be built).
        """
        info = await self.store.get(thread_id)
        graph = (await self.aagent()).graph
        snapshot = await graph.aget_state(self._config(thread_id))
        values = snapshot.values or {}
        pending = await action_requests(
            snapshot.interrupts,
            executor=self.runtime.executor,
            context=self._context(thread_id),
            count_metric=False,
        )
        return ThreadState(
            info=info,
            messages=message_views(values.get("messages", [])),
            todos=[Todo.model_validate(t) for t in values.get("todos") or []],
            pending_approvals=pending,
        )

    async def threads(self) -> list[ThreadInfo]:
        """Every thread (from every surface), most recently updated first."""
        return await self.store.list()

    async def delete(self, thread_id: str) -> bool:
        """Delete a thread's checkpoints and metadata; False if it did not exist.

        Raises:
            LuminaError: the thread is running (cancel it first).
        """
        if thread_id in self._running:
            raise LuminaError(f"thread {thread_id} is running; cancel it before deleting it")
        existed = await self.store.delete(thread_id)
        await self.checkpointer.adelete_thread(thread_id)
        if self.snapshots is not None:
            await self.snapshots.delete_thread(thread_id)
        return existed

    def is_running(self, thread_id: str) -> bool:
        """Whether a run of the thread is in progress in this service."""
        return thread_id in self._running

    async def turns(self, thread_id: str) -> list[TurnView]:
        """The thread's recorded turns with the files each changed (see `agent.rewind`)."""
        return await _rewind.thread_turns(self, thread_id)

    async def plan_rewind(self, thread_id: str, *, turn: int | None = None) -> RewindPlan:
        """What rewinding the thread to ``turn`` (its last by default) would do."""
        return await _rewind.plan_rewind(self, thread_id, turn=turn)

    async def rewind(
        self,
        thread_id: str,
        *,
        turn: int | None = None,
        overwrite: bool = False,
        partial: bool = False,
    ) -> RewindResult:
        """Restore the files before ``turn`` and move the conversation back to it."""
        return await _rewind.rewind(
            self, thread_id, turn=turn, overwrite=overwrite, partial=partial
        )

    async def finish_rewind(self, thread_id: str, *, turn: int, left: list[str]) -> RewindResult:
        """Move the conversation back after an editor restored the files itself."""
        return await _rewind.finish_rewind(self, thread_id, turn=turn, left=left)

    async def cancel(self, thread_id: str) -> bool:
        """Stop the thread's current run (the thread stays, at its last checkpoint)."""
        task = self._tasks.get(thread_id)
        if task is None or task.done():
            return False
        task.cancel()
        return True

    # --- running ------------------------------------------------------------------------------

    async def _guarded(
        self, thread_id: str, events: AsyncIterator[AgentEvent]
    ) -> AsyncIterator[AgentEvent]:
        """One run: busy check, RunStarted, errors as ErrorEvent, status and metrics."""
        if thread_id in self._running:
            yield ErrorEvent(
                thread_id=thread_id,
                code="thread_busy",
                message=f"thread {thread_id} is already running; wait for it or cancel it",
            )
            return
        self._running.add(thread_id)
        metrics = get_metrics()
        metrics.active_threads.inc()
        outcome = "error"
        run_id = uuid.uuid4().hex
        # Not a current span: this generator's frames run in whatever context consumes it.
        self._run_spans[thread_id] = start_span(
            "agent run", thread_id=thread_id, run_id=run_id, surface=self.surface
        )
        try:
            yield RunStarted(thread_id=thread_id, run_id=run_id)
            try:
                async for event in events:
                    if isinstance(event, FinalAnswer):
                        outcome = "completed"
                    elif isinstance(event, ApprovalRequested):
                        outcome = "awaiting_approval"
                    elif isinstance(event, ErrorEvent):
                        outcome = event.code
                    yield event
            except LuminaError as exc:
                yield ErrorEvent(
                    thread_id=thread_id,
                    code=exc.code,
                    message=exc.message,
                    resumable=not isinstance(exc, ThreadNotFoundError),
                )
                outcome = "error"
            except _Cancelled:
                outcome = "cancelled"
            except ValidationError as exc:  # an answer LangGraph's schema refused
                yield ErrorEvent(
                    thread_id=thread_id, code="invalid_decision", message=str(exc)[:2000]
                )
        finally:
            self._running.discard(thread_id)
            end_span(
                self._run_spans.pop(thread_id, None),
                error=None if outcome in {"completed", "awaiting_approval"} else outcome,
            )
            metrics.active_threads.dec()
            metrics.agent_runs_total.labels(self.surface, _outcome_label(outcome)).inc()
            status: ThreadStatus = {
                "completed": "idle",
                "awaiting_approval": "awaiting_approval",
                "cancelled": "idle",
                "step_limit": "idle",
            }.get(outcome, "error")  # type: ignore[assignment]  # values are ThreadStatus
            await self._set_status(thread_id, status)

    async def _set_status(self, thread_id: str, status: ThreadStatus) -> None:
        try:
            await self.store.set_status(thread_id, status)
        except LuminaError as exc:  # metadata is secondary: never hide the run's own outcome
            _log.warning("thread_status_failed", thread_id=thread_id, error=exc.message)

    async def _drive(self, thread_id: str, run_input: Any) -> AsyncIterator[AgentEvent]:
        """Stream the graph until it ends or waits for a human (auto-approving if asked)."""
        graph = (await self.aagent()).graph
        config = self._config(thread_id)
        while True:
            translator = EventTranslator(thread_id)
            async for event in self._pump(thread_id, graph, run_input, config, translator):
                yield event
            snapshot = await graph.aget_state(config)
            if snapshot.interrupts:
                if await self.store.approve_all(thread_id):
                    decisions = [Decision(type="approve") for _ in snapshot.interrupts]
                    run_input = Command(
                        resume=hitl_answers(
                            snapshot.interrupts, decisions, executor=self.runtime.executor
                        )
                    )
                    continue
                requests = await action_requests(
                    snapshot.interrupts,
                    executor=self.runtime.executor,
                    context=self._context(thread_id),
                )
                yield ApprovalRequested(thread_id=thread_id, requests=requests)
                return
            values = snapshot.values or {}
            if _stopped_at_step_limit(values):
                yield ErrorEvent(
                    thread_id=thread_id,
                    code="step_limit",
                    message=(
                        f"the agent stopped after {self.settings.max_steps} model calls in this "
                        f"run (max_steps); continue with `luminamind resume {thread_id}` or "
                        "send another message, or raise max_steps"
                    ),
                )
                return
            yield FinalAnswer(thread_id=thread_id, text=_last_answer(values))
            return

    async def _pump(
        self,
        thread_id: str,
        graph: Any,  # Any: the compiled graph
        run_input: Any,  # Any: graph input, Command or None
        config: RunnableConfig,
        translator: EventTranslator,
    ) -> AsyncIterator[AgentEvent]:
        """Run the graph in its own task (so `cancel` can stop it) and relay its events."""
        queue: asyncio.Queue[Any] = asyncio.Queue()  # Any: events, _DONE or an exception

        async def produce() -> None:
            # The task's own context (below): these bindings never leak into the caller's.
            structlog.contextvars.bind_contextvars(thread_id=thread_id, surface=self.surface)
            try:
                async for ns, mode, chunk in graph.astream(
                    run_input, config, stream_mode=_STREAM_MODES, subgraphs=True
                ):
                    for event in translator.translate(ns, mode, chunk):
                        queue.put_nowait(event)
                queue.put_nowait(_DONE)
            except asyncio.CancelledError:
                queue.put_nowait(asyncio.CancelledError())
                raise
            except BaseException as exc:  # relayed to the consumer, which converts it once
                queue.put_nowait(exc)

        task = asyncio.create_task(
            produce(),
            name=f"luminamind-run-{thread_id}",
            # Model, step and tool spans of the graph nest under the run's span.
            context=task_context(self._run_spans.get(thread_id)),
        )
        self._tasks[thread_id] = task
        try:
            while True:
                item = await queue.get()
                if item is _DONE:
                    return
                if isinstance(item, asyncio.CancelledError):
                    yield ErrorEvent(
                        thread_id=thread_id,
                        code="cancelled",
                        message=(
                            f"the run was cancelled; thread {thread_id} keeps everything up to "
                            "its last completed step"
                        ),
                    )
                    raise _Cancelled
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            if not task.done():
                task.cancel()
                with _suppress_cancel():
                    await task
            if self._tasks.get(thread_id) is task:
                del self._tasks[thread_id]

    async def _cancel_all(self) -> None:
        if self._prebuild is not None:
            # Its error (a missing model, say) is reported by the run that needs the agent.
            with _suppress_cancel():
                await self._prebuild
        for task in list(self._tasks.values()):
            task.cancel()
        for task in list(self._tasks.values()):
            with _suppress_cancel():
                await task


class _Cancelled(Exception):
    """Internal: ends a cancelled run after its ErrorEvent."""


def _suppress_cancel() -> contextlib.suppress:
    return contextlib.suppress(asyncio.CancelledError, Exception)


def _outcome_label(outcome: str) -> str:
    known = {"completed", "awaiting_approval", "cancelled", "step_limit", "thread_busy"}
    return outcome if outcome in known else "error"


def _last_answer(values: dict[str, Any]) -> str:  # Any: graph state
    for message in reversed(values.get("messages", [])):
        if isinstance(message, AIMessage):
            return message_text(message.content)
    return ""


def _stopped_at_step_limit(values: dict[str, Any]) -> bool:  # Any: graph state
    messages: Sequence[Any] = values.get("messages", [])  # Any: LangChain messages
    last = messages[-1] if messages else None
    return isinstance(last, AIMessage) and message_text(last.content).startswith(STEP_LIMIT_PREFIX)
