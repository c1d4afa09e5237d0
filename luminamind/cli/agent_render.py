"""How the CLI shows agent events: streamed text on stdout, progress and approvals on stderr.

`EventPrinter` is shared by ``luminamind run`` (plain output that pipes well) and
``luminamind chat`` (Rich: coloured diffs, a TODO table, tool durations).
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from luminamind.agent.events import (
    ActionRequest,
    AgentEvent,
    ApprovalRequested,
    ErrorEvent,
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

__all__ = ["EventPrinter", "approval_panel", "short_args", "todo_table"]

_MARK = {"pending": "[ ]", "in_progress": "[~]", "completed": "[x]"}
_STYLE = {"pending": "white", "in_progress": "bold yellow", "completed": "green"}


def short_args(arguments: dict[str, Any], limit: int = 120) -> str:  # Any: JSON arguments
    """Arguments on one line, long values cut."""
    shown = {
        k: (v if not isinstance(v, str) or len(v) <= 60 else v[:57] + "...")
        for k, v in arguments.items()
    }
    text = json.dumps(shown, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def todo_table(todos: list[Todo]) -> Table:
    """The plan as a small table."""
    table = Table(title="Plan", show_header=False, box=None, padding=(0, 1))
    for todo in todos:
        table.add_row(
            Text(_MARK[todo.status], style=_STYLE[todo.status]),
            Text(todo.content, style=_STYLE[todo.status]),
        )
    return table


def approval_panel(request: ActionRequest, index: int, total: int) -> Panel:
    """One pending action: the tool, its arguments and, for file changes, the coloured diff."""
    parts: list[Any] = [  # Any: Rich renderables
        Text(f"{request.tool} {short_args(request.arguments, 400)}", style="bold")
    ]
    diff = request.diff or ""
    if diff:
        parts.append(Syntax(diff[:20_000], "diff", theme="ansi_dark", word_wrap=True))
    elif request.tool == "shell":
        parts.append(Syntax(str(request.arguments.get("command", "")), "bash", theme="ansi_dark"))
    return Panel(
        Group(*parts),
        title=f"approval {index}/{total}",
        subtitle=request.path or "",
        border_style="yellow",
    )


class EventPrinter:
    """Prints events as they come (how the run ended is the run driver's `RunOutcome`)."""

    def __init__(self, out: Console, err: Console, *, show_todos: bool = True) -> None:
        self.out = out
        self.err = err
        self.show_todos = show_todos
        self.streamed: list[str] = []
        self.final: FinalAnswer | None = None
        self.thinking = False  # the last thing shown is reasoning (dim, on stderr)

    def reset(self) -> None:
        """Forget the previous stream's text (a resume starts a new one)."""
        self.streamed.clear()
        self.final = None

    def _end_text_line(self) -> None:
        if self.streamed and not "".join(self.streamed).endswith("\n"):
            self.out.print()
            self.streamed.append("\n")

    def show(self, event: AgentEvent) -> None:
        """Render one event."""
        if self.thinking and not isinstance(event, ReasoningDelta):
            self.thinking = False
            self.err.print()  # the reasoning's line ends before anything else is shown
        if isinstance(event, TextDelta):
            if event.agent == "main":
                self.out.print(event.text, end="", markup=False, highlight=False, soft_wrap=True)
                self.streamed.append(event.text)
            return
        if isinstance(event, ReasoningDelta):  # thinking: dim, on stderr, never the answer
            if event.agent == "main":
                self.err.print(event.text, end="", style="dim", markup=False, highlight=False)
                self.thinking = True
            return
        if isinstance(event, ToolStarted):
            self._end_text_line()
            who = "" if event.agent == "main" else f"[{event.agent}] "
            self.err.print(
                f"[dim]-> {who}{event.tool} {short_args(event.arguments)}[/dim]",
                highlight=False,
            )
        elif isinstance(event, ToolFinished):
            mark = "[green]ok[/green]" if event.status == "ok" else "[red]error[/red]"
            took = f" {event.duration_ms:.0f} ms" if event.duration_ms is not None else ""
            detail = "" if event.status == "ok" else f": {event.content[:200]}"
            self.err.print(f"   {mark} {event.tool}{took}{detail}", highlight=False)
        elif isinstance(event, TodosChanged):
            if self.show_todos:
                self._end_text_line()
                self.err.print(todo_table(event.todos))
        elif isinstance(event, SubagentStarted):
            self._end_text_line()
            self.err.print(f"[cyan]>> {event.subagent}[/cyan]: {event.task[:200]}")
        elif isinstance(event, SubagentFinished):
            self.err.print(f"[cyan]<< {event.subagent} finished[/cyan]")
        elif isinstance(event, FinalAnswer):
            self.final = event
            if not self.streamed and event.text:
                self.out.print(event.text, markup=False, highlight=False)
                self.streamed.append(event.text + "\n")
            self._end_text_line()
        elif isinstance(event, ApprovalRequested):
            self._end_text_line()
        elif isinstance(event, ErrorEvent):
            self._end_text_line()
            self.err.print(f"[red]error ({event.code}):[/red] {event.message}", highlight=False)

    def show_pending(self, event: ApprovalRequested) -> None:
        """Every pending action, with diffs."""
        total = len(event.requests)
        for i, request in enumerate(event.requests, 1):
            self.err.print(approval_panel(request, i, total))
