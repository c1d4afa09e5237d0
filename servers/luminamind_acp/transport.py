"""Newline-delimited JSON-RPC on stdio that answers malformed input instead of dropping it.

The SDK's own stdio transport (``acp._transport.NdjsonTransport``) logs a line that is not JSON
and reads on, so a client that sent it waits forever for an answer; a line that is JSON but not
an object (``[1]``, ``"x"``) would reach the dispatcher and fail there. JSON-RPC 2.0 says what
to answer: ``-32700 Parse error`` for unparsable text and ``-32600 Invalid Request`` for a value
that is not a request, both with ``id: null`` (the id cannot be known). This transport does so
and keeps serving; everything well-formed passes through untouched.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import structlog
from acp._transport import NdjsonTransport

from luminamind.tools.arguments import json_text_problem

__all__ = ["CheckedNdjsonTransport", "classify"]

_log = structlog.get_logger(__name__)

# JSON-RPC 2.0 error codes for input that is not a request at all.
PARSE_ERROR = -32700
INVALID_REQUEST = -32600


def classify(line: bytes) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:  # Any: JSON
    """``(message, None)`` for a usable JSON-RPC message, else ``(None, error response)``."""
    # json.loads recurses per nesting level: 60,000 brackets would raise RecursionError.
    problem = json_text_problem(line)
    if problem is not None:
        return None, _error(
            INVALID_REQUEST, "Invalid Request", f"the message is refused: {problem}"
        )
    try:
        value = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        return None, _error(PARSE_ERROR, "Parse error", f"the line is not JSON: {exc}")
    if not isinstance(value, dict):
        kind = type(value).__name__
        return None, _error(
            INVALID_REQUEST, "Invalid Request", f"a JSON-RPC message is an object, not {kind}"
        )
    if value.get("jsonrpc") != "2.0":
        return None, _error(
            INVALID_REQUEST, "Invalid Request", 'a JSON-RPC 2.0 message needs "jsonrpc": "2.0"'
        )
    method = value.get("method")
    if method is None and "id" not in value:
        return None, _error(
            INVALID_REQUEST, "Invalid Request", 'the message has neither "method" nor "id"'
        )
    if method is not None and not isinstance(method, str):
        return None, _error(INVALID_REQUEST, "Invalid Request", '"method" must be a string')
    return value, None


def _error(code: int, message: str, details: str) -> dict[str, Any]:  # Any: JSON
    return {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": code, "message": message, "data": {"details": details}},
    }


class CheckedNdjsonTransport(NdjsonTransport):
    """`NdjsonTransport` that answers malformed lines (see the module docstring)."""

    async def receive(self) -> dict[str, Any] | None:  # Any: JSON
        while True:
            line = await self._read_line()
            if not line:
                return None
            line = line.strip()
            if not line:
                continue
            message, error = classify(line)
            if message is not None:
                return message
            assert error is not None
            _log.warning("acp_message_refused", code=error["error"]["code"], size=len(line))
            try:
                await self.send(error)
            except (ConnectionError, asyncio.CancelledError):  # the client has gone: stop
                return None
