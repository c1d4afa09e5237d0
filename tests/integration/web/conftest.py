"""Fixtures for the web tools: one local HTTP server per module, settings that allow it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from luminamind.config import Settings, load_settings
from luminamind.tools import web
from luminamind.tools.context import ToolContext
from luminamind.tools.executor import ToolExecutor
from luminamind.tools.registry import ToolRegistry
from tests.support.http_servers import LocalHttpServer
from tests.support.web_tools import CallTool, MakeSettings


@pytest.fixture(scope="module")
def server() -> Iterator[LocalHttpServer]:
    """A real HTTP server on 127.0.0.1, shared by the module's tests (unique paths per test)."""
    with LocalHttpServer() as srv:
        yield srv


@pytest.fixture
def make_settings(tmp_path: Path) -> MakeSettings:
    """Settings whose URL guard lets 127.0.0.1 through, fast timeouts, no crawl delay.

    Keyword arguments override ``web`` settings: ``make_settings(allowed_hosts=[])``.
    """

    def build(**web_overrides: Any) -> Settings:
        options: dict[str, Any] = {
            "allowed_hosts": ["127.0.0.1"],
            "timeout_seconds": 3.0,
            "crawl_delay_seconds": 0.0,
            "retry_backoff_seconds": 0.01,
        }
        options.update(web_overrides)
        return load_settings(workspace=tmp_path, data_dir=tmp_path / "data", web=options)

    return build


@pytest.fixture
def call_tool(make_settings: MakeSettings) -> CallTool:
    """Call a web tool through the real executor (no cache): ``await call_tool(name, **args)``.

    ``settings=`` picks other settings; every other keyword is a tool argument.
    """
    executor = ToolExecutor(ToolRegistry(web.TOOLS))

    async def call(name: str, settings: Settings | None = None, **arguments: Any) -> BaseModel:
        context = ToolContext.from_settings(settings or make_settings())
        return await executor.acall(name, arguments, context=context)

    return call
