"""Fixtures for the MCP server tests (helpers live in tests/support/mcp_clients.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.mcp_clients import TOKEN, HttpServer, populate, start_http_server, stop


@pytest.fixture
def workspace(workspace_dir: Path) -> Path:
    """A populated workspace of the test's own (``populate``); a module may give its own."""
    populate(workspace_dir)
    return workspace_dir


@pytest.fixture(scope="module")
def mcp_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Private config/data dir for the module's server processes."""
    return tmp_path_factory.mktemp("mcp-home")


@pytest.fixture(scope="module")
def mcp_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A populated workspace shared by the module's read-only tests."""
    workspace = tmp_path_factory.mktemp("mcp-ws").resolve()
    populate(workspace)
    return workspace


@pytest.fixture(scope="module")
def http_server(mcp_workspace: Path, mcp_home: Path) -> Iterator[HttpServer]:
    """One authenticated HTTP server for the module (generous rate limit)."""
    server = start_http_server(
        mcp_workspace,
        mcp_home,
        env={"LUMINAMIND_MCP_TOKEN": TOKEN, "LUMINAMIND_SERVER__RATE_LIMIT_PER_MINUTE": "100000"},
    )
    yield server
    stop(server.process)
