"""``luminamind chat``: the interactive loop.

One event loop lives for the whole session (the checkpointer's connection belongs to it); the
prompt is read synchronously between turns, so Ctrl-C or Ctrl-D at the prompt leaves the chat.
During a turn Ctrl-C cancels the running step only: the thread keeps every completed step and
the next message continues it.
"""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from collections.abc import Sequence
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.prompt import Prompt

from luminamind.agent.events import ActionRequest, AgentEvent, Decision, ToolStarted
from luminamind.agent.runs import Answers
from luminamind.cli.agent_render import EventPrinter, approval_panel
from luminamind.cli.hunk_prompt import ask_hunks
from luminamind.config import Settings

if TYPE_CHECKING:
    from luminamind.agent.service import AgentService

__all__ = ["run_chat"]

_HELP = (
    "Type a message. /exit leaves, /threads lists threads, /new starts a new thread, "
    "/turns lists turns, /rewind [N] goes back to before turn N (the last by default), "
    "files and conversation."
)


def _ask(console: Console, request: ActionRequest, index: int, total: int) -> tuple[Decision, bool]:
    """One approval prompt: (decision, approve all from now on)."""
    if len(request.hunks) > 1 and request.proposal:
        # A change of several hunks is reviewed hunk by hunk, as `git add -p`.
        console.print(f"[bold]approval {index}/{total}[/bold]")
        return ask_hunks(console, request), False
    console.print(approval_panel(request, index, total))
    while True:
        choice = Prompt.ask(
            escape("[a]pprove, [e]dit, [r]eject, a[l]ways approve"),
            choices=["a", "e", "r", "l"],
            default="a",
            console=console,
        )
        if choice == "a":
            return Decision(type="approve"), False
        if choice == "l":
            return Decision(type="approve"), True
        if choice == "r":
            reason = Prompt.ask("reason (the agent reads it)", default="", console=console)
            return Decision(type="reject", message=reason or None), False
        console.print(f"current arguments: {json.dumps(request.arguments, ensure_ascii=False)}")
        raw = Prompt.ask("new arguments (JSON object)", console=console)
        try:
            edited = json.loads(raw)
        except json.JSONDecodeError as exc:
            console.print(f"[red]not JSON: {exc.msg}[/red]")
            continue
        if not isinstance(edited, dict):
            console.print("[red]the arguments must be a JSON object[/red]")
            continue
        return Decision(type="edit", arguments=edited), False


