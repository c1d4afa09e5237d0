"""``luminamind run``, ``resume``, ``threads`` and ``chat``: the agent from the terminal.

Exit codes of ``run`` and ``resume``: 0 done; 1 the run failed (the thread is kept and can be
resumed); 2 the model is not configured (the explanation is printed); 3 the run waits for an
approval (``luminamind resume ID --yes`` continues it); 130 cancelled with Ctrl-C.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from luminamind.cli.state import CliState, fail
from luminamind.config import Settings
from luminamind.errors import ConfigError, LuminaError

# The agent's event models, its run helpers and rich load inside the commands: every other
# command (`luminamind mcp` above all, started by editors at each launch) imports this module
# to register these commands, and would pay for them at every start.
if TYPE_CHECKING:
    from rich.console import Console

    from luminamind.agent.events import ActionRequest, AgentEvent
    from luminamind.agent.runs import Answers, Decide, OnEvent, RunOutcome
    from luminamind.agent.service import AgentService

_T = TypeVar("_T")

__all__ = ["register"]

EXIT_ERROR = 1
EXIT_CONFIG = 2
EXIT_APPROVAL = 3
EXIT_CANCELLED = 130
_DENIED_MESSAGE = "The user does not allow this action."

threads_app = typer.Typer(help="List, show and delete agent threads.", no_args_is_help=False)

YesOption = Annotated[
    bool, typer.Option("--yes", "-y", help="Approve every action of this run (and thread).")
]
DenyOption = Annotated[
    bool, typer.Option("--deny", help="Reject every action that needs approval.")
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print every event as one JSON line on stdout.")
]
ModelOption = Annotated[
    str | None, typer.Option("--model", "-m", help="provider:model for this run.")
]
ThreadOption = Annotated[
    str | None, typer.Option("--thread", "-t", help="Continue this thread (new when omitted).")
]


def _check_model(settings: Settings, model: str | None) -> None:
    """Exit 2 with the one-screen explanation when the model cannot be built."""
    from luminamind.providers import build_chat_model, explain_model_setup

    try:
        build_chat_model(settings, model=model)
    except ConfigError as exc:
        text = exc.message
        if "LuminaMind cannot use its chat model" not in text:
            text = explain_model_setup(settings, problem=exc.message)
        sys.stderr.write(text + "\n")
        raise typer.Exit(EXIT_CONFIG) from None


def _consoles() -> tuple[Console, Console]:
    from rich.console import Console

    return Console(highlight=False), Console(stderr=True, highlight=False)


async def _headless(
    settings: Settings,
    *,
    start: Callable[[AgentService, Decide, OnEvent], Awaitable[RunOutcome]],
    yes: bool,
    deny: bool,
    as_json: bool,
    model: str | None,
) -> int:
    from luminamind.agent.events import ApprovalRequested, Decision
    from luminamind.agent.runs import Answers
    from luminamind.agent.service import AgentService
    from luminamind.cli.agent_render import EventPrinter, short_args

    out, err = _consoles()
    printer = EventPrinter(out, err, show_todos=not as_json)

    async def on_event(event: AgentEvent) -> None:
        if as_json:
            sys.stdout.write(event.model_dump_json() + "\n")
            sys.stdout.flush()
            return
        printer.show(event)
        if event.type == "run_started":
            err.print(f"[dim]thread {event.thread_id}[/dim]")

    async def decide(requests: Sequence[ActionRequest]) -> Answers | None:
        if yes:
            for r in requests:
                err.print(f"[green]approved[/green] {r.tool} {short_args(r.arguments)}")
            printer.reset()
            return Answers([Decision(type="approve") for _ in requests], approve_all=True)
        if deny:
            for r in requests:
                err.print(f"[red]rejected[/red] {r.tool} {short_args(r.arguments)}")
            printer.reset()
            denied = Decision(type="reject", message=_DENIED_MESSAGE)
            return Answers([denied for _ in requests])
        return None

    async with AgentService.open(settings, surface="cli", model=model) as service:
        outcome = await start(service, decide, on_event)
    if outcome.status == "awaiting_approval":
        if not as_json:
            printer.show_pending(
                ApprovalRequested(thread_id=outcome.thread_id, requests=outcome.pending)
            )
        thread_id = outcome.thread_id
        err.print(
            f"waiting for approval: luminamind resume {thread_id} --yes "
            f"(or --deny; `luminamind threads show {thread_id}` shows the actions)",
            highlight=False,
        )
        return EXIT_APPROVAL
    return 0 if outcome.status == "completed" else EXIT_ERROR


def _run_headless(
    ctx: typer.Context,
    start: Callable[[AgentService, Decide, OnEvent], Awaitable[RunOutcome]],
    *,
    yes: bool,
    deny: bool,
    as_json: bool,
    model: str | None,
) -> None:
    if yes and deny:
        fail(ConfigError("--yes and --deny exclude each other"), exit_code=EXIT_CONFIG)
    state: CliState = ctx.obj
    settings = state.settings()
    _check_model(settings, model)
    started = time.perf_counter()
    code = EXIT_ERROR
    try:
        code = asyncio.run(
            _headless(settings, start=start, yes=yes, deny=deny, as_json=as_json, model=model)
        )
    except KeyboardInterrupt:
        code = EXIT_CANCELLED
    except LuminaError as exc:
        fail(exc, exit_code=EXIT_ERROR)
    finally:
        _count_request(code, time.perf_counter() - started)
    raise typer.Exit(code)


def _count_request(code: int, seconds: float) -> None:
    """One ``cli`` request per run/resume (scraped with ``--metrics-port`` while it runs)."""
    from luminamind.observability.metrics import get_metrics

    outcome = {0: "ok", EXIT_APPROVAL: "ok", EXIT_CANCELLED: "cancelled"}.get(code, "error")
    metrics = get_metrics()
    metrics.requests_total.labels("cli", outcome).inc()
    metrics.request_duration_seconds.labels("cli").observe(seconds)


def run(
    ctx: typer.Context,
    task: Annotated[str, typer.Argument(help="What the agent should do.")],
    thread: ThreadOption = None,
    as_json: JsonOption = False,
    yes: YesOption = False,
    deny: DenyOption = False,
    model: ModelOption = None,
) -> None:
    """Run the agent on TASK without interaction (exit 3 when an approval is needed)."""
    from luminamind.agent.runs import run_turn

    _run_headless(
        ctx,
        lambda service, decide, on_event: run_turn(
            service, thread, task, decide=decide, on_event=on_event
        ),
        yes=yes,
        deny=deny,
        as_json=as_json,
        model=model,
    )


def resume(
    ctx: typer.Context,
    thread_id: Annotated[str, typer.Argument(help="The thread to continue.")],
    as_json: JsonOption = False,
    yes: YesOption = False,
    deny: DenyOption = False,
    model: ModelOption = None,
) -> None:
    """Continue a thread: answer its pending approvals, or go on after a crash or step limit."""

    from luminamind.agent.runs import resume_run

    # Nothing decided up front: the pending actions come back as an approval request, which
    # --yes approves (and every later one) and --deny rejects.
    def start(service: AgentService, decide: Decide, on_event: OnEvent) -> Awaitable[RunOutcome]:
        return resume_run(service, thread_id, approve_all=yes, decide=decide, on_event=on_event)

    _run_headless(ctx, start, yes=yes, deny=deny, as_json=as_json, model=model)


# --- threads ----------------------------------------------------------------------------------


async def _with_service(settings: Settings, fn: Callable[[AgentService], Awaitable[_T]]) -> _T:
    from luminamind.agent.service import AgentService

    async with AsyncExitStack() as stack:
        service = await stack.enter_async_context(
            AgentService.open(settings, surface="cli", prebuild=False)
        )
        return await fn(service)


@threads_app.callback(invoke_without_command=True)
def list_threads(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the threads of every surface, most recent first."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.console import Console
    from rich.table import Table

    state: CliState = ctx.obj
    try:
        infos = asyncio.run(_with_service(state.settings(), lambda s: s.threads()))
    except LuminaError as exc:
        fail(exc)
    if as_json:
        sys.stdout.write(json.dumps([i.model_dump(mode="json") for i in infos], indent=2) + "\n")
        return
    if not infos:
        Console(stderr=True).print('no threads yet: luminamind run "..." or luminamind chat')
        return
    table = Table("thread", "title", "status", "surface", "updated")
    for info in infos:
        table.add_row(
            info.thread_id,
            info.title,
            info.status,
            info.surface,
            info.updated_at.astimezone().strftime("%Y-%m-%d %H:%M"),
        )
    Console().print(table)


@threads_app.command("show")
def show_thread(
    ctx: typer.Context,
    thread_id: Annotated[str, typer.Argument(help="The thread.")],
    as_json: JsonOption = False,
) -> None:
    """Show a thread's messages, plan, pending approvals and turns with the files each changed."""
    from luminamind.agent.events import ApprovalRequested
    from luminamind.cli.agent_render import EventPrinter, short_args

    state: CliState = ctx.obj

    try:
        thread = asyncio.run(_with_service(state.settings(), lambda s: s.state(thread_id)))
    except LuminaError as exc:
        fail(exc)
    if as_json:
        sys.stdout.write(thread.model_dump_json(indent=2) + "\n")
        return
    out, err = _consoles()
    info = thread.info
    out.print(f"[bold]{info.title}[/bold]  ({info.thread_id}, {info.status}, {info.surface})")
    for message in thread.messages:
        if message.role == "user":
            out.print(f"[bold blue]you:[/bold blue] {message.content}", markup=True)
        elif message.role == "assistant":
            if message.content:
                out.print(f"[bold green]agent:[/bold green] {message.content}")
            for call in message.tool_calls:
                out.print(f"  [dim]-> {call['name']} {short_args(call.get('args') or {})}[/dim]")
        elif message.role == "tool":
            out.print(f"  [dim]<- {message.name}: {message.content[:160]}[/dim]")
    from luminamind.cli.rewind_cmd import print_turns

    out.print("[bold]turns[/bold] (luminamind rewind " + info.thread_id + " --to N)")
    print_turns(out, thread.turns)
    printer = EventPrinter(out, err)
    if thread.todos:
        from luminamind.cli.agent_render import todo_table

        out.print(todo_table(thread.todos))
    if thread.pending_approvals:
        printer.show_pending(
            ApprovalRequested(thread_id=info.thread_id, requests=thread.pending_approvals)
        )
        out.print(f"approve with: luminamind resume {info.thread_id} --yes (or --deny)")


