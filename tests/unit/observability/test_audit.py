"""The audit log file: created private, one JSON line per call, its directory made when missing."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

from luminamind.observability.audit import AuditLog


def _record(log: AuditLog, tool: str) -> None:
    log.record(
        tool=tool,
        arguments={"path": "a.txt", "api_key": "sk-abcdefghijklmnopqrstuvwx"},
        outcome="ok",
        duration_ms=1.5,
        thread_id=None,
        surface="mcp",
    )


def test_lines_are_appended_to_a_private_file_in_a_directory_made_on_demand(
    tmp_path: Path,
) -> None:
    path = tmp_path / "data" / "audit" / "audit.jsonl"
    log = AuditLog(path)
    _record(log, "read_file")
    _record(log, "list_directory")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["tool"] for line in lines] == ["read_file", "list_directory"]
    assert lines[0]["arguments"] == {"path": "a.txt", "api_key": "[REDACTED]"}
    # Removed while the server runs (a cleanup, a rotation script): the next line recreates it.
    shutil.rmtree(tmp_path / "data")
    _record(log, "tree_view")
    assert [json.loads(line)["tool"] for line in path.read_text().splitlines()] == ["tree_view"]
