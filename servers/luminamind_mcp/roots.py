"""The workspace of each MCP connection: the client's roots, or the server's workspace.

A client that declares the ``roots`` capability is asked for its roots (``roots/list``) on
its first tool call, and again after it sends ``notifications/roots/list_changed``. Its
``file://`` roots that are existing directories become the connection's workspace roots
(the first one primary, all writable); the server's configured extra roots stay as they are.
Without usable roots the connection gets the server's ``--workspace``.

Over stdio the client started the server as its own user, so its roots are taken as given.
Over HTTP a client may be anywhere, so its roots may only narrow the server's workspace:
roots outside it are dropped (and logged).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import mcp_types as types
import structlog
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp.shared.message import ServerMessageMetadata
from pydantic import ValidationError

from luminamind.errors import PathEscapeError
from luminamind.security.workspace import Workspace, WorkspaceRoot

__all__ = ["RootsPolicy", "WorkspaceResolver", "connection_key", "paths_from_roots"]

_log = structlog.get_logger(__name__)

RootsPolicy = Literal["replace", "narrow"]

# A client that never answers roots/list must not hold its tool call forever.
_ROOTS_TIMEOUT_SECONDS = 10.0
# Stateful HTTP sessions come and go; remember this many connections' workspaces.
_MAX_CONNECTIONS = 1024


def connection_key(ctx: ServerRequestContext[Any, Any]) -> str | None:
    """A stable key for the client connection behind ``ctx``.

    stdio carries one connection per process; streamable HTTP names its sessions with the
    ``mcp-session-id`` header. Stateless HTTP has no session, hence no key (and no roots:
    the server cannot send it requests).
    """
    request = ctx.request
    if request is None:
        return "stdio"
    headers = getattr(request, "headers", None)
    session_id = headers.get("mcp-session-id") if headers is not None else None
    return f"http:{session_id}" if session_id else None


def paths_from_roots(roots: Sequence[types.Root]) -> list[Path]:
    """Existing local directories named by ``file://`` roots, in order, without duplicates."""
    paths: list[Path] = []
    for root in roots:
        parts = urlsplit(str(root.uri))
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            _log.warning("root_ignored", uri=str(root.uri), reason="not a local file:// URI")
            continue
        path = Path(url2pathname(unquote(parts.path))).expanduser()
        try:
            resolved = path.resolve(strict=True)
        except OSError:
            _log.warning("root_ignored", uri=str(root.uri), reason="does not exist")
            continue
        if not resolved.is_dir():
            _log.warning("root_ignored", uri=str(root.uri), reason="not a directory")
            continue
        if resolved not in paths:
            paths.append(resolved)
    return paths


@dataclass
class _Entry:
    workspace: Workspace | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class WorkspaceResolver:
    """Finds, caches and invalidates each connection's workspace.

    Args:
        base: the server's workspace (``--workspace`` and the configured extra roots).
        policy: ``replace`` (stdio: roots replace the workspace) or ``narrow`` (HTTP: roots
            must lie inside the server's workspace).
    """

    def __init__(self, base: Workspace, *, policy: RootsPolicy) -> None:
        self.base = base
        self.policy: RootsPolicy = policy
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    async def aworkspace_for(self, ctx: ServerRequestContext[Any, Any]) -> Workspace:
        """The workspace tool calls on this request's connection are confined to."""
        key = connection_key(ctx)
        caps = ctx.session.client_capabilities
        if key is None or caps is None or caps.roots is None or not ctx.session.can_send_request:
            return self.base
        entry = self._entry(key)
        async with entry.lock:
            if entry.workspace is None:
                entry.workspace = await self._afetch(ctx)
            return entry.workspace

    def invalidate(self, ctx: ServerRequestContext[Any, Any]) -> None:
        """Forget a connection's roots (on ``notifications/roots/list_changed``)."""
        key = connection_key(ctx)
        if key is not None and key in self._entries:
            self._entries[key].workspace = None
            _log.info("roots_changed", connection=key)

    def _entry(self, key: str) -> _Entry:
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry()
            while len(self._entries) > _MAX_CONNECTIONS:
                self._entries.popitem(last=False)
        self._entries.move_to_end(key)
        return entry

    async def _afetch(self, ctx: ServerRequestContext[Any, Any]) -> Workspace:
        try:
            result = await ctx.session.send_request(
                types.ListRootsRequest(),
                types.ListRootsResult,
                request_read_timeout_seconds=_ROOTS_TIMEOUT_SECONDS,
                # Ride the current request's stream: an HTTP client need not hold a GET stream.
                metadata=ServerMessageMetadata(related_request_id=ctx.request_id),
            )
        except (MCPError, ValidationError) as exc:
            _log.warning("roots_unavailable", error=str(exc), fallback=str(self.base.root))
            return self.base
        workspace = self.workspace_from(paths_from_roots(result.roots))
        _log.info(
            "roots_adopted",
            roots=[str(r.path) for r in workspace.roots],
            policy=self.policy,
        )
        return workspace

    def workspace_from(self, paths: Sequence[Path]) -> Workspace:
        """The workspace for these client roots under this resolver's policy."""
        configured = list(self.base.roots[1:])
        if self.policy == "replace":
            if not paths:
                return self.base
            primary, writable, read_only = paths[0], list(paths[1:]), list[Path]()
        else:
            writable, read_only = list[Path](), list[Path]()
            for path in paths:
                mode = self._base_mode(path)
                if mode is None:
                    _log.warning("root_ignored", path=str(path), reason="outside the workspace")
                else:
                    (writable if mode == "rw" else read_only).append(path)
            # The primary root is writable, so it must come from a writable part of the base:
            # a client cannot turn a read-only configured root into a writable one.
            if not writable:
                return self.base
            primary, writable = writable[0], writable[1:]
        extra = [
            *(WorkspaceRoot(p, "rw") for p in writable),
            *(WorkspaceRoot(p, "ro") for p in read_only),
            *configured,
        ]
        try:
            return Workspace(primary, extra_roots=extra, hardlinks=self.base.hardlinks)
        except PathEscapeError as exc:
            _log.warning("roots_unusable", error=exc.message)
            return self.base

    def _base_mode(self, path: Path) -> Literal["ro", "rw"] | None:
        """The mode of the base root holding ``path`` (None if none does)."""
        for root in self.base.roots:
            if root.contains(path):
                return root.mode
        return None