@threads_app.command("rm")
def remove_thread(
    ctx: typer.Context, thread_id: Annotated[str, typer.Argument(help="The thread.")]
) -> None:
    """Delete a thread (its checkpoints and metadata)."""
    state: CliState = ctx.obj
    try:
        existed = asyncio.run(_with_service(state.settings(), lambda s: s.delete(thread_id)))
    except LuminaError as exc:
        fail(exc)
    if not existed:
        fail(LuminaError(f"no thread '{thread_id}'; see `luminamind threads`"))
    from rich.console import Console

    Console(stderr=True).print(f"deleted {thread_id}")


# --- chat -------------------------------------------------------------------------------------


def chat(ctx: typer.Context, thread: ThreadOption = None, model: ModelOption = None) -> None:
    """Talk with the agent: streamed answers, the plan, tool progress and approvals."""
    from luminamind.cli.chat_ui import run_chat

    state: CliState = ctx.obj
    settings = state.settings()
    _check_model(settings, model)
    raise typer.Exit(run_chat(settings, thread=thread, model=model))


def register(app: typer.Typer) -> None:
    """Add the agent commands to the CLI."""
    app.command("run")(run)
    app.command("resume")(resume)
    app.command("chat")(chat)
    app.add_typer(threads_app, name="threads")
