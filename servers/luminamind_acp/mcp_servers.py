"""The MCP servers an editor passes in ``session/new`` / ``session/load``, connected per session.

Each server (stdio: a process started in the session's folder with the editor's arguments and
environment; http: streamable HTTP with the editor's headers) is connected with the official
``mcp`` client, its tools listed and lent to the session's thread as `ThreadTool`s named
``mcp__<server>__<tool>``, with the tool's own JSON Schema as the model's argument schema.
`luminamind.agent.thread_tools` then puts each call under the approval policy (read-only tools
run, others ask) and the audit log.

A server that cannot be used (its command is missing, it exits or fails during the handshake,
it takes longer than `CONNECT_SECONDS`, a transport we do not advertise) is left out with a
message naming it and why; the session works with the rest. A server that dies later makes its
tools answer with an error the model reads. The connections close with the session.

Each connection lives in a task of its own: the SDK's transports are anyio task groups, which
must be entered and left by the same task, while sessions open in one request and close in
another (or when the editor disconnects).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO, cast

import httpx2
import mcp_types as types
import structlog
from acp.schema import HttpMcpServer, McpServerStdio
from langchain_core.tools import StructuredTool, ToolException
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from luminamind import __version__
from luminamind.agent.thread_tools import ThreadTool

__all__ = ["CONNECT_SECONDS", "McpConnections", "tool_name"]

_log = structlog.get_logger(__name__)

CONNECT_SECONDS = 30.0
"""How long a server may take to start and answer ``initialize`` and ``tools/list``."""

_MAX_TOOLS = 200  # per session: every tool's schema goes to the model on each call
_MAX_RESULT_CHARS = 100_000
_NAME = re.compile(r"[^A-Za-z0-9_-]")


def tool_name(server: str, tool: str) -> str:
    """``mcp__<server>__<tool>`` in the characters and length every provider accepts."""
    return _NAME.sub("_", f"mcp__{server}__{tool}")[:64]


def _result_text(result: types.CallToolResult) -> str:
    parts: list[str] = []
    for block in result.content:
        if isinstance(block, types.TextContent):
            parts.append(block.text)
        elif isinstance(block, types.EmbeddedResource):
            resource = block.resource
            text = getattr(resource, "text", None)
            parts.append(text if isinstance(text, str) else f"[resource {resource.uri}]")
        elif isinstance(block, types.ResourceLink):
            parts.append(f"[resource {block.uri}]")
        else:  # images and audio: the model gets what they are, not the bytes
            parts.append(f"[{block.type} {getattr(block, 'mime_type', '')}]".replace(" ]", "]"))
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    text = "\n".join(parts)
    if len(text) > _MAX_RESULT_CHARS:
        text = text[:_MAX_RESULT_CHARS] + "…(truncated)"
    return text


class _Link:
    """One connected server, served by its own task until `close`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.session: ClientSession | None = None
        self.task: asyncio.Task[None] | None = None
        self.closing = asyncio.Event()
        self.errlog: TextIO | None = None

    def stderr_tail(self) -> str:
        """The last lines the server wrote to stderr (stdio servers), for error messages."""
        if self.errlog is None:
            return ""
        with contextlib.suppress(OSError, ValueError):
            self.errlog.flush()
            self.errlog.seek(0)
            lines = [line for line in self.errlog.read().splitlines() if line.strip()]
            return " | ".join(lines[-3:])[-400:]
        return ""

    async def close(self) -> None:
        self.closing.set()
        if self.task is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self.task, 10.0)
            if not self.task.done():
                self.task.cancel()

    def discard(self) -> None:
        """Drop the captured stderr (after `close`)."""
        if self.errlog is not None:
            self.errlog.close()
            self.errlog = None


