"""One `AgentService` per workspace, sharing one checkpointer and one editor registry.

An ACP session names its workspace (``cwd``); sessions in the same folder share a service (one
agent graph, one tool runtime confined to that folder), and every service shares the
checkpointer and thread store, so threads are the same whichever folder lists them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from luminamind.agent.thread_tools import ThreadToolRegistry
from luminamind.config import Settings, WorkspaceRootConfig
from luminamind.tools.editor import EditorRegistry

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver

    from luminamind.agent.service import AgentService

__all__ = ["ServicePool"]


def _service_class() -> type[AgentService]:
    from luminamind.agent.service import AgentService

    return AgentService


class ServicePool:
    """Opens services on first use and closes them all at the end."""

    def __init__(
        self,
        settings: Settings,
        editors: EditorRegistry,
        thread_tools: ThreadToolRegistry | None = None,
    ) -> None:
        self.settings = settings
        self.editors = editors
        self.thread_tools = thread_tools
        self._stack = AsyncExitStack()
        # By folder and additional folders (ACP's additionalDirectories): each its own confinement.
        self._services: dict[tuple[Path, ...], AgentService] = {}
        self._checkpointer: BaseCheckpointSaver[Any] | None = None  # Any: its version type
        self._lock = asyncio.Lock()

    async def service_for(self, workspace: Path, extra: Sequence[Path] = ()) -> AgentService:
        """The service whose tools are confined to ``workspace`` (and the ``extra`` roots).

        Raises:
            CheckpointError: the checkpointer cannot be opened.
            ConfigError: the state backend is misconfigured.
        """
        key = (workspace, *extra)
        async with self._lock:
            service = self._services.get(key)
            if service is not None:
                return service
            # In a thread: importing the agent stack takes seconds of CPU, and the connection
            # must keep answering (initialize, cancel) meanwhile.
            service_cls = await asyncio.to_thread(_service_class)
            if self._checkpointer is None:
                from luminamind.state.checkpointer import open_checkpointer

                self._checkpointer = await self._stack.enter_async_context(
                    open_checkpointer(self.settings)
                )
            roots = [
                *self.settings.extra_roots,
                *(WorkspaceRootConfig(path=path, mode="rw") for path in extra),
            ]
            settings = self.settings.model_copy(
                update={"workspace": workspace, "extra_roots": roots}
            )
            service = await self._stack.enter_async_context(
                service_cls.open(
                    settings,
                    surface="acp",
                    checkpointer=self._checkpointer,
                    editors=self.editors,
                    thread_tools=self.thread_tools,
                )
            )
            self._services[key] = service
            return service

    async def default(self) -> AgentService:
        """The service of the configured workspace (for listing threads)."""
        if self._services:
            return next(iter(self._services.values()))
        return await self.service_for(self.settings.workspace)

    async def aclose(self) -> None:
        """Stop every run and close the services and the checkpointer."""
        await self._stack.aclose()
        self._services.clear()
