"""Fixtures for the ACP tests: a workspace with ``hello.txt``.

The agent process's ``home`` is tests/support/server_home.py's, shared with the MCP tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def workspace(workspace_dir: Path) -> Path:
    """The workspace with ``hello.txt`` ("hello\\nworld\\n"); a module may give its own."""
    (workspace_dir / "hello.txt").write_text("hello\nworld\n", encoding="utf-8")
    return workspace_dir