class _Chat:
    def __init__(self, settings: Settings, *, thread: str | None, model: str | None) -> None:
        self.settings = settings
        self.thread = thread or f"chat-{uuid.uuid4().hex[:10]}"
        self.model = model
        # One console for everything: a spinner (a Rich Live) only stays in place when all
        # output goes through the console that draws it.
        self.out = Console(highlight=False)
        self.err = self.out
        self.printer = EventPrinter(self.out, self.err)
        self.stack = AsyncExitStack()
        self._service: AgentService | None = None  # imported lazily: the agent stack is heavy

    @property
    def service(self) -> AgentService:
        """The agent service (after `open`)."""
        if self._service is None:
            raise RuntimeError("the chat is not open")
        return self._service

    async def open(self) -> None:
        from luminamind.agent.service import AgentService

        self._service = await self.stack.enter_async_context(
            AgentService.open(self.settings, surface="cli", model=self.model)
        )

    async def close(self) -> None:
        await self.stack.aclose()

    async def turn(self, message: str) -> None:
        """One message, driven to its end; approvals are asked at the prompt as they come."""
        from luminamind.agent.runs import run_turn

        loop = asyncio.get_running_loop()
        cancels: list[asyncio.Task[bool]] = []
        status = self.out.status("", spinner="dots")

        def on_sigint() -> None:
            self.err.print("\n[yellow]cancelling this step...[/yellow]")
            cancels.append(loop.create_task(self.service.cancel(self.thread)))

        async def on_event(event: AgentEvent) -> None:
            if event.type == "tool_finished":
                status.stop()
            self.printer.show(event)
            if isinstance(event, ToolStarted):
                # The spinner runs while the tool does; text never streams meanwhile.
                status.update(f"running {event.tool}...")
                status.start()

        async def decide(requests: Sequence[ActionRequest]) -> Answers:
            status.stop()
            decisions: list[Decision | None] = []
            approve_all = False
            for i, request in enumerate(requests, 1):
                if approve_all:
                    decisions.append(Decision(type="approve"))
                    continue
                decision, always = await asyncio.to_thread(
                    _ask, self.err, request, i, len(requests)
                )
                approve_all = approve_all or always
                decisions.append(decision)
            self.printer.reset()
            return Answers(decisions, approve_all=approve_all)

        self.printer.reset()
        loop.add_signal_handler(signal.SIGINT, on_sigint)
        try:
            await run_turn(self.service, self.thread, message, decide=decide, on_event=on_event)
        finally:
            status.stop()
            loop.remove_signal_handler(signal.SIGINT)

    async def rewind(self, argument: str) -> None:
        """``/rewind [N]``: show the plan, ask, restore the files and go back in the thread."""
        from luminamind.cli.rewind_cmd import ask_yes, print_plan, print_result
        from luminamind.errors import LuminaError

        if argument and not argument.isdigit():
            self.err.print("[red]usage: /rewind [TURN] (a turn number, see /turns)[/red]")
            return
        turn = int(argument) if argument else None
        try:
            plan = await self.service.plan_rewind(self.thread, turn=turn)
            print_plan(self.out, plan)
            if not await asyncio.to_thread(ask_yes, self.out, "Rewind?"):
                return
            partial = False
            if plan.problems:
                partial = await asyncio.to_thread(
                    ask_yes, self.out, "Restore the other files and leave these as they are?"
                )
                if not partial:
                    return
            result = await self.service.rewind(self.thread, turn=plan.turn, partial=partial)
        except LuminaError as exc:
            self.err.print(f"[red]{escape(exc.message)}[/red]")
            return
        print_result(self.out, result)

    async def show_turns(self) -> None:
        from luminamind.cli.rewind_cmd import print_turns
        from luminamind.errors import LuminaError

        try:
            print_turns(self.out, await self.service.turns(self.thread))
        except LuminaError as exc:
            self.err.print(f"[red]{escape(exc.message)}[/red]")

    async def list_threads(self) -> None:
        for info in await self.service.threads():
            self.err.print(f"{info.thread_id}  {info.status:<18} {info.title}")


def run_chat(settings: Settings, *, thread: str | None, model: str | None) -> int:
    """Run the chat until the user leaves; returns the exit code."""
    chat = _Chat(settings, thread=thread, model=model)
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(chat.open())
        chat.err.print(f"[bold]LuminaMind[/bold] - thread {chat.thread}. {_HELP}")
        while True:
            try:
                message = Prompt.ask("[bold blue]you[/bold blue]", console=chat.out).strip()
            except (EOFError, KeyboardInterrupt):
                chat.err.print()
                return 0
            if not message:
                continue
            if message in ("/exit", "/quit"):
                return 0
            if message == "/threads":
                loop.run_until_complete(chat.list_threads())
                continue
            if message == "/rewind" or message.startswith("/rewind "):
                loop.run_until_complete(chat.rewind(message.removeprefix("/rewind").strip()))
                continue
            if message == "/turns":
                loop.run_until_complete(chat.show_turns())
                continue
            if message == "/new":
                chat.thread = f"chat-{uuid.uuid4().hex[:10]}"
                chat.err.print(f"new thread {chat.thread}")
                continue
            loop.run_until_complete(chat.turn(message))
    finally:
        loop.run_until_complete(chat.close())
        loop.close()
