"""`AgentService`: the one façade the CLI, the MCP server and the language server drive.

::

    async with AgentService.open(settings, surface="cli") as service:
        outcome = await run_turn(service, None, "Fix the failing test", on_event=show)
        outcome = await resume_run(service, outcome.thread_id, [Decision(type="approve")])

(`run_turn` and `resume_run` from `luminamind.agent.runs` consume `stream` and `resume`, whose
events are RunStarted, TextDelta, ToolStarted, ...)

Every run yields `RunStarted` first and ends with exactly one of `FinalAnswer`,
`ApprovalRequested` or `ErrorEvent`. Expected failures (provider down, bad configuration,
checkpointer errors, invalid decisions, a busy thread, the step limit) are `ErrorEvent`s, never
exceptions out of the stream; the thread stays as it was at its last checkpoint and can be
resumed. Surfaces do not consume these streams themselves: `luminamind.agent.runs` drives them.

The busy-thread rule lives here, once for every surface: several threads run concurrently, a
second run of a busy thread is refused (``thread_busy``), except that a run of a thread whose
run was just cancelled first waits (a few seconds at most) for that run to unwind, so a retry
sent right after a cancel is not refused for it. A thread stays busy until its graph task has
really stopped, not merely until its stream was closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import structlog
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command, Durability
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
from luminamind.agent.heads import ThreadHeads
from luminamind.agent.middleware import message_text
from luminamind.agent.review import review_results, settle_reviews
from luminamind.agent.streaming import EventTranslator, message_views
from luminamind.agent.thread_tools import ThreadToolRegistry
from luminamind.config import Settings
from luminamind.errors import LuminaError, ProposalChangedError, ThreadNotFoundError
from luminamind.observability.metrics import get_metrics
from luminamind.observability.tracing import end_span, start_span, step_callbacks, task_context
from luminamind.providers import CircuitBreakers, build_chat_model
from luminamind.rewind.editor import RecordingEditor
from luminamind.rewind.models import EditorEdit, RewindPlan, RewindResult, TurnView
from luminamind.rewind.recorder import TurnRecorder
from luminamind.runtime import ToolRuntime, build_tool_runtime
from luminamind.state.checkpointer import open_checkpointer, open_thread_store
from luminamind.state.records import ThreadStatus
from luminamind.state.run_lease import (
    RUN_BEAT_SECONDS,
    RUN_LEASE_SECONDS,
    RunOwner,
    owner_token,
    stale_reason,
)
from luminamind.state.snapshots import SnapshotStore, open_snapshot_store
from luminamind.state.threads import ThreadStore, title_from
from luminamind.surfaces import Surface
from luminamind.tools.context import ToolContext
from luminamind.tools.editor import Editor, EditorRegistry
from luminamind.tools.registry import ToolRegistry

__all__ = ["STEP_LIMIT_PREFIX", "AgentService"]

_log = structlog.get_logger(__name__)

# LangChain's ModelCallLimitMiddleware ends a run with an AIMessage starting so.
STEP_LIMIT_PREFIX = "Model call limits exceeded"
_CONTINUE = "Continue the task from where you stopped."
_STREAM_MODES = ["messages", "updates", "custom"]
# Every surface (CLI, MCP, LSP, ACP) runs with LangGraph's "sync" durability: a step's checkpoint
# is saved before the next step starts, so a crash loses at most the step in flight. "async"
# (LangGraph's default) overlaps the save with the next step, so a crash can also lose the step
# before it, whose tool may then run twice; "exit" saves only at the end of the run. Measured in
# bench/agent_overhead.py: "sync" costs no CPU, and its wait is a fraction of a millisecond per
# step on SQLite without fsync (luminamind.state.checkpointer) and on Redis.
_DURABILITY: Durability = "sync"
_DONE = object()
# The thread's status after a run that ended so (any other ending: "error").
_STATUS_AFTER: dict[str, ThreadStatus] = {
    "completed": "idle",
    "awaiting_approval": "awaiting_approval",
    "cancelled": "idle",
    "step_limit": "idle",
}
# How long a new run of a thread waits for its cancelled previous run to unwind.
_UNWIND_SECONDS = 5.0


class _Run:
    """A thread's run in flight: its graph task (once started) and whether it was cancelled."""

    def __init__(self) -> None:
        self.task: asyncio.Task[None] | None = None
        self.cancelled = False
        self.finished = asyncio.Event()


