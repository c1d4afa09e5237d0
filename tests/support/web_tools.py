"""Types of the web-tool test fixtures (imported by tests; conftest modules are not importable
by name when several exist)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from luminamind.config import Settings

__all__ = ["CallTool", "MakeSettings"]

# await call_tool(name, settings=None, **arguments) -> the tool's result model
CallTool = Callable[..., Awaitable[Any]]
# make_settings(**web_overrides) -> Settings allowing 127.0.0.1
MakeSettings = Callable[..., Settings]
