"""Slash commands the editor offers in its prompt box (``available_commands_update``).

``/threads`` lists the shared threads, ``/new`` starts a fresh thread in the session, ``/model``
says which model answers and how to change it, ``/compact`` has the agent summarise the thread
and carries on in a fresh thread that starts from the summary, ``/rewind [N]`` undoes turn N and
every later one, files and conversation (`luminamind_acp.rewind_command`).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from acp.schema import AvailableCommand, AvailableCommandsUpdate, UnstructuredCommandInput

from luminamind_acp.rewind_command import rewind_command
from luminamind_acp.session import AcpSession

__all__ = ["COMMANDS", "commands_update", "run_command"]

_SUMMARY_REQUEST = (
    "Summarise this conversation for a fresh start: the goal, what was done (files changed, "
    "commands run), what was decided, and what is left. Be concise; no preamble."
)


async def _threads(session: AcpSession, argument: str) -> None:
    del argument
    threads = await session.service.threads()
    if not threads:
        await session.message("No threads yet.")
        return
    lines = ["Threads (most recent first; open one from the editor's thread history):", ""]
    for info in threads[:20]:
        here = " ← this session" if info.thread_id == session.thread_id else ""
        lines.append(
            f"- `{info.thread_id}` {info.title} ({info.surface}, {info.status}, "
            f"{info.updated_at:%Y-%m-%d %H:%M}){here}"
        )
    if len(threads) > 20:
        lines.append(f"- … and {len(threads) - 20} more (`luminamind threads`)")
    await session.message("\n".join(lines))


async def _new(session: AcpSession, argument: str) -> None:
    del argument
    session.switch_thread(uuid.uuid4().hex[:16])
    await session.message(f"Started a new thread `{session.thread_id}` in this session.")


async def _model(session: AcpSession, argument: str) -> None:
    del argument
    model = session.service.settings.model
    fallback = f"`{model.fallback_model}`" if model.fallback_model else "none"
    await session.message(
        f"Model: `{model.model}` (fallback: {fallback}). Change it with "
        "`LUMINAMIND_MODEL=provider:model` in the agent server's environment (the editor's "
        "agent settings) or `[model] model = ...` in the config file, then restart the agent."
    )


async def _compact(session: AcpSession, argument: str) -> None:
    outcome = await session.turn(_SUMMARY_REQUEST + (f" Focus on: {argument}" if argument else ""))
    if outcome.status != "completed" or not outcome.answer:
        await session.message("\nThe thread was not compacted (no summary came back).")
        return
    old = session.thread_id
    session.switch_thread(uuid.uuid4().hex[:16])
    session.carry = f"Summary of the earlier conversation (thread {old}):\n{outcome.answer}"
    await session.message(
        f"\n\nCompacted: the session goes on in thread `{session.thread_id}`, starting from this "
        f"summary (the full history stays in `{old}`)."
    )


Handler = Callable[[AcpSession, str], Awaitable[None]]

COMMANDS: dict[str, tuple[str, Handler]] = {
    "threads": ("List the threads shared with the CLI, MCP and LSP", _threads),
    "new": ("Start a new thread in this session", _new),
    "model": ("Show the model and how to change it", _model),
    "compact": ("Summarise this thread and continue from the summary", _compact),
    "rewind": (
        "Undo a turn's file changes and go back to it (the last by default)",
        rewind_command,
    ),
}
_HINTS = {"compact": "what to focus on", "rewind": "turn number (optional)"}


def commands_update() -> AvailableCommandsUpdate:
    """The commands, as the editor lists them after ``/``."""
    return AvailableCommandsUpdate(
        session_update="available_commands_update",
        available_commands=[
            AvailableCommand(
                name=name,
                description=description,
                input=UnstructuredCommandInput(hint=_HINTS[name]) if name in _HINTS else None,
            )
            for name, (description, _) in COMMANDS.items()
        ],
    )


async def run_command(session: AcpSession, text: str) -> bool:
    """Run ``text`` if it is one of the slash commands; False if it is an ordinary prompt."""
    if not text.startswith("/"):
        return False
    name, _, argument = text[1:].partition(" ")
    entry = COMMANDS.get(name.strip())
    if entry is None:
        return False
    await entry[1](session, argument.strip())
    return True