class McpConnections:
    """The MCP servers of one ACP session."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self._links: list[_Link] = []
        self.tools: list[ThreadTool] = []

    async def connect(self, servers: Sequence[Any]) -> list[str]:  # Any: the SDK's server kinds
        """Connect every server (at once); the problems, one sentence per server left out."""
        names: set[str] = set()
        results = await asyncio.gather(*(self._connect_one(s) for s in servers))
        problems: list[str] = []
        for outcome in results:
            if isinstance(outcome, str):
                problems.append(outcome)
                continue
            link, listed = outcome
            for tool in listed:
                if len(self.tools) >= _MAX_TOOLS:
                    problems.append(
                        f"MCP server '{link.name}': only the first {_MAX_TOOLS} tools of the "
                        "session are offered to the model"
                    )
                    break
                self.tools.append(self._lend(link, tool, names))
        return problems

    async def aclose(self) -> None:
        """Close every connection (stdio servers are stopped)."""
        links, self._links = self._links, []
        self.tools = []
        await asyncio.gather(*(link.close() for link in links))
        for link in links:
            link.discard()

    async def _connect_one(self, server: Any) -> tuple[_Link, list[types.Tool]] | str:
        name = str(getattr(server, "name", "?"))[:64]
        if not isinstance(server, McpServerStdio | HttpMcpServer):
            kind = getattr(server, "type", "unknown")
            return (
                f"MCP server '{name}': the {kind} transport is not supported (LuminaMind "
                "connects stdio and http servers)"
            )
        link = _Link(name)
        if isinstance(server, McpServerStdio):
            # Its stderr is kept (not mixed into our log lines) to explain a failed start;
            # `_Link.close` closes it, after the process is gone.
            errlog = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115
            link.errlog = cast(TextIO, errlog)
        ready: asyncio.Future[ClientSession] = asyncio.get_running_loop().create_future()
        link.task = asyncio.create_task(self._serve(link, server, ready))
        self._links.append(link)
        try:
            async with asyncio.timeout(CONNECT_SECONDS):
                session = await asyncio.shield(ready)
                tools = await _list_tools(session)
        except Exception as exc:  # any failure leaves this server out, the session goes on
            await link.close()
            problem = _explain(name, server, exc, link.stderr_tail())
            link.discard()
            self._links.remove(link)
            _log.warning("acp_mcp_server_failed", server=name, error=problem)
            return problem
        _log.info("acp_mcp_server_connected", server=name, tools=len(tools))
        return link, tools

    async def _serve(
        self, link: _Link, server: McpServerStdio | HttpMcpServer, ready: asyncio.Future[Any]
    ) -> None:
        try:
            async with contextlib.AsyncExitStack() as stack:
                if isinstance(server, McpServerStdio):
                    params = StdioServerParameters(
                        command=server.command,
                        args=list(server.args),
                        env={e.name: e.value for e in server.env},
                        cwd=self.cwd,
                    )
                    streams = await stack.enter_async_context(
                        stdio_client(params, errlog=link.errlog or sys.stderr)
                    )
                else:
                    headers = {h.name: h.value for h in server.headers}
                    client = await stack.enter_async_context(
                        httpx2.AsyncClient(
                            headers=headers, timeout=httpx2.Timeout(30.0, read=300.0)
                        )
                    )
                    streams = await stack.enter_async_context(
                        streamable_http_client(server.url, http_client=client)
                    )
                read, write = streams[0], streams[1]
                session = await stack.enter_async_context(
                    ClientSession(
                        read,
                        write,
                        client_info=types.Implementation(name="luminamind", version=__version__),
                    )
                )
                await session.initialize()
                link.session = session
                ready.set_result(session)
                await link.closing.wait()
        except BaseException as exc:  # reported through `ready` or logged
            if not ready.done():
                ready.set_exception(exc if isinstance(exc, Exception) else RuntimeError(repr(exc)))
            elif not link.closing.is_set():
                _log.warning("acp_mcp_server_lost", server=link.name, error=repr(exc)[:300])
            if isinstance(exc, asyncio.CancelledError):
                raise
        finally:
            link.session = None

    def _lend(self, link: _Link, tool: types.Tool, taken: set[str]) -> ThreadTool:
        name = tool_name(link.name, tool.name)
        suffix = 2
        while name in taken:  # two servers (or names) that sanitise alike
            name = f"{tool_name(link.name, tool.name)[:60]}_{suffix}"
            suffix += 1
        taken.add(name)
        remote = tool.name

        async def call(**arguments: Any) -> str:  # Any: the tool's own JSON arguments
            session = link.session
            if session is None:
                raise ToolException(
                    f"Error (mcp_server_unavailable): MCP server '{link.name}' is not connected "
                    "any more (it exited or closed the connection); its tools cannot be used "
                    "in this session."
                )
            try:
                result = await session.call_tool(remote, arguments)
            except Exception as exc:
                if isinstance(exc, MCPError) and exc.error.code == types.CONNECTION_CLOSED:
                    link.session = None  # gone: later calls say so at once
                tail = link.stderr_tail()
                raise ToolException(
                    f"Error (mcp_server_failed): MCP server '{link.name}' failed on {remote}: "
                    f"{_reason(exc)}" + (f" (its stderr: {tail})" if tail else "")
                ) from exc
            text = _result_text(result)
            if result.is_error:
                raise ToolException(f"Error (mcp_tool_error) from {remote}: {text}")
            return text

        description = tool.description or tool.title or remote
        schema = tool.input_schema or {"type": "object", "properties": {}}
        return ThreadTool(
            tool=StructuredTool(
                name=name,
                description=f"[MCP server '{link.name}'] {description}",
                args_schema=schema,
                coroutine=call,
                handle_tool_error=True,
            ),
            read_only=bool(tool.annotations and tool.annotations.read_only_hint),
            source=f"MCP server '{link.name}'",
        )


async def _list_tools(session: ClientSession) -> list[types.Tool]:
    tools: list[types.Tool] = []
    cursor: str | None = None
    while True:
        params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
        page = await session.list_tools(params=params)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor or len(tools) >= _MAX_TOOLS:
            return tools


def _reason(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        return _reason(exc.exceptions[0])
    return str(exc) or type(exc).__name__


def _explain(
    name: str, server: McpServerStdio | HttpMcpServer, exc: BaseException, tail: str
) -> str:
    if isinstance(exc, TimeoutError):
        why = f"no answer to initialize within {CONNECT_SECONDS:.0f} s"
    elif isinstance(server, McpServerStdio) and isinstance(
        exc, FileNotFoundError | PermissionError
    ):
        why = f"cannot start '{server.command}': {exc.strerror or exc}"
    elif isinstance(server, McpServerStdio):
        why = f"'{server.command}' failed during the handshake: {_reason(exc)}"
    else:
        why = f"{server.url} failed during the handshake: {_reason(exc)}"
    if tail:
        why += f" (its stderr: {tail})"
    return f"MCP server '{name}' is not connected: {why}"
