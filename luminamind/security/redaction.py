"""Secret redaction for logs, audit lines and error messages."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

__all__ = ["REDACTED", "is_secret_name", "redact", "redact_text"]

REDACTED = "[REDACTED]"

_SECRET_NAME = re.compile(
    r"(api[_-]?key|apikey|token|secret|password|passwd|authorization|credential|cookie)",
    re.IGNORECASE,
)
# Shapes of well-known credentials, caught even when they appear inside free text.
_SECRET_SHAPES = re.compile(
    r"(?P<bearer>\b[Bb]earer\s+)[A-Za-z0-9._~+/=-]{8,}"
    r"|\bsk-[A-Za-z0-9_-]{16,}"
    r"|\bgh[pousr]_[A-Za-z0-9]{20,}"
    r"|\bxox[abpr]-[A-Za-z0-9-]{10,}"
    r"|\bAKIA[0-9A-Z]{16}\b"
    r"|(?P<userinfo>://[^/\s:@]+:)[^/\s@]+@"
)
_MIN_ENV_SECRET = 8


def is_secret_name(name: str) -> bool:
    """True for names such as ``GLM_API_KEY``, ``token`` or ``Authorization``."""
    return bool(_SECRET_NAME.search(name))


@lru_cache(maxsize=1)
def _env_secret_values(environ_key: int) -> tuple[str, ...]:
    del environ_key  # only there to refresh the cache when the environment changes size
    values = {
        v
        for k, v in os.environ.items()
        if any(w in k.upper() for w in ("KEY", "TOKEN", "SECRET", "PASSWORD"))
        and len(v) >= _MIN_ENV_SECRET
    }
    return tuple(sorted(values, key=len, reverse=True))


def redact_text(text: str) -> str:
    """Replace credential-shaped substrings and secret env-var values in ``text``."""

    def _sub(m: re.Match[str]) -> str:
        if m.group("bearer"):
            return m.group("bearer") + REDACTED
        if m.group("userinfo"):
            return m.group("userinfo") + REDACTED + "@"
        return REDACTED

    text = _SECRET_SHAPES.sub(_sub, text)
    for value in _env_secret_values(len(os.environ)):
        if value in text:
            text = text.replace(value, REDACTED)
    return text


def redact(value: Any, *, key: str | None = None) -> Any:
    """Return a copy of ``value`` with secrets replaced, recursing into mappings and lists."""
    if key is not None and is_secret_name(key) and value not in (None, "", False):
        return REDACTED
    if isinstance(value, Mapping):
        return {k: redact(v, key=str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    if hasattr(value, "get_secret_value"):
        return REDACTED
    return value
