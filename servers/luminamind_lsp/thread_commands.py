"""Commands for an editor's thread list and agent view: read a thread, delete one.

``luminamind.threadState`` gives a view what it needs to draw a thread it did not watch run
(messages, plan, pending approvals); ``luminamind.deleteThread`` removes one. Both take the same
one-object argument as every command (``threadId``; without it, the folder's thread).
"""

from __future__ import annotations

from typing import Any

from pygls.exceptions import JsonRpcException

from luminamind.errors import LuminaError, ThreadNotFoundError
from luminamind_lsp.commands import counted_command, parse_args
from luminamind_lsp.server import LuminaLanguageServer

__all__ = ["THREAD_COMMANDS", "register_thread_commands"]

THREAD_COMMANDS = ("luminamind.threadState", "luminamind.deleteThread")


async def thread_state(ls: LuminaLanguageServer, *args: Any) -> dict[str, Any]:  # Any: JSON
    """The thread's messages, TODOs and pending approvals; ``exists: false`` for a new one."""
    parsed = parse_args("luminamind.threadState", args)
    thread = parsed.thread_id or ls.default_thread(parsed.uri)
    service = await ls.service()
    try:
        state = await service.state(thread)
    except ThreadNotFoundError:
        return {"threadId": thread, "exists": False, "messages": [], "todos": [], "pending": []}
    return {
        "threadId": thread,
        "exists": True,
        "title": state.info.title,
        "status": state.info.status,
        "running": service.is_running(thread),
        "messages": [m.model_dump(mode="json") for m in state.messages],
        "todos": [t.model_dump(mode="json") for t in state.todos],
        "pending": [r.model_dump(mode="json") for r in state.pending_approvals],
    }


async def delete_thread(ls: LuminaLanguageServer, *args: Any) -> dict[str, Any]:  # Any: JSON
    """Delete the thread (refused while it runs: cancel it first)."""
    parsed = parse_args("luminamind.deleteThread", args)
    thread = parsed.thread_id or ls.default_thread(parsed.uri)
    service = await ls.service()
    try:
        deleted = await service.delete(thread)
    except LuminaError as exc:
        raise JsonRpcException(exc.message, code=-32000, data=exc.to_dict()) from exc
    return {"threadId": thread, "deleted": deleted}


def register_thread_commands(server: LuminaLanguageServer) -> None:
    """Attach ``luminamind.threadState`` and ``luminamind.deleteThread`` to ``server``."""
    server.command("luminamind.threadState")(
        counted_command("luminamind.threadState", thread_state)
    )
    server.command("luminamind.deleteThread")(
        counted_command("luminamind.deleteThread", delete_thread)
    )
