"""stdin for the language server that turns too-deep or too-large messages into errors.

pygls parses each message body with ``json.loads``, which recurses once per nesting level:
60,000 nested brackets raise ``RecursionError`` inside pygls' reader, the request gets no answer
and the log a traceback. This wrapper checks each body first (`json_text_problem`, a linear
scan) and hands pygls, instead of a body it cannot parse, a small request to
``luminamind/invalidMessage`` with the same id. Its handler answers with an Invalid Params error
that says what was wrong, so the client gets a clear argument error and the server keeps going.
"""

from __future__ import annotations

import json
import re
from typing import BinaryIO

from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer

from luminamind.tools.arguments import json_text_problem

__all__ = ["INVALID_MESSAGE", "GuardedStdin", "register_invalid_message"]

INVALID_MESSAGE = "luminamind/invalidMessage"
_ID_VALUE = re.compile(rb'\s*:\s*(-?\d+|"(?:[^"\\]|\\.)*")')


class GuardedStdin:
    """The parts of a binary stdin pygls reads (``readline``, ``read``), with the check."""

    def __init__(self, inner: BinaryIO) -> None:
        self._inner = inner

    def readline(self) -> bytes:
        return self._inner.readline()

    def read(self, size: int = -1) -> bytes:
        body = self._inner.read(size)
        problem = json_text_problem(body) if body else None
        if problem is None:
            return body
        msg_id = _top_level_id(body)
        message: dict[str, object] = {"jsonrpc": "2.0", "method": INVALID_MESSAGE}
        message["params"] = {"problem": f"the message is refused: {problem}"}
        if msg_id is not None:
            message["id"] = json.loads(msg_id)
        return json.dumps(message).encode()


def _top_level_id(body: bytes) -> bytes | None:
    """The raw ``"id"`` value of the outermost object, found without parsing the rest."""
    depth = 0
    in_string = escaped = False
    string_start = -1
    for index, byte in enumerate(body):
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
                if depth == 1 and body[string_start:index] == b"id":
                    match = _ID_VALUE.match(body, index + 1)
                    if match:
                        return match.group(1)
        elif byte == 0x22:
            in_string, string_start = True, index + 1
        elif byte in (0x5B, 0x7B):
            depth += 1
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return None


def register_invalid_message(server: LanguageServer) -> None:
    """Answer the stand-in request with Invalid Params carrying the problem."""

    @server.feature(INVALID_MESSAGE)
    def invalid_message(ls: LanguageServer, params: object) -> None:
        del ls
        problem = getattr(params, "problem", None) or "the message could not be read"
        raise JsonRpcInvalidParams(f"{problem}; send flatter, smaller arguments")