class AgentService:
    """Runs the agent on threads; build it with `AgentService.open`."""

    def __init__(
        self,
        settings: Settings,
        *,
        surface: Surface,
        checkpointer: BaseCheckpointSaver[Any],  # Any: the saver's version type
        store: ThreadStore,
        runtime: ToolRuntime,
        model: str | BaseChatModel | None = None,
        snapshots: SnapshotStore | None = None,
        thread_tools: ThreadToolRegistry | None = None,
    ) -> None:
        self.settings = settings
        self.thread_tools = thread_tools
        self.snapshots = snapshots
        self.surface = surface
        self.checkpointer = checkpointer
        self.store = store
        self.runtime = runtime
        self._model = model
        self._agent: AgentGraph | None = None
        self._breakers = CircuitBreakers.from_settings(settings.model)
        self._runs: dict[str, _Run] = {}
        self._run_spans: dict[str, Any] = {}  # Any: OTel spans of the runs in progress
        self._beats: dict[str, asyncio.Task[None]] = {}  # the runs' heartbeats (run_lease)
        self._build_lock = asyncio.Lock()
        self._prebuild: asyncio.Task[AgentGraph] | None = None
        # What the last state this process built said about each thread's latest checkpoint.
        self._heads = ThreadHeads(checkpointer)

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        settings: Settings,
        *,
        surface: Surface,
        checkpointer: BaseCheckpointSaver[Any] | None = None,  # Any: the saver's version type
        model: str | BaseChatModel | None = None,
        registry: ToolRegistry | None = None,
        prebuild: bool = True,
        editors: EditorRegistry | None = None,
        thread_tools: ThreadToolRegistry | None = None,
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
            editors: the editors threads run in (ACP); their file and shell tools go through it.
            thread_tools: extra tools per thread (the MCP servers an ACP session passes).

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
                editors=editors,
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
                thread_tools=thread_tools,
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
                thread_tools=self.thread_tools,
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
        from luminamind.state.llm_cache import build_llm_cache  # only once a model is built

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
            editors=base.editors,
        )

    # --- public API ---------------------------------------------------------------------------

    async def stream(self, thread_id: str | None, message: str) -> AsyncGenerator[AgentEvent, None]:
        """Run the agent on ``message`` in ``thread_id`` (a new thread when None or unknown).

        Surfaces drive it with `luminamind.agent.runs.run_turn` rather than consuming it.
        """
        thread_id = thread_id or uuid.uuid4().hex[:16]
        async with contextlib.aclosing(
            self._guarded(thread_id, self._stream(thread_id, message))
        ) as run:
            async for event in run:
                yield event

    async def _stream(self, thread_id: str, message: str) -> AsyncGenerator[AgentEvent, None]:
        await self.store.create(
            thread_id,
            title=title_from(message),
            surface=self.surface,
            workspace=str(self.settings.workspace),
        )
        await self._hold(thread_id)
        graph = (await self.aagent()).graph
        config = self._config(thread_id)
        # Not the whole state (the run loads it next): only its interrupts and checkpoint id,
        # remembered from the last state built here while the checkpoint has not moved.
        key = await self._heads.key(config)
        head = self._heads.get(thread_id, key)
        if head is None:
            head = self._heads.remember(thread_id, key, await graph.aget_state(config))
        if head.interrupts:
            raise InvalidDecisionError(
                f"thread {thread_id} waits for approval of {len(head.interrupts)} "
                f"action(s); answer them with resume (luminamind resume {thread_id}) first"
            )
        if self.snapshots is not None:
            # The turn starts from this checkpoint: rewinding to it forks from there.
            await self.snapshots.begin_turn(
                thread_id, checkpoint_id=head.checkpoint_id, message=message
            )
            await self.snapshots.prune(thread_id, keep=self.settings.rewind.keep_turns)
        run_input = {"messages": [HumanMessage(content=message)]}
        async with contextlib.aclosing(self._drive(thread_id, run_input)) as run:
            async for event in run:
                yield event

    async def resume(
        self,
        thread_id: str,
        decisions: list[Decision],
        *,
        approve_all: bool = False,
    ) -> AsyncGenerator[AgentEvent, None]:
        """Continue ``thread_id``: answer its pending approvals, or go on after a crash.

        Surfaces drive it with `luminamind.agent.runs.resume_run` rather than consuming it.

        Args:
            thread_id: the thread.
            decisions: one per pending action, in order. Empty with no pending action continues
                a run that stopped mid-way (a killed process) from its last checkpoint, or a
                run that hit the step limit; empty with pending actions shows them again.
            approve_all: approve these and every later action of the thread (``--yes``).
        """
        async with contextlib.aclosing(
            self._guarded(thread_id, self._resume(thread_id, decisions, approve_all=approve_all))
        ) as run:
            async for event in run:
                yield event

    async def _resume(
        self, thread_id: str, decisions: list[Decision], *, approve_all: bool
    ) -> AsyncGenerator[AgentEvent, None]:
        await self.store.get(thread_id)
        await self._hold(thread_id)
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
            given = list(decisions)
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
            for finished in review_results(
                snapshot.interrupts, given, decisions, thread_id=thread_id
            ):
                yield finished
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
        async with contextlib.aclosing(self._drive(thread_id, run_input)) as run:
            async for event in run:
                yield event

    async def state(self, thread_id: str) -> ThreadState:
        """Messages, TODOs and pending approvals of a thread.

        Raises:
            ThreadNotFoundError: no such thread.
            ConfigError: the model is not configured (the graph cannot be built).
        """
        info = await self.store.get(thread_id)
        graph = (await self.aagent()).graph
        config = self._config(thread_id)
        key = await self._heads.key(config)
        snapshot = await graph.aget_state(config)
        self._heads.remember(thread_id, key, snapshot)
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
            turns=await _rewind.thread_turns(self, thread_id),
        )

    async def threads(self) -> list[ThreadInfo]:
        """Every thread (from every surface), most recently updated first."""
        return await self.store.list()

    async def delete(self, thread_id: str) -> bool:
        """Delete a thread's checkpoints and metadata; False if it did not exist.

        Raises:
            LuminaError: the thread is running, here or in another process (cancel it first).
        """
        await self.refuse_while_running(thread_id, to="delete it")
        existed = await self.store.delete(thread_id)
        self._heads.forget(thread_id)
        await self.checkpointer.adelete_thread(thread_id)
        if self.snapshots is not None:
            await self.snapshots.delete_thread(thread_id)
        return existed

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
        keep: Sequence[str] = (),
    ) -> RewindResult:
        """Restore the files before ``turn`` and move the conversation back to it."""
        return await _rewind.rewind(
            self, thread_id, turn=turn, overwrite=overwrite, partial=partial, keep=keep
        )

    async def restore_texts(
        self, thread_id: str, *, turn: int | None = None
    ) -> tuple[RewindPlan, dict[str, str | None]]:
        """The rewind plan and the restorable files' texts (for an editor's WorkspaceEdit)."""
        return await _rewind.restore_texts(self, thread_id, turn=turn)

    async def record_editor_edits(
        self, thread_id: str, *, tool: str, edits: Sequence[EditorEdit]
    ) -> None:
        """Record changes an editor applied to its own buffers into the thread's current turn.

        For a surface whose editor applies the agent's change itself (the language server's
        reviewed WorkspaceEdit): LuminaMind wrote nothing, so the texts are the record, and a
        rewind restores ``before`` once the user has saved. Never fails the caller.
        """
        if self.snapshots is None or not edits:
            return
        recorder = TurnRecorder(self.snapshots, self.settings.rewind)
        root = self.runtime.context.workspace.root
        await recorder.record_texts(thread_id, root=root, tool=tool, edits=edits)

    def recording_editor(self, thread_id: str, editor: Editor) -> Editor:
        """``editor`` with its file writes recorded for rewind (an ACP client's buffers)."""

        async def record(tool: str, edits: Sequence[EditorEdit]) -> None:
            await self.record_editor_edits(thread_id, tool=tool, edits=edits)

        return RecordingEditor(editor, root=self.runtime.context.workspace.root, record=record)

    async def cancel(self, thread_id: str) -> bool:
        """Stop the thread's current run (the thread stays, at its last checkpoint).

        Returns:
            False when the thread has no run in flight.
        """
        run = self._runs.get(thread_id)
        if run is None or run.cancelled:
            return False
        run.cancelled = True
        if run.task is not None and not run.task.done():
            run.task.cancel()
        return True

    def is_running(self, thread_id: str) -> bool:
        """Whether ``thread_id`` has a run in flight (a new run of it would be refused)."""
        return thread_id in self._runs

    def running(self) -> list[str]:
        """The threads with a run in flight, sorted."""
        return sorted(self._runs)

    async def live_owner(self, thread_id: str) -> RunOwner | None:
        """The process whose run holds ``thread_id`` (this one's are `is_running`), or None.

        A run in another process (the MCP server, a language server, another CLI) marks the
        thread in the shared thread store; a crashed owner stops counting by the stale-run rule
        of `luminamind.state.run_lease`.
        """
        owner = await self.store.run_owner(thread_id)
        return owner if owner is not None and stale_reason(owner) is None else None

    async def refuse_while_running(
        self, thread_id: str, *, to: str, error: type[LuminaError] = LuminaError
    ) -> None:
        """Raise ``error`` while ``thread_id`` runs here or in another live process.

        Args:
            to: what was asked, for the message ("rewind", "delete it").
        """
        if self.is_running(thread_id):
            raise error(f"thread {thread_id} is running; wait for it or cancel it, then {to}")
        owner = await self.live_owner(thread_id)
        if owner is not None:
            raise error(
                f"thread {thread_id} is running in another process ({owner.describe()}); wait "
                f"for it or cancel it there, then {to}. A crashed process stops counting once "
                f"its pid is gone, or after {RUN_LEASE_SECONDS:.0f} s without a heartbeat"
            )

    # --- running ------------------------------------------------------------------------------

    async def _guarded(
        self, thread_id: str, events: AsyncGenerator[AgentEvent, None]
    ) -> AsyncGenerator[AgentEvent, None]:
        """One run: busy check, RunStarted, errors as ErrorEvent, status and metrics."""
        previous = self._runs.get(thread_id)
        if previous is not None and previous.cancelled:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_UNWIND_SECONDS):
                    await previous.finished.wait()
        if thread_id in self._runs:
            yield ErrorEvent(
                thread_id=thread_id,
                code="thread_busy",
                message=f"thread {thread_id} is already running; wait for it or cancel it",
            )
            return
        run = self._runs[thread_id] = _Run()
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
                async with contextlib.aclosing(events) as inner:
                    async for event in inner:
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
            except (asyncio.CancelledError, GeneratorExit):
                # The consumer was cancelled (an editor's Cancel) or closed the stream before
                # the run ended: the thread stays as of its last checkpoint, resumable.
                if outcome == "error":
                    outcome = "cancelled"
                raise
            except ValidationError as exc:  # an answer LangGraph's schema refused
                yield ErrorEvent(
                    thread_id=thread_id, code="invalid_decision", message=str(exc)[:2000]
                )
        finally:
            # First, before any await: a consumer cancelled by anyio is cancelled again at
            # every await of this block.
            self._release(thread_id, run)
            beat = self._beats.pop(thread_id, None)
            if beat is not None:
                beat.cancel()
            end_span(
                self._run_spans.pop(thread_id, None),
                error=None if outcome in {"completed", "awaiting_approval"} else outcome,
            )
            metrics.active_threads.dec()
            metrics.agent_runs_total.labels(self.surface, _outcome_label(outcome)).inc()
            await self._set_status(thread_id, _STATUS_AFTER.get(outcome, "error"))

    def _release(self, thread_id: str, run: _Run) -> None:
        """Free the thread once the run's graph task has stopped (now, or when it does)."""

        def finish(_: object = None) -> None:
            if self._runs.get(thread_id) is run:
                del self._runs[thread_id]
            run.finished.set()

        if run.task is not None and not run.task.done():
            run.task.add_done_callback(finish)
        else:
            finish()

    async def _hold(self, thread_id: str) -> None:
        """Mark the thread running by this process, heartbeat renewed until the run ends.

        So another process sees the run (the CLI asked to rewind a thread the MCP server runs);
        `luminamind.state.run_lease` says when a crashed owner stops counting. The run's end
        sets the status again (`_guarded`), which ends the mark.
        """
        owner = owner_token()
        try:
            await self.store.start_run(thread_id, owner)
        except LuminaError as exc:  # metadata is secondary: the run goes on
            _log.warning("thread_status_failed", thread_id=thread_id, error=exc.message)
            return

        async def beat() -> None:
            while True:
                await asyncio.sleep(RUN_BEAT_SECONDS)
                try:
                    await self.store.beat_run(thread_id, owner)
                except LuminaError as exc:
                    _log.warning("thread_heartbeat_failed", thread_id=thread_id, error=exc.message)

        previous = self._beats.pop(thread_id, None)
        if previous is not None:
            previous.cancel()
        self._beats[thread_id] = asyncio.create_task(beat(), name=f"heartbeat {thread_id}")

    async def _set_status(self, thread_id: str, status: ThreadStatus) -> None:
        try:
            await self.store.set_status(thread_id, status)
        except LuminaError as exc:  # metadata is secondary: never hide the run's own outcome
            _log.warning("thread_status_failed", thread_id=thread_id, error=exc.message)

    async def _drive(self, thread_id: str, run_input: Any) -> AsyncGenerator[AgentEvent, None]:
        """Stream the graph until it ends or waits for a human (auto-approving if asked)."""
        graph = (await self.aagent()).graph
        config = self._config(thread_id)
        while True:
            translator = EventTranslator(thread_id)
            pump = self._pump(thread_id, graph, run_input, config, translator)
            async with contextlib.aclosing(pump) as events:
                async for event in events:
                    yield event
            key = await self._heads.key(config)
            snapshot = await graph.aget_state(config)
            self._heads.remember(thread_id, key, snapshot)
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
    ) -> AsyncGenerator[AgentEvent, None]:
        """Run the graph in its own task (so `cancel` can stop it) and relay its events."""
        queue: asyncio.Queue[Any] = asyncio.Queue()  # Any: events, _DONE or an exception

        async def produce() -> None:
            # The task's own context (below): these bindings never leak into the caller's.
            structlog.contextvars.bind_contextvars(thread_id=thread_id, surface=self.surface)
            try:
                async for ns, mode, chunk in graph.astream(
                    run_input,
                    config,
                    stream_mode=_STREAM_MODES,
                    subgraphs=True,
                    durability=_DURABILITY,
                ):
                    for event in translator.translate(ns, mode, chunk):
                        queue.put_nowait(event)
                queue.put_nowait(_DONE)
            except asyncio.CancelledError:
                raise  # relayed by `relay_cancel`
            except BaseException as exc:  # relayed to the consumer, which converts it once
                queue.put_nowait(exc)

        def relay_cancel(task: asyncio.Task[None]) -> None:
            # A done callback, not an ``except`` in `produce`: a task cancelled before its
            # first step (a cancel right after it was created) never runs its body at all,
            # and the consumer would wait for the queue forever.
            if task.cancelled():
                queue.put_nowait(asyncio.CancelledError())

        run = self._runs[thread_id]
        if run.cancelled:  # cancelled before the graph started
            yield _cancelled_event(thread_id)
            raise _Cancelled
        task = asyncio.create_task(
            produce(),
            name=f"luminamind-run-{thread_id}",
            # Model, step and tool spans of the graph nest under the run's span.
            context=task_context(self._run_spans.get(thread_id)),
        )
        task.add_done_callback(relay_cancel)
        run.task = task
        try:
            while True:
                item = await queue.get()
                if item is _DONE:
                    return
                if isinstance(item, asyncio.CancelledError):
                    yield _cancelled_event(thread_id)
                    raise _Cancelled
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            if not task.done():
                # The consumer left (closed the stream, or was cancelled): stop the graph too.
                run.cancelled = True
                task.cancel()
                with _suppress_cancel():
                    await task

    async def _cancel_all(self) -> None:
        if self._prebuild is not None:
            # Its error (a missing model, say) is reported by the run that needs the agent.
            with _suppress_cancel():
                await self._prebuild
        tasks = [r.task for r in self._runs.values() if r.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with _suppress_cancel():
                await task


class _Cancelled(Exception):
    """Internal: ends a cancelled run after its ErrorEvent."""


def _cancelled_event(thread_id: str) -> ErrorEvent:
    return ErrorEvent(
        thread_id=thread_id,
        code="cancelled",
        message=(
            f"the run was cancelled; thread {thread_id} keeps everything up to its last "
            "completed step"
        ),
    )


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
