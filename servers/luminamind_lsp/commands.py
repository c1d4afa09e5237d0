"""``workspace/executeCommand`` handlers: every command takes one object argument.

``{"prompt": str, "uri"?: str, "range"?: Range, "threadId"?: str}``; ``approve``, ``reject`` and
``cancel`` take ``threadId`` (``reject`` may carry the reason in ``prompt``).
"""

from __future__ import annotations

import asyncio
import functools
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams

from luminamind.agent.events import Decision
from luminamind.agent.runs import complete_decisions
from luminamind.config_problems import InvalidSettingsError, problems_message
from luminamind.errors import format_validation_errors
from luminamind.observability.metrics import get_metrics
from luminamind_lsp.prompts import EditorContext, ask_prompt, edit_prompt, explain_prompt
from luminamind_lsp.runner import run_agent
from luminamind_lsp.server import LuminaLanguageServer, _uri_to_path

__all__ = ["COMMANDS", "CommandArgs", "counted_command", "parse_args", "register_commands"]

COMMANDS = (
    "luminamind.ask",
    "luminamind.runTask",
    "luminamind.explain",
    "luminamind.edit",
    "luminamind.cancel",
    "luminamind.threads",
    "luminamind.approve",
    "luminamind.reject",
)


class _Position(BaseModel):
    line: int = Field(ge=0)
    character: int = Field(ge=0)


class _Range(BaseModel):
    start: _Position
    end: _Position


