"""The one run driver: every surface runs the agent through `run_turn` or `resume_run`.

A surface (the CLI's ``run``, ``resume`` and ``chat``, MCP's ``run_task`` / ``resume_task``, the
language server's commands, the ACP agent) supplies only two callbacks and gets a `RunOutcome`:

- ``on_event(event)`` shows progress: print it, send a progress notification, a ``$/progress``
  report or a ``session/update``. Every event of the run reaches it, in order.
- ``decide(requests)`` answers the actions the run paused on: one `Decision` (or None) per
  request, in order. None for a request leaves it to a later `resume_run` (an approve command,
  ``resume_task``, ``luminamind resume``); so does returning None, or having no ``decide``.

::

    async with AgentService.open(settings, surface="cli") as service:
        outcome = await run_turn(service, None, "Fix the failing test",
                                 decide=ask_the_user, on_event=show)
        if outcome.status == "awaiting_approval":
            ...  # later: resume_run(service, outcome.thread_id, decisions, ...)

Rules every surface gets for free (httpx drives its auth flow the same way, once, for every
client):

- The service's stream is consumed once, inside `contextlib.aclosing`: however the driver
  ends (an answer, an exception in a callback, the caller's task cancelled), the service's run
  is closed before the driver returns or raises. The thread is free again, its status, metrics
  and trace span settled; nothing is left to the event loop's async-generator finaliser.
- When ``decide`` answers every request, the run is resumed with those decisions and the loop
  goes on; an `Answers` with ``approve_all`` also approves every later action of the thread.
- When it answers only some, the run ends ``awaiting_approval``: `RunOutcome.pending` holds
  every action the thread waits on (what `AgentService.state` shows) and `RunOutcome.settled`
  the decisions already made, by action id. A decision already acted on (an edit the editor
  applied) must not be asked or decided again: build the later resume's decisions with
  `RunOutcome.decisions` / `complete_decisions`.
- The busy-thread rule belongs to `AgentService` (one run per thread; a retry right after a
  cancel waits for the cancelled run to unwind); the driver reports a refused run as an
  ``error`` outcome with ``error_code == "thread_busy"``.
- Cancelling the caller's task stops the run (its graph task is cancelled, the thread keeps its
  last checkpoint) and re-raises `asyncio.CancelledError`; `AgentService.cancel` from elsewhere
  ends the run with a ``cancelled`` outcome.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from luminamind.agent.events import (
    ActionRequest,
    AgentEvent,
    ApprovalRequested,
    Decision,
    ErrorEvent,
    FinalAnswer,
    TextDelta,
    Todo,
    TodosChanged,
)

if TYPE_CHECKING:
    from luminamind.agent.service import AgentService

__all__ = [
    "Answers",
    "Decide",
    "OnEvent",
    "RunOutcome",
    "RunStatus",
    "complete_decisions",
    "resume_run",
    "run_turn",
]

RunStatus = Literal["completed", "awaiting_approval", "error", "cancelled"]
"""How a run ended, the same words on every surface."""


class RunOutcome(BaseModel):
    """How one driven run ended.

    Attributes:
        thread_id: the thread (a new one's id when the run started without one).
        status: ``completed`` (``answer`` holds the answer), ``awaiting_approval`` (``pending``
            holds what waits), ``error`` (``error_code`` and ``error``) or ``cancelled``.
        answer: the final answer (or the main agent's streamed text); None unless completed.
        pending: every action the thread waits on, in the order a resume answers them.
        settled: decisions already made for some of ``pending``, keyed by action id; a resume
            must send these for those actions (`decisions` does).
        todos: the plan as the run last reported it.
        error_code: the `ErrorEvent` code (``thread_busy``, ``thread_not_found``,
            ``step_limit``, ``invalid_decision``, a `LuminaError` code...) when status is error.
        error: the error's message, for the user.
        resumable: whether the thread can go on after the error.
    """

    model_config = ConfigDict(frozen=True)

    thread_id: str
    status: RunStatus
    answer: str | None = None
    pending: list[ActionRequest] = Field(default_factory=list)
    settled: dict[str, Decision] = Field(default_factory=dict)
    todos: list[Todo] = Field(default_factory=list)
    error_code: str | None = None
    error: str | None = None
    resumable: bool = True

    @property
    def undecided(self) -> list[ActionRequest]:
        """The pending actions nobody has decided yet."""
        return [r for r in self.pending if r.id not in self.settled]

    def decisions(self, default: Callable[[ActionRequest], Decision]) -> list[Decision]:
        """One decision per pending action: the settled ones, ``default(request)`` for the rest."""
        return complete_decisions(self.pending, self.settled, default)


def complete_decisions(
    pending: Sequence[ActionRequest],
    settled: Mapping[str, Decision],
    default: Callable[[ActionRequest], Decision],
) -> list[Decision]:
    """Decisions for ``pending`` (in order): ``settled[id]`` where made, else ``default(request)``.

    A surface that remembered `RunOutcome.settled` uses this when the user answers the rest, so
    an action already acted on (an edit applied in the editor) keeps its decision.
    """
    return [settled.get(r.id) or default(r) for r in pending]


@dataclass(frozen=True, slots=True)
class Answers:
    """What ``decide`` may return instead of a plain list.

    Attributes:
        decisions: one `Decision` or None (left for later) per request, in order.
        approve_all: approve every later action of this thread without asking
            (``--yes``, "always approve").
    """

    decisions: Sequence[Decision | None]
    approve_all: bool = False


Decide = Callable[[Sequence[ActionRequest]], Awaitable[Sequence[Decision | None] | Answers | None]]
"""Answers the actions a run paused on; see the module docstring."""

OnEvent = Callable[[AgentEvent], Awaitable[None]]
"""Shows one event of the run."""


async def run_turn(
    service: AgentService,
    thread_id: str | None,
    message: str,
    *,
    decide: Decide | None = None,
    on_event: OnEvent | None = None,
) -> RunOutcome:
    """Send ``message`` to ``thread_id`` (a new thread when None) and drive the run to its end.

    Args:
        service: the agent service.
        thread_id: the thread; None (or an unknown id) starts a new one.
        message: the user's message.
        decide: answers approval requests; None leaves every request for `resume_run`.
        on_event: shows each event as it comes.

    Returns:
        How the run ended. Expected failures (a busy thread, the provider down, the step
        limit...) are ``error`` outcomes, not exceptions.

    Raises:
        asyncio.CancelledError: the calling task was cancelled (the run is stopped first).
    """
    return await _drive(
        service,
        thread_id or "",
        service.stream(thread_id, message),
        decide=decide,
        on_event=on_event,
    )


async def resume_run(
    service: AgentService,
    thread_id: str,
    decisions: Sequence[Decision] = (),
    *,
    approve_all: bool = False,
    decide: Decide | None = None,
    on_event: OnEvent | None = None,
) -> RunOutcome:
    """Continue ``thread_id`` with ``decisions`` and drive the run to its end.

    Args:
        service: the agent service.
        thread_id: the thread.
        decisions: one per pending action, in order. Empty with actions pending shows them
            again (``decide`` is then asked about them); empty with none pending continues a run
            that stopped mid-way or at the step limit.
        approve_all: approve these and every later action of the thread.
        decide: answers approval requests; None leaves every request for a later resume.
        on_event: shows each event as it comes.

    Returns:
        How the run ended (see `run_turn`).

    Raises:
        asyncio.CancelledError: the calling task was cancelled (the run is stopped first).
    """
    return await _drive(
        service,
        thread_id,
        service.resume(thread_id, list(decisions), approve_all=approve_all),
        decide=decide,
        on_event=on_event,
    )


class _Fold:
    """What one stream (a run or one resume of it) ended with."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.final: str | None = None
        self.pending: list[ActionRequest] = []
        self.error: ErrorEvent | None = None
        self.todos: list[Todo] | None = None

    def add(self, event: AgentEvent) -> None:
        if isinstance(event, TextDelta) and event.agent == "main":
            self.text.append(event.text)
        elif isinstance(event, FinalAnswer):
            self.final = event.text
        elif isinstance(event, TodosChanged):
            self.todos = list(event.todos)
        elif isinstance(event, ApprovalRequested):
            self.pending = list(event.requests)
        elif isinstance(event, ErrorEvent):
            self.error = event


async def _drive(
    service: AgentService,
    thread_id: str,
    stream: AsyncGenerator[AgentEvent, None],
    *,
    decide: Decide | None,
    on_event: OnEvent | None,
) -> RunOutcome:
    todos: list[Todo] = []
    while True:
        fold = _Fold()
        # aclosing: the service's run ends (thread released, status and metrics set) here,
        # not whenever the event loop finalises an abandoned generator.
        async with contextlib.aclosing(stream) as events:
            async for event in events:
                thread_id = event.thread_id
                fold.add(event)
                if on_event is not None:
                    await on_event(event)
        if fold.todos is not None:
            todos = fold.todos
        if fold.error is not None:
            error = fold.error
            if error.code == "cancelled":
                return RunOutcome(thread_id=thread_id, status="cancelled", todos=todos)
            return RunOutcome(
                thread_id=thread_id,
                status="error",
                todos=todos,
                error_code=error.code,
                error=error.message,
                resumable=error.resumable,
            )
        if not fold.pending:
            answer = fold.final if fold.final is not None else "".join(fold.text)
            return RunOutcome(thread_id=thread_id, status="completed", answer=answer, todos=todos)
        answers = await decide(fold.pending) if decide is not None else None
        approve_all = False
        if isinstance(answers, Answers):
            approve_all = answers.approve_all
            answers = answers.decisions
        made = list(answers) if answers is not None else [None for _ in fold.pending]
        if len(made) != len(fold.pending):
            raise ValueError(
                f"decide returned {len(made)} decision(s) for {len(fold.pending)} request(s)"
            )
        decisions = [d for d in made if d is not None]
        if len(decisions) < len(made):
            settled = {
                request.id: decision
                for request, decision in zip(fold.pending, made, strict=True)
                if decision is not None
            }
            return RunOutcome(
                thread_id=thread_id,
                status="awaiting_approval",
                pending=fold.pending,
                settled=settled,
                todos=todos,
            )
        stream = service.resume(thread_id, decisions, approve_all=approve_all)
