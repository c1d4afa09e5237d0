"""Fixtures shared by every test: an isolated workspace, data dir and settings."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from luminamind.config import Settings, load_settings
from luminamind.runtime import ToolRuntime, build_tool_runtime

# Shared fixtures living in an importable module (conftest modules are not importable by name).
pytest_plugins = [
    "tests.support.fixtures",
    "tests.support.redis_fixtures",
    "tests.support.server_home",
]

_ISOLATED_PREFIXES = ("LUMINAMIND_", "OPENAI_", "OLLAMA_", "GLM_", "SERPER_", "TAVILY_", "BRAVE_")
_ISOLATED_NAMES = ("LLM_PROVIDER", "REDIS_URL")


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test sees the developer's keys, config file or data dir."""
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith(_ISOLATED_PREFIXES) or name in _ISOLATED_NAMES:
            del os.environ[name]
    home = tmp_path_factory.mktemp("home")
    os.environ["LUMINAMIND_CONFIG_FILE"] = str(home / "no-config.toml")
    os.environ["LUMINAMIND_DATA_DIR"] = str(home / "data")
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def workspace_dir(tmp_path: Path) -> Path:
    """An empty workspace directory (resolved, so symlinked /tmp does not confuse paths)."""
    ws = tmp_path / "ws"
    ws.mkdir()
    return ws.resolve()


@pytest.fixture
def settings(workspace_dir: Path, tmp_path: Path) -> Settings:
    """Settings confined to ``workspace_dir`` with a private data dir and an in-memory cache."""
    return load_settings(
        workspace=workspace_dir,
        data_dir=tmp_path / "data",
        cache={"backend": "memory"},
    )


@pytest.fixture
def runtime(settings: Settings) -> ToolRuntime:
    """The CLI-surface tool runtime without a result cache."""
    return build_tool_runtime(settings, surface="cli", use_cache=False)
