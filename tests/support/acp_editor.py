"""An ACP client for the tests: the SDK's client side, driving ``luminamind acp`` over stdio.

`EditorClient` is a real implementation of the SDK's `acp.interfaces.Client`: it records every
``session/update``, answers ``session/request_permission`` as the test says, serves
``fs/read_text_file`` from its own buffers (falling back to the disk, as an editor does for
files it has not opened) and takes ``fs/write_text_file`` into its buffers, never the disk.
Nothing is mocked: the agent is a real subprocess talking to the scripted LLM over HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from acp import PROTOCOL_VERSION, RequestError, spawn_agent_process
from acp.client.connection import ClientSideConnection
from acp.schema import (
    AllowedOutcome,
    ClientCapabilities,
    CreateTerminalResponse,
    DeniedOutcome,
    EnvVariable,
    FileSystemCapabilities,
    Implementation,
    PermissionOption,
    ReadTextFileResponse,
    ReleaseTerminalResponse,
    RequestPermissionResponse,
    TerminalExitStatus,
    TerminalOutputResponse,
    ToolCallUpdate,
    WaitForTerminalExitResponse,
    WriteTextFileResponse,
)

from tests.support.server_home import server_env

BIN = Path(sys.executable).parent / "luminamind"


@dataclass
class EditorClient:
    """What an editor does for the agent; the test sets ``answer`` and reads what happened.

    ``answer``: the option id to pick (``allow_once``...), ``"cancelled"`` for a cancelled
    request, or ``"never"`` to leave the request unanswered. ``answers``, when given, are used
    first, one per request (a hunk-by-hunk review asks once per hunk).
    """

    answer: str = "allow_once"
    answers: list[str] = field(default_factory=list)
    buffers: dict[str, str] = field(default_factory=dict)
    fail_writes: bool = False
    updates: list[tuple[str, Any]] = field(default_factory=list)  # Any: update models
    permissions: list[ToolCallUpdate] = field(default_factory=list)
    options: list[list[str]] = field(default_factory=list)
    writes: list[tuple[str, str]] = field(default_factory=list)
    reads: list[str] = field(default_factory=list)
    asked: asyncio.Event = field(default_factory=asyncio.Event)
    terminals: dict[str, tuple[asyncio.subprocess.Process, list[str]]] = field(default_factory=dict)
    commands: list[list[str]] = field(default_factory=list)

    async def request_permission(
        self, session_id: str, tool_call: ToolCallUpdate, options: list[PermissionOption], **_: Any
    ) -> RequestPermissionResponse:
        self.permissions.append(tool_call)
        self.options.append([o.option_id for o in options])
        self.asked.set()
        answer = self.answers.pop(0) if self.answers else self.answer
        if answer == "never":
            await asyncio.Event().wait()
        if answer == "cancelled":
            return RequestPermissionResponse(outcome=DeniedOutcome(outcome="cancelled"))
        return RequestPermissionResponse(
            outcome=AllowedOutcome(outcome="selected", option_id=answer)
        )

    async def session_update(self, session_id: str, update: Any, **_: Any) -> None:
        self.updates.append((session_id, update))

    async def read_text_file(
        self,
        session_id: str,
        path: str,
        line: int | None = None,
        limit: int | None = None,
        **_: Any,
    ) -> ReadTextFileResponse:
        self.reads.append(path)
        if path in self.buffers:
            return ReadTextFileResponse(content=self.buffers[path])
        try:
            return ReadTextFileResponse(content=Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RequestError(-32002, "Resource not found", {"uri": path}) from None

    async def write_text_file(
        self, session_id: str, path: str, content: str, **_: Any
    ) -> WriteTextFileResponse:
        if self.fail_writes:
            raise RequestError(-32603, "Internal error", {"details": "the buffer is read-only"})
        self.writes.append((path, content))
        self.buffers[path] = content
        return WriteTextFileResponse()

    # A terminal as an editor runs one: a real process, its output collected for terminal/output.
    async def create_terminal(
        self,
        session_id: str,
        command: str,
        args: list[str] | None = None,
        env: list[EnvVariable] | None = None,
        cwd: str | None = None,
        output_byte_limit: int | None = None,
        **_: Any,
    ) -> CreateTerminalResponse:
        argv = [command, *(args or [])]
        self.commands.append(argv)
        process = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env={v.name: v.value for v in env or []},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        terminal_id = f"term-{len(self.terminals) + 1}"
        chunks: list[str] = []
        self.terminals[terminal_id] = (process, chunks)
        return CreateTerminalResponse(terminal_id=terminal_id)

    async def wait_for_terminal_exit(
        self, session_id: str, terminal_id: str, **_: Any
    ) -> WaitForTerminalExitResponse:
        process, chunks = self.terminals[terminal_id]
        assert process.stdout is not None
        chunks.append((await process.stdout.read()).decode())
        return WaitForTerminalExitResponse(exit_code=await process.wait())

    async def terminal_output(
        self, session_id: str, terminal_id: str, **_: Any
    ) -> TerminalOutputResponse:
        process, chunks = self.terminals[terminal_id]
        status = (
            TerminalExitStatus(exit_code=process.returncode)
            if process.returncode is not None
            else None
        )
        return TerminalOutputResponse(output="".join(chunks), truncated=False, exit_status=status)

    async def release_terminal(
        self, session_id: str, terminal_id: str, **_: Any
    ) -> ReleaseTerminalResponse:
        process, _chunks = self.terminals[terminal_id]
        if process.returncode is None:
            process.kill()
            await process.wait()
        return ReleaseTerminalResponse()

    def of_kind(self, kind: str, session_id: str | None = None) -> list[Any]:
        """The updates of one ``sessionUpdate`` kind, in order."""
        return [
            u
            for sid, u in self.updates
            if u.session_update == kind and (session_id is None or sid == session_id)
        ]

    def text(self, session_id: str | None = None) -> str:
        """Everything the agent said (message chunks joined)."""
        return "".join(u.content.text for u in self.of_kind("agent_message_chunk", session_id))


@dataclass
class Agent:
    """A running ``luminamind acp`` and the client connection to it."""

    conn: ClientSideConnection
    process: asyncio.subprocess.Process
    client: EditorClient
    log: Path

    def stderr(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@contextlib.asynccontextmanager
async def start_agent(
    workspace: Path,
    home: Path,
    client: EditorClient,
    *,
    env: Mapping[str, str] | None = None,
    fs: bool = True,
    terminal: bool = False,
    initialize: bool = True,
) -> AsyncIterator[Agent]:
    """Spawn ``luminamind acp`` and (by default) initialize it, offering ``fs/*`` when ``fs``."""
    log = home / f"acp-{os.getpid()}-{id(client)}.log"
    with log.open("wb") as err:
        async with spawn_agent_process(
            client,  # type: ignore[arg-type]  # implements the methods the tests need
            str(BIN),
            "acp",
            env=server_env(home, env),
            cwd=workspace,
            transport_kwargs={"stderr": err},
        ) as (conn, process):
            agent = Agent(conn=conn, process=process, client=client, log=log)
            if initialize:
                await conn.initialize(
                    protocol_version=PROTOCOL_VERSION,
                    client_capabilities=ClientCapabilities(
                        fs=FileSystemCapabilities(read_text_file=fs, write_text_file=fs),
                        terminal=terminal,
                    ),
                    client_info=Implementation(name="tests", version="1"),
                )
            yield agent
