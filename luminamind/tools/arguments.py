"""Limits on the shape of tool arguments, checked before anything recurses into them.

Python's ``json`` module, pydantic, the redaction of audit records and the JSON Schema of a
result all recurse per nesting level: 60,000 nested brackets end in a ``RecursionError``
traceback instead of an argument error. Every surface therefore checks raw JSON text with
`loads_arguments` (a linear scan that counts brackets outside strings, before parsing), and the
executor checks parsed arguments with `check_shape` (iterative, no recursion), so deep or huge
input is a `ToolArgumentsError` wherever it arrives.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from luminamind.errors import ToolArgumentsError

__all__ = [
    "MAX_ARGUMENT_BYTES",
    "MAX_ARGUMENT_DEPTH",
    "MAX_ARGUMENT_ITEMS",
    "argument_shape_problem",
    "check_shape",
    "json_text_problem",
    "loads_arguments",
]

MAX_ARGUMENT_DEPTH = 64  # the deepest real arguments (edit lists, hunk reviews) use about 4
MAX_ARGUMENT_ITEMS = 200_000  # values in one call's arguments, all levels together
MAX_ARGUMENT_BYTES = 16 * 1024 * 1024  # JSON text of one call's arguments


def json_text_problem(text: str | bytes) -> str | None:
    """Why ``text`` is too deep or too large to parse, or None (a linear scan, no parsing)."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if len(data) > MAX_ARGUMENT_BYTES:
        return f"the JSON is {len(data):,} bytes; the limit is {MAX_ARGUMENT_BYTES:,}"
    depth = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # closing quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > MAX_ARGUMENT_DEPTH:
                return f"the JSON nests deeper than {MAX_ARGUMENT_DEPTH} levels"
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return None


def loads_arguments(text: str, *, source: str = "arguments") -> dict[str, Any]:
    """Parse a JSON object of tool arguments, or raise `ToolArgumentsError` saying why not.

    Any: JSON values are arbitrary until the tool's argument model validates them.
    """
    problem = json_text_problem(text)
    if problem:
        raise ToolArgumentsError(f"{source}: {problem}; send flatter, smaller arguments")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ToolArgumentsError(f"{source} is not valid JSON: {exc}") from None
    except RecursionError:  # pragma: no cover - the scan above keeps depth far below the limit
        raise ToolArgumentsError(f"{source}: the JSON nests too deeply") from None
    if not isinstance(value, dict):
        raise ToolArgumentsError(f'{source} must be a JSON object, e.g. {{"path": "README.md"}}')
    return value


def argument_shape_problem(value: object) -> str | None:
    """Why parsed ``value`` is too deep or has too many items, or None (iterative walk)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    items = 0
    while stack:
        current, depth = stack.pop()
        if isinstance(current, Mapping):
            children: list[object] = list(current.values())
        elif isinstance(current, list | tuple):
            children = list(current)
        else:
            continue
        if depth > MAX_ARGUMENT_DEPTH:
            return f"the arguments nest deeper than {MAX_ARGUMENT_DEPTH} levels"
        items += len(children)
        if items > MAX_ARGUMENT_ITEMS:
            return f"the arguments hold more than {MAX_ARGUMENT_ITEMS:,} values"
        stack.extend((child, depth + 1) for child in children)
    return None


def check_shape(value: object, *, tool: str) -> None:
    """Raise `ToolArgumentsError` when ``value`` is too deep or too big to handle safely."""
    problem = argument_shape_problem(value)
    if problem:
        raise ToolArgumentsError(f"{tool}: {problem}; send flatter, smaller arguments")
