"""LuminaMind as an Agent Client Protocol agent: Zed, JetBrains IDEs, Neovim, Emacs (stdio)."""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import threading
from collections.abc import Sequence
from typing import cast

import structlog
from acp.agent.connection import AgentSideConnection
from acp.core import DEFAULT_STDIO_BUFFER_LIMIT_BYTES
from acp.interfaces import Agent
from acp.stdio import stdio_streams
from acp.task import MessageSender, TaskSupervisor

from luminamind.config import Settings
from luminamind.config_problems import SettingProblem
from luminamind_acp import transport as ndjson
from luminamind_acp.agent import LuminaAcpAgent

__all__ = ["LuminaAcpAgent", "serve", "serve_stdio"]


async def serve(
    settings: Settings,
    problems: Sequence[SettingProblem],
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
) -> None:
    """Serve one client on the given streams until it closes them."""
    structlog.contextvars.bind_contextvars(surface="acp")
    agent = LuminaAcpAgent(settings, problems)
    tasks = TaskSupervisor(source="luminamind-acp")
    transport = ndjson.CheckedNdjsonTransport(reader, MessageSender(writer, tasks))
    # cast: the SDK's Agent protocol lists its unstable methods too (fork, resume, close...);
    # its router answers "method not found" for those this agent does not implement.
    conn = AgentSideConnection(cast(Agent, agent), transport, listening=False)
    try:
        await conn.listen()
    finally:
        await agent.aclose()
        await conn.close()
        await tasks.shutdown()


def serve_stdio(settings: Settings, problems: Sequence[SettingProblem] = ()) -> None:
    """Serve ACP on stdin/stdout (editors start ``luminamind acp``)."""

    async def main() -> None:
        reader, writer = await stdio_streams(limit=DEFAULT_STDIO_BUFFER_LIMIT_BYTES)
        await serve(settings, problems, reader, writer)

    # Not asyncio.run: it waits for the worker threads, and one may still be importing or
    # building the agent stack (seconds under load) when the editor closes stdin. Editors give
    # an agent about 2 s to exit before they kill it, and that thread has nothing to save.
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(main())
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()
    sys.stdout.flush()
    sys.stderr.flush()
    if threading.active_count() > 1:
        os._exit(0)  # sessions, services and the checkpointer are closed; only imports remain
    # The interpreter's teardown would run collections over the agent stack's whole heap (2 s on
    # a busy machine, measured): frozen objects are skipped.
    gc.disable()
    gc.freeze()
