"""The audit log: one JSON line per tool execution, secrets redacted."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import structlog

from luminamind.security.redaction import redact
from luminamind.surfaces import Surface

__all__ = ["AuditLog", "AuditSink", "NullAuditLog"]

_log = structlog.get_logger(__name__)
# Built once: json.dumps with options builds an encoder on every call.
# ASCII escapes keep lone surrogates (from hostile arguments) writable as valid JSON.
_ENCODER = json.JSONEncoder(ensure_ascii=True, default=str)


class AuditSink(Protocol):
    """Where tool executions are recorded."""

    def record(
        self,
        *,
        tool: str,
        arguments: Mapping[str, Any],
        outcome: str,
        duration_ms: float,
        thread_id: str | None,
        surface: Surface,
        error: str | None = None,
    ) -> None:
        """Append one execution."""


class AuditLog:
    """Appends JSON lines to a file (created with mode 0600: it names files and commands)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._warned = False

    def record(
        self,
        *,
        tool: str,
        arguments: Mapping[str, Any],
        outcome: str,
        duration_ms: float,
        thread_id: str | None,
        surface: Surface,
        error: str | None = None,
    ) -> None:
        """Append one execution; an unwritable log warns once and never fails the tool."""
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "tool": tool,
            "arguments": redact(dict(arguments)),
            "outcome": outcome,
            "duration_ms": round(duration_ms, 3),
            "thread_id": thread_id,
            "surface": surface,
            "pid": os.getpid(),
        }
        if error is not None:
            entry["error"] = redact(error)
        line = _ENCODER.encode(entry) + "\n"
        # One write() per line on an O_APPEND descriptor: on a local file system, lines from
        # concurrent processes do not interleave, and a line is in the page cache (safe from a
        # crash of this process) when the call returns. No fsync: surviving a power cut is not
        # worth a disk flush on every tool call. Opened per line, so rotation needs no signal.
        try:
            with self._lock:
                fd = self._open()
                try:
                    os.write(fd, line.encode("utf-8"))
                finally:
                    os.close(fd)
        except OSError as exc:
            if not self._warned:
                self._warned = True
                _log.warning("audit_log_unwritable", path=str(self.path), error=str(exc))

    def _open(self) -> int:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
        try:
            return os.open(self.path, flags, 0o600)
        except FileNotFoundError:
            # The directory is made when missing (first line, or removed since) rather than
            # checked before every line.
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return os.open(self.path, flags, 0o600)


class NullAuditLog:
    """Records nothing (benchmarks and unit tests that do not look at the audit trail)."""

    def record(self, **_: Any) -> None:
        return None
