"""``completion/complete``: workspace paths, thread ids and fixed choices for arguments.

- ``code_review``'s ``path``: files and directories of the client's workspace, one directory
  level at a time as a shell completes (``src/ma`` lists ``src/`` and keeps names starting with
  ``ma``; directories end in ``/``), skipping what ``.gitignore``/``.ignore`` exclude and the
  usual clutter (``.git``, ``node_modules``...). Only the one directory is read, so a workspace
  of any size answers in the time one ``scandir`` takes (bench/completion.py).
- ``research``'s ``depth``: the usual kinds of answer.
- The thread template's ``thread_id``: the agent's threads, most recently updated first.

Values are prefix-filtered and capped at the protocol's 100. An unknown prompt, template or
argument is ``INVALID_PARAMS`` (-32602), as the specification asks.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import mcp_types as types
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

from luminamind.errors import LuminaError
from luminamind.security.workspace import Workspace
from luminamind_mcp.prompts import PROMPTS

__all__ = ["MAX_VALUES", "Completer", "complete_path"]

# The protocol's own cap on values in one answer.
MAX_VALUES = 100
_DEPTHS = ("a concise brief", "a detailed report", "a comparison table", "a reading list")

ThreadIds = Callable[[], Awaitable[Sequence[str]]]
WorkspaceFor = Callable[[], Awaitable[Workspace]]


def _result(values: list[str], total: int | None, has_more: bool) -> types.CompleteResult:
    return types.CompleteResult(
        completion=types.Completion(values=values, total=total, has_more=has_more)
    )


def _capped(values: Sequence[str]) -> types.CompleteResult:
    return _result(list(values[:MAX_VALUES]), len(values), len(values) > MAX_VALUES)


def complete_path(workspace: Workspace, value: str) -> types.CompleteResult:
    """Entries of the directory ``value`` names, starting with its last segment.

    Raises:
        MCPError: ``INVALID_PARAMS`` when ``value`` leads outside the workspace.
    """
    # Imported here: pathspec is not needed until a client first completes a path, and the
    # stdio server's start-up is measured (bench/mcp.py).
    from luminamind.tools.files.ignore import ALWAYS_SKIPPED, IgnoreRules

    head, _, prefix = value.rpartition("/")
    try:
        directory = workspace.resolve(head or ".")
    except LuminaError as exc:
        raise MCPError(code=INVALID_PARAMS, message=exc.message) from None
    if not directory.is_dir():
        return _result([], 0, False)
    rules = IgnoreRules.between(workspace.root, directory)
    shown = f"{head}/" if head else ""
    values: list[str] = []
    has_more = False
    try:
        entries = sorted(
            (e for e in os.scandir(directory) if e.name.startswith(prefix)),
            key=lambda e: e.name,
        )
    except OSError:
        return _result([], 0, False)
    for entry in entries:
        # Hidden entries only when asked for by a leading dot, as shells do.
        if entry.name.startswith(".") and not prefix.startswith("."):
            continue
        try:
            is_dir = entry.is_dir()
        except OSError:
            continue
        if is_dir and entry.name in ALWAYS_SKIPPED:
            continue
        if rules.ignored(Path(entry.path), is_dir=is_dir):
            continue
        if len(values) == MAX_VALUES:
            # Checking the rest against the ignore rules would cost the time saved: no total.
            has_more = True
            break
        values.append(f"{shown}{entry.name}/" if is_dir else f"{shown}{entry.name}")
    return _result(values, None if has_more else len(values), has_more)


class Completer:
    """Answers ``completion/complete`` for the server's prompts and resource templates.

    Args:
        workspace: the requesting connection's workspace (client roots or ``--workspace``).
        thread_ids: the agent's thread ids, or None when this installation has no agent.
        thread_template: the URI template whose ``thread_id`` completes to thread ids.
    """

    def __init__(
        self,
        *,
        workspace: WorkspaceFor,
        thread_ids: ThreadIds | None,
        thread_template: str,
    ) -> None:
        self._workspace = workspace
        self._thread_ids = thread_ids
        self._thread_template = thread_template

    async def complete(self, params: types.CompleteRequestParams) -> types.CompleteResult:
        """One completion answer.

        Raises:
            MCPError: ``INVALID_PARAMS`` for an unknown prompt, template or argument.
        """
        ref, name, value = params.ref, params.argument.name, params.argument.value
        if isinstance(ref, types.PromptReference):
            prompt = PROMPTS.get(ref.name)
            if prompt is None:
                raise MCPError(
                    code=INVALID_PARAMS,
                    message=f"unknown prompt '{ref.name}'; known: {', '.join(PROMPTS)}",
                )
            if name not in {a.name for a in prompt.arguments}:
                known = ", ".join(a.name for a in prompt.arguments)
                raise MCPError(
                    code=INVALID_PARAMS,
                    message=f"prompt '{ref.name}' has no argument '{name}'; it has: {known}",
                )
            if (ref.name, name) == ("code_review", "path"):
                return complete_path(await self._workspace(), value)
            if (ref.name, name) == ("research", "depth"):
                return _capped([d for d in _DEPTHS if d.startswith(value)])
            # Free text (a focus, a topic): nothing sensible to offer.
            return _result([], 0, False)
        if ref.uri != self._thread_template or self._thread_ids is None:
            raise MCPError(
                code=INVALID_PARAMS,
                message=f"unknown resource template {ref.uri!r}; completions exist for "
                f"{self._thread_template}",
            )
        if name != "thread_id":
            raise MCPError(
                code=INVALID_PARAMS,
                message=f"resource template {ref.uri!r} has no argument '{name}'; "
                "it has: thread_id",
            )
        try:
            ids = await self._thread_ids()
        except LuminaError as exc:
            raise MCPError(code=types.INTERNAL_ERROR, message=exc.message) from None
        return _capped([t for t in ids if t.startswith(value)])