class CommandArgs(BaseModel):
    """The one argument every command takes."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    prompt: str = ""
    uri: str | None = None
    range: _Range | None = None
    thread_id: str | None = Field(default=None, alias="threadId")


def _parse(command: str, args: tuple[Any, ...], *, needs_prompt: bool = False) -> CommandArgs:
    if len(args) > 1 or (args and not isinstance(args[0], dict)):
        raise JsonRpcInvalidParams(
            f"{command} takes one object argument: "
            '{"prompt": str, "uri"?: str, "range"?: Range, "threadId"?: str}'
        )
    try:
        parsed = CommandArgs.model_validate(args[0] if args else {})
    except ValidationError as exc:
        text, _ = format_validation_errors(exc.errors(include_url=False))
        raise JsonRpcInvalidParams(f"{command}: invalid argument: {text}") from None
    if needs_prompt and not parsed.prompt.strip():
        raise JsonRpcInvalidParams(f"{command}: 'prompt' is required and must not be empty")
    return parsed


def _context(server: LuminaLanguageServer, args: CommandArgs) -> EditorContext | None:
    """The buffer text (or the selected lines of it) the command points at."""
    if not args.uri:
        return None
    path = _uri_to_path(args.uri)
    if path is None:
        raise JsonRpcInvalidParams(f"uri {args.uri!r} is not a file: URI")
    document = server.workspace.text_documents.get(unquote(args.uri))
    if document is not None:
        text = document.source
    elif path.is_file():
        text = path.read_text(encoding="utf-8", errors="replace")
    else:
        raise JsonRpcInvalidParams(f"{path} is neither open in the editor nor a file on disk")
    root = server.current_settings().workspace
    shown = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    language = document.language_id if document is not None and document.language_id else ""
    if args.range is None:
        return EditorContext(path=shown, language=language or _language(path), text=text)
    lines = text.splitlines(keepends=True)
    first, last = args.range.start.line, args.range.end.line
    if args.range.end.character == 0 and last > first:
        last -= 1  # a selection ending at column 0 does not include that line
    selected = "".join(lines[first : last + 1])
    return EditorContext(
        path=shown,
        language=language or _language(path),
        text=selected,
        first_line=first + 1,
        last_line=last + 1,
    )


def _language(path: Path) -> str:
    return {".py": "python", ".ts": "typescript", ".js": "javascript", ".rs": "rust"}.get(
        path.suffix, path.suffix.lstrip(".")
    )


async def _run(
    server: LuminaLanguageServer, args: CommandArgs, *, title: str, message: str
) -> dict[str, Any]:
    thread = args.thread_id or server.default_thread(args.uri)
    try:
        return await run_agent(server, thread_id=thread, title=title, message=message)
    except asyncio.CancelledError:
        # Answer the request rather than propagate: pygls would otherwise never respond.
        return {"threadId": thread, "status": "cancelled"}


async def _resume(
    server: LuminaLanguageServer, args: CommandArgs, *, approve: bool
) -> dict[str, Any]:
    thread = args.thread_id or server.default_thread(args.uri)
    service = await server.service()
    state = await service.state(thread)
    if not state.pending_approvals:
        raise JsonRpcInvalidParams(f"thread {thread} has no pending approval")
    reason = args.prompt.strip() or "The user rejected this action."
    answer = Decision(type="approve") if approve else Decision(type="reject", message=reason)
    # What the editor already settled in this batch (an applied edit) keeps its decision.
    decisions = complete_decisions(
        state.pending_approvals, server.settled.get(thread, {}), lambda _: answer
    )
    title = "LuminaMind: approved" if approve else "LuminaMind: rejected"
    try:
        return await run_agent(server, thread_id=thread, title=title, decisions=decisions)
    except asyncio.CancelledError:
        return {"threadId": thread, "status": "cancelled"}


_Command = Callable[..., Awaitable[dict[str, Any]]]


def _counted(name: str, fn: _Command) -> _Command:
    """``fn`` counted and timed as an ``lsp`` request, its log lines bound to the request."""

    @functools.wraps(fn)  # pygls reads the wrapped signature (its first parameter is ``ls``)
    async def counted(ls: LuminaLanguageServer, *args: Any) -> dict[str, Any]:
        metrics = get_metrics()
        started = time.perf_counter()
        outcome = "error"
        try:
            if ls.problems:
                # Every command answers with what is wrong, so the editor shows it.
                problems = InvalidSettingsError(ls.problems)
                raise JsonRpcException(
                    problems_message(ls.problems), code=-32000, data=problems.to_dict()
                )
            with structlog.contextvars.bound_contextvars(
                request_id=uuid.uuid4().hex[:16], command=name
            ):
                result = await fn(ls, *args)
            outcome = "cancelled" if result.get("status") == "cancelled" else "ok"
            return result
        finally:
            metrics.requests_total.labels("lsp", outcome).inc()
            metrics.request_duration_seconds.labels("lsp").observe(time.perf_counter() - started)

    return counted


# For the other command modules (thread_commands): one parser and one metrics wrapper.
parse_args = _parse
counted_command = _counted


def register_commands(server: LuminaLanguageServer) -> None:
    """Attach every ``luminamind.*`` command to ``server``."""

    def command(name: str) -> Callable[[_Command], _Command]:
        def register(fn: _Command) -> _Command:
            server.command(name)(_counted(name, fn))
            return fn

        return register

    @command("luminamind.ask")
    async def ask(ls: LuminaLanguageServer, *args: Any) -> dict[str, Any]:
        parsed = _parse("luminamind.ask", args, needs_prompt=True)
        message = ask_prompt(parsed.prompt, _context(ls, parsed))
        return await _run(ls, parsed, title="LuminaMind: ask", message=message)

    @command("luminamind.runTask")
    async def run_task(ls: LuminaLanguageServer, *args: Any) -> dict[str, Any]:
        parsed = _parse("luminamind.runTask", args, needs_prompt=True)
        return await _run(ls, parsed, title="LuminaMind: task", message=parsed.prompt)

    @command("luminamind.explain")
    async def explain(ls: LuminaLanguageServer, *args: Any) -> dict[str, Any]:
        parsed = _parse("luminamind.explain", args)
        context = _context(ls, parsed)
        if context is None and not parsed.prompt.strip():
            raise JsonRpcInvalidParams("luminamind.explain needs a 'uri' (and usually a 'range')")
        message = explain_prompt(parsed.prompt.strip(), context)
        return await _run(ls, parsed, title="LuminaMind: explain", message=message)

    @command("luminamind.edit")
    async def edit(ls: LuminaLanguageServer, *args: Any) -> dict[str, Any]:
        parsed = _parse("luminamind.edit", args, needs_prompt=True)
        context = _context(ls, parsed)
        if context is None:
            raise JsonRpcInvalidParams("luminamind.edit needs the 'uri' of the file to change")
        message = edit_prompt(parsed.prompt, context)
        return await _run(ls, parsed, title="LuminaMind: edit", message=message)

    @command("luminamind.approve")
    async def approve(ls: LuminaLanguageServer, *args: Any) -> dict[str, Any]:
        return await _resume(ls, _parse("luminamind.approve", args), approve=True)

    @command("luminamind.reject")
    async def reject(ls: LuminaLanguageServer, *args: Any) -> dict[str, Any]:
        return await _resume(ls, _parse("luminamind.reject", args), approve=False)

    @command("luminamind.cancel")
    async def cancel(ls: LuminaLanguageServer, *args: Any) -> dict[str, Any]:
        parsed = _parse("luminamind.cancel", args)
        thread = parsed.thread_id or ls.default_thread(parsed.uri)
        service = await ls.service()
        return {"threadId": thread, "cancelled": await service.cancel(thread)}

    @command("luminamind.threads")
    async def threads(ls: LuminaLanguageServer, *args: Any) -> dict[str, Any]:
        _parse("luminamind.threads", args)
        service = await ls.service()
        listing = await service.threads()
        return {
            "default": ls.default_thread(),
            "threads": [t.model_dump(mode="json") for t in listing],
            "running": service.running(),
        }
