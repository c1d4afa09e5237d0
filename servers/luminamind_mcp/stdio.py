"""stdin/stdout for the stdio transport without a thread hop per message.

The SDK's ``stdio_server()`` reads and writes through ``anyio.wrap_file``: every line read and
every write and flush is a round trip to a worker thread, which is most of a small tool call's
latency. When stdin and stdout are pipes or sockets (as when a client spawns the server), this
module serves them with the event loop's own pipe transports instead, and hands them to
``stdio_server(stdin=..., stdout=...)``, which keeps doing the JSON-RPC framing.

Like the SDK, it moves the protocol onto private descriptors and points fd 0 at /dev/null and
fd 1 at stderr while serving, so a stray ``print`` or child process cannot corrupt the wire.
For anything else (a regular file on stdin, a platform without pipe transports) it yields None
and the caller falls back to the SDK's own streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import stat
import sys
from collections.abc import AsyncIterator
from typing import Any

import anyio
import mcp_types as types
import structlog
from mcp.shared._stream_protocols import ReadStream, WriteStream
from mcp.shared.message import SessionMessage
from pydantic import ValidationError

__all__ = ["AnsweringReadStream", "PipeReader", "PipeWriter", "pipe_stdio"]

_log = structlog.get_logger(__name__)

# One JSON-RPC message per line; lines may be long (file contents), so allow 64 MiB.
_LINE_LIMIT = 64 * 1024 * 1024


class PipeReader:
    """Lines of stdin as text (what ``stdio_server`` iterates over)."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    def __aiter__(self) -> PipeReader:
        return self

    async def __anext__(self) -> str:
        line = await self._reader.readline()
        if not line:
            raise StopAsyncIteration
        return line.decode("utf-8", errors="replace")


class PipeWriter:
    """stdout as an async text stream (``write`` then ``flush``, as ``stdio_server`` does)."""

    def __init__(self, transport: asyncio.WriteTransport, protocol: Any) -> None:  # Any: asyncio
        self._transport = transport
        self._writer = asyncio.StreamWriter(transport, protocol, None, asyncio.get_running_loop())

    async def write(self, text: str) -> int:
        self._writer.write(text.encode("utf-8"))
        return len(text)

    async def flush(self) -> None:
        # Only waits when the client reads slower than the server writes.
        await self._writer.drain()

    def close(self) -> None:
        self._transport.close()


def _pipe_like(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode)


@contextlib.asynccontextmanager
async def pipe_stdio() -> AsyncIterator[tuple[PipeReader, PipeWriter] | None]:
    """Serve stdin/stdout through pipe transports; yields None when they are not pipes."""
    if sys.platform == "win32" or not (_pipe_like(0) and _pipe_like(1)):
        yield None
        return
    loop = asyncio.get_running_loop()
    wire_in, wire_out = os.dup(0), os.dup(1)
    saved_in, saved_out = os.dup(0), os.dup(1)
    # Divert the standard descriptors: reads get EOF, stray writes land on stderr.
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    sys.stdout.flush()
    os.dup2(2, 1)
    in_file = os.fdopen(wire_in, "rb", buffering=0)
    out_file = os.fdopen(wire_out, "wb", buffering=0)
    writer: PipeWriter | None = None
    try:
        reader = asyncio.StreamReader(limit=_LINE_LIMIT)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), in_file)
        transport, protocol = await loop.connect_write_pipe(
            lambda: asyncio.streams.FlowControlMixin(), out_file
        )
        writer = PipeWriter(transport, protocol)
        yield PipeReader(reader), writer
    finally:
        if writer is not None:
            writer.close()
        with contextlib.suppress(OSError):
            in_file.close()
        with contextlib.suppress(OSError):
            out_file.close()
        os.dup2(saved_in, 0)
        os.dup2(saved_out, 1)
        os.close(saved_in)
        os.close(saved_out)


class AnsweringReadStream:
    """The transport's read stream, answering lines that are not JSON-RPC with a JSON-RPC error.

    The SDK's stdio transport hands such lines to the server as exceptions, which it drops
    silently; a client that sent garbage would wait forever, and JSON-RPC 2.0 asks for an
    error. This wraps the stream rather than relaying it through a task of its own: a relay
    costs two task switches on every message (measured: about 40 µs of a 1 ms ``read_file``).
    ``last_context`` is the wrapped stream's, so the SDK still runs each request in its
    sender's context.
    """

    def __init__(
        self,
        inner: ReadStream[SessionMessage | Exception],
        write_stream: WriteStream[SessionMessage],
    ) -> None:
        self._inner = inner
        self._write = write_stream

    @property
    def last_context(self) -> contextvars.Context | None:
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> SessionMessage:
        while True:
            item = await self._inner.receive()
            if not isinstance(item, Exception):
                return item
            error = _error_for(item)
            _log.warning("mcp_message_unreadable", code=error.error.code, error=str(item)[:200])
            await self._write.send(SessionMessage(error))

    async def aclose(self) -> None:
        await self._inner.aclose()

    def __aiter__(self) -> AnsweringReadStream:
        return self

    async def __anext__(self) -> SessionMessage:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> AnsweringReadStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _error_for(exc: Exception) -> types.JSONRPCError:
    """Parse error (-32700) for bad JSON; invalid request (-32600, with its id) for bad shapes."""
    if isinstance(exc, ValidationError):
        errors = exc.errors(include_url=False)
        if errors and errors[0]["type"] != "json_invalid":
            raw = errors[0].get("input")
            request_id = raw.get("id") if isinstance(raw, dict) else None
            return types.JSONRPCError(
                jsonrpc="2.0",
                id=request_id if isinstance(request_id, str | int) else None,
                error=types.ErrorData(
                    code=types.INVALID_REQUEST,
                    message="Invalid request: not a JSON-RPC 2.0 request, notification or response",
                ),
            )
    return types.JSONRPCError(
        jsonrpc="2.0",
        id=None,
        error=types.ErrorData(code=types.PARSE_ERROR, message=f"Parse error: {str(exc)[:200]}"),
    )
