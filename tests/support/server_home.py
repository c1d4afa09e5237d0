"""The isolated home of a spawned ``luminamind acp`` or ``luminamind mcp`` process.

Registered by ``tests/conftest.py`` as a plugin, for the ACP and the MCP tests alike:

- ``home``: a fixture, an empty directory of the test's own.
- ``server_env(home, extra)``: the environment such a process runs with: its config file and
  data dir under ``home``, no developer keys, the in-memory cache, plus ``extra`` (the
  scripted LLM's address, a policy to test).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pytest

__all__ = ["home", "server_env"]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The spawned process's home: an empty directory of the test's own."""
    home = tmp_path / "home"
    home.mkdir()
    return home


def server_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A private config and data dir under ``home``, no developer keys, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LUMINAMIND_", "OPENAI_"))}
    env["LUMINAMIND_CONFIG_FILE"] = str(home / "no-config.toml")
    env["LUMINAMIND_DATA_DIR"] = str(home / "data")
    env["LUMINAMIND_CACHE__BACKEND"] = "memory"
    env.update(extra or {})
    return env
