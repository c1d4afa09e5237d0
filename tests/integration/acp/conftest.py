"""Fixtures for the ACP tests: the agent process's home, and a workspace with ``hello.txt``."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The spawned agent's HOME: an empty directory of the test's own."""
    home = tmp_path / "home"
    home.mkdir()
    return home


@pytest.fixture
def workspace(workspace_dir: Path) -> Path:
    """The workspace with ``hello.txt`` ("hello\\nworld\\n"); a module may give its own."""
    (workspace_dir / "hello.txt").write_text("hello\nworld\n", encoding="utf-8")
    return workspace_dir
