"""``luminamind rewind THREAD [--to TURN]``: undo turns' file changes and go back in the thread.

The plan is shown first (files restored, conflicts with their diff, files that cannot be
restored); nothing changes until the user agrees: at the prompt, or with ``--yes`` when not at a
terminal. Conflicts and unrestorable files stop the rewind unless the user chooses to leave
them as they are (``--partial``, or "y" at the second prompt) or to overwrite the conflicts
(``--overwrite``). Exit codes: 0 rewound; 1 refused or failed (nothing changed); 3 it needs a
confirmation that was not given.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from luminamind.cli.state import CliState, fail
from luminamind.config import Settings
from luminamind.errors import LuminaError
from luminamind.rewind.models import RewindPlan, RewindResult, TurnView

# rich loads inside the functions that draw with it: every command (`luminamind mcp` above all,
# started by editors at each launch) imports this module to register its own.
if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["ask_yes", "print_plan", "print_result", "print_turns", "register"]

EXIT_CONFIRM = 3
_SYMBOL = {"created": "+", "deleted": "-", "modified": "~"}


def print_turns(console: Console, turns: Sequence[TurnView]) -> None:
    """Each recorded turn with the files it changed."""
    from rich.markup import escape

    if not turns:
        console.print("[dim]no recorded turns[/dim]")
        return
    for turn in turns:
        when = turn.started_at.astimezone().strftime("%Y-%m-%d %H:%M")
        console.print(f"[bold]turn {turn.turn}[/bold] [dim]{when}[/dim]  {escape(turn.message)}")
        for f in turn.files:
            note = "" if f.restorable else f"  [yellow](not restorable: {escape(f.note or '')})[/]"
            console.print(f"   {_SYMBOL[f.change]} {escape(f.path)} [dim]({f.tool})[/dim]{note}")


def print_plan(console: Console, plan: RewindPlan) -> None:
    """What the rewind will do, problems and diffs included."""
    from rich.markup import escape
    from rich.syntax import Syntax

    undone = ", ".join(str(t) for t in plan.turns_undone)
    console.print(
        f"Rewind thread {plan.thread_id} to before turn {plan.turn} "
        f"(undoing turn{'s' if len(plan.turns_undone) > 1 else ''} {undone}): "
        f"{escape(plan.message)}"
    )
    if not plan.files:
        console.print("  no file to restore; only the conversation goes back")
    for f in plan.files:
        if f.problem is None:
            console.print(f"  restore {escape(f.path)} ({f.action})")
        else:
            console.print(f"  [red]{f.problem}[/red] {escape(f.path)}: {escape(f.reason or '')}")
            if f.diff:
                console.print(Syntax(f.diff, "diff", theme="ansi_dark"))


def print_result(console: Console, result: RewindResult) -> None:
    """What the rewind did."""
    from rich.markup import escape

    for path in result.restored:
        console.print(f"  restored {escape(path)}")
    for f in result.left:
        console.print(
            f"  [yellow]left as it is[/yellow] {escape(f.path)}: {escape(f.reason or '')}"
        )
    went = "forked from" if result.conversation == "forked" else "cleared back to"
    console.print(
        f"Thread {result.thread_id} {went} the start of turn {result.turn}. "
        f"Its message was: {escape(result.message)}"
    )


def ask_yes(console: Console, question: str) -> bool:
    """A y/N question on the terminal."""
    from rich.markup import escape

    # Escaped whole: Rich would read "[y/N]" as a style tag and print nothing.
    answer = console.input(escape(f"{question} [y/N] ")).strip().lower()
    return answer in {"y", "yes"}


async def _rewind(
    settings: Settings,
    thread_id: str,
    *,
    turn: int | None,
    confirm: Callable[[RewindPlan], tuple[bool, bool]],
    overwrite: bool,
) -> tuple[RewindPlan, RewindResult | None]:
    from luminamind.agent.service import AgentService  # heavy: only when the command runs

    async with AgentService.open(settings, surface="cli", prebuild=False) as service:
        plan = await service.plan_rewind(thread_id, turn=turn)
        go, partial = confirm(plan)
        if not go:
            return plan, None
        result = await service.rewind(thread_id, turn=turn, overwrite=overwrite, partial=partial)
        return plan, result


def rewind(
    ctx: typer.Context,
    thread_id: Annotated[str, typer.Argument(help="The thread.")],
    to: Annotated[
        int | None,
        typer.Option("--to", min=1, help="Go back to before this turn (default: the last turn)."),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Rewind without asking.")] = False,
    partial: Annotated[
        bool,
        typer.Option(help="Leave conflicts and unrestorable files as they are; restore the rest."),
    ] = False,
    overwrite: Annotated[
        bool, typer.Option(help="Restore files changed after the agent's edit too.")
    ] = False,
    dry_run: Annotated[bool, typer.Option(help="Show the plan; change nothing.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the plan and result as JSON.")
    ] = False,
) -> None:
    """Undo the file changes of a turn and every later one, and go back to it in the thread."""
    from rich.console import Console

    state: CliState = ctx.obj
    out = Console(stderr=as_json, highlight=False)
    interactive = sys.stdin.isatty() and not yes and not as_json

    def confirm(plan: RewindPlan) -> tuple[bool, bool]:
        if not as_json:
            print_plan(out, plan)
        if dry_run:
            return False, False
        go, agreed = yes, partial
        if interactive:
            go = ask_yes(out, "Rewind?")
            if go and plan.problems and not (partial or overwrite):
                agreed = ask_yes(out, "Restore the other files and leave these as they are?")
                go = agreed
        return go, agreed

    try:
        plan, result = asyncio.run(
            _rewind(state.settings(), thread_id, turn=to, confirm=confirm, overwrite=overwrite)
        )
    except LuminaError as exc:
        if as_json:
            sys.stdout.write(json.dumps(exc.to_dict()) + "\n")
        fail(exc)
    if as_json:
        data: dict[str, Any] = {"plan": plan.model_dump(mode="json")}  # Any: JSON
        data["result"] = result.model_dump(mode="json") if result else None
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    if result is not None:
        if not as_json:
            print_result(out, result)
        return
    if dry_run:
        return
    if not interactive and not yes:
        Console(stderr=True).print(
            f"nothing changed: confirm with `luminamind rewind {thread_id}"
            f"{f' --to {plan.turn}' if to else ''} --yes`"
        )
        raise typer.Exit(EXIT_CONFIRM)
    Console(stderr=True).print("nothing changed")


def register(app: typer.Typer) -> None:
    """Add ``rewind`` to the CLI."""
    app.command("rewind")(rewind)
