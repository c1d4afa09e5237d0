"""The ACP agent: ``initialize``, ``session/*`` and ``session/prompt`` over `AgentService`.

Bad input gets a JSON-RPC error that says what to do, and the connection keeps serving:
unknown session ids, a prompt for a session already answering one, an unknown mode, a ``cwd``
that is not an absolute directory, a ``session/list`` cursor we did not hand out. (Malformed
JSON-RPC is answered by `luminamind_acp.transport`.)
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import structlog
from acp import PROTOCOL_VERSION
from acp.exceptions import RequestError
from acp.interfaces import Client
from acp.schema import (
    AgentCapabilities,
    AudioContentBlock,
    AuthenticateResponse,
    ClientCapabilities,
    CurrentModeUpdate,
    EmbeddedResourceContentBlock,
    HttpMcpServer,
    ImageContentBlock,
    Implementation,
    InitializeResponse,
    ListSessionsResponse,
    LoadSessionResponse,
    McpCapabilities,
    McpServerStdio,
    NewSessionResponse,
    PromptCapabilities,
    PromptResponse,
    ResourceContentBlock,
    SessionAdditionalDirectoriesCapabilities,
    SessionCapabilities,
    SessionInfo,
    SessionListCapabilities,
    SetSessionModeResponse,
    SseMcpServer,
    TextContentBlock,
)

from luminamind import __version__
from luminamind.agent.thread_tools import ThreadToolRegistry
from luminamind.config import Settings
from luminamind.config_problems import SettingProblem, blocking_problems, problems_message
from luminamind.errors import LuminaError
from luminamind.observability.metrics import get_metrics
from luminamind.tools.editor import EditorRegistry
from luminamind_acp.commands import commands_update, run_command
from luminamind_acp.editor import AcpEditor
from luminamind_acp.history import replay_updates
from luminamind_acp.mcp_servers import McpConnections
from luminamind_acp.modes import is_mode, mode_state
from luminamind_acp.pool import ServicePool
from luminamind_acp.prompt import prompt_text
from luminamind_acp.session import AcpSession

__all__ = ["LuminaAcpAgent"]

_log = structlog.get_logger(__name__)

# Agent-defined JSON-RPC codes (the spec's -32002 for a resource that does not exist).
NOT_FOUND = -32002
INVALID_PARAMS = -32602
INVALID_REQUEST = -32600
_PAGE = 50

McpServer = HttpMcpServer | SseMcpServer | McpServerStdio | Any  # Any: the SDK's unstable kinds
PromptBlock = (
    TextContentBlock
    | ImageContentBlock
    | AudioContentBlock
    | ResourceContentBlock
    | EmbeddedResourceContentBlock
)


def _invalid(message: str, **data: Any) -> RequestError:  # Any: JSON details
    return RequestError(INVALID_PARAMS, message, data or None)


class LuminaAcpAgent:
    """Implements the SDK's `acp.interfaces.Agent` for one client connection."""

    def __init__(self, settings: Settings, problems: Sequence[SettingProblem] = ()) -> None:
        self.settings = settings
        self.problems = list(problems)
        self.editors = EditorRegistry()
        self.thread_tools = ThreadToolRegistry()  # the editor's MCP servers, per session
        self.pool = ServicePool(settings, self.editors, self.thread_tools)
        self.sessions: dict[str, AcpSession] = {}
        self._client: Client | None = None
        self._capabilities: ClientCapabilities | None = None
        self._warm_up: asyncio.Task[None] | None = None

    def on_connect(self, conn: Client) -> None:
        """The SDK hands over the client side of the connection."""
        self._client = conn

    @property
    def client(self) -> Client:
        assert self._client is not None, "on_connect comes first"
        return self._client

    async def aclose(self) -> None:
        """Cancel the turns in flight and close the services."""
        if self._warm_up is not None and not self._warm_up.done():
            self._warm_up.cancel()
        for session in self.sessions.values():
            if session.task is not None:
                session.task.cancel()
        await asyncio.gather(*(s.close_mcp() for s in self.sessions.values()))
        await self.pool.aclose()

    # -- lifecycle ---------------------------------------------------------------------------

    async def initialize(
        self,
        protocol_version: int,
        client_capabilities: ClientCapabilities | None = None,
        client_info: Implementation | None = None,
        **kwargs: Any,  # Any: _meta fields
    ) -> InitializeResponse:
        """Agree on the protocol and say what this agent implements."""
        started = time.perf_counter()
        self._capabilities = client_capabilities
        _log.info(
            "acp_initialized",
            client=client_info.name if client_info else None,
            protocol=protocol_version,
            fs_read=bool(client_capabilities and client_capabilities.fs.read_text_file)
            if client_capabilities and client_capabilities.fs
            else False,
            terminal=bool(client_capabilities and client_capabilities.terminal),
        )
        response = InitializeResponse(
            protocol_version=min(protocol_version, PROTOCOL_VERSION),
            agent_capabilities=AgentCapabilities(
                load_session=True,
                prompt_capabilities=PromptCapabilities(
                    image=False, audio=False, embedded_context=True
                ),
                # The editor's stdio and streamable HTTP servers are connected per session;
                # SSE is deprecated in MCP and not offered.
                mcp_capabilities=McpCapabilities(http=True, sse=False),
                session_capabilities=SessionCapabilities(
                    list=SessionListCapabilities(),
                    additional_directories=SessionAdditionalDirectoriesCapabilities(),
                ),
            ),
            agent_info=Implementation(name="luminamind", title="LuminaMind", version=__version__),
            auth_methods=[],
        )
        if self._warm_up is None:
            # The agent stack takes seconds to import and build: start now, in the background,
            # so the editor's first session/new and prompt rarely wait for it.
            self._warm_up = asyncio.get_running_loop().create_task(self._warm())
        _measure("initialize", "ok", started)
        return response

    async def _warm(self) -> None:
        try:
            service = await self.pool.default()
            await service.aagent()
        except Exception as exc:  # the first session or prompt reports it
            _log.warning("acp_warm_up_failed", error=repr(exc))

    async def authenticate(self, method_id: str, **kwargs: Any) -> AuthenticateResponse | None:
        """No authentication: the agent runs as the user, with the user's configuration."""
        raise _invalid(f"unknown authentication method '{method_id}': none is needed")

    def _workspace(self, cwd: str) -> Path:
        path = Path(cwd)
        if not path.is_absolute():
            raise _invalid(
                f"cwd '{cwd}' is not an absolute path; send the project's folder", cwd=cwd
            )
        if not path.is_dir():
            raise _invalid(f"cwd '{cwd}' is not a directory; send the project folder", cwd=cwd)
        return path.resolve()

    def _extra(self, workspace: Path, directories: Sequence[str] | None) -> tuple[Path, ...]:
        """The additional roots (``additionalDirectories``): absolute directories, in order."""
        extra: list[Path] = []
        for directory in directories or ():
            path = Path(directory)
            if not path.is_absolute() or not path.is_dir():
                raise _invalid(
                    f"additional directory '{directory}' is not an absolute path to a directory",
                    additionalDirectories=list(directories or ()),
                )
            resolved = path.resolve()
            if resolved != workspace and resolved not in extra:
                extra.append(resolved)
        return tuple(extra)

    async def _open(
        self,
        session_id: str,
        thread_id: str,
        cwd: str,
        additional_directories: Sequence[str] | None = None,
    ) -> AcpSession:
        workspace = self._workspace(cwd)
        extra = self._extra(workspace, additional_directories)
        previous = self.sessions.pop(session_id, None)
        if previous is not None:  # loaded again: the old connections go, the new ones come
            await previous.close_mcp()
        try:
            service = await self.pool.service_for(workspace, extra)
        except LuminaError as exc:
            raise RequestError(-32603, exc.message, {"code": exc.code}) from exc
        session = AcpSession(
            session_id=session_id,
            thread_id=thread_id,
            cwd=workspace,
            service=service,
            client=self.client,
        )
        editor = AcpEditor(
            self.client, session_id, self._capabilities, on_terminal=session.terminal_created
        )
        # Its fs/write_text_file changes buffers, not the disk: recorded for rewind all the same.
        self.editors.attach(thread_id, service.recording_editor(thread_id, editor))
        self.sessions[session_id] = session
        return session

    async def _connect_mcp(self, session: AcpSession, servers: Sequence[McpServer] | None) -> None:
        """Connect the editor's MCP servers and lend their tools to the session's thread."""
        if not servers:
            return
        connections = McpConnections(session.cwd)
        session.mcp = connections
        problems = await connections.connect(servers)
        self.thread_tools.attach(session.thread_id, connections.tools)
        if problems:  # the session works with the servers that did connect
            text = "\n".join(f"- {p}" for p in problems)
            self._later(
                session.message(f"(Some of the editor's MCP servers are left out:\n{text})\n")
            )

    def _later(self, coro: Any) -> None:  # Any: a coroutine sent after the response
        # Created now, run after the response is queued: the editor knows the session by then.
        task = asyncio.get_running_loop().create_task(coro)
        task.add_done_callback(_log_failure)

    async def new_session(
        self,
        cwd: str,
        additional_directories: list[str] | None = None,
        mcp_servers: list[McpServer] | None = None,
        **kwargs: Any,  # Any: _meta fields
    ) -> NewSessionResponse:
        """A new session (and thread) in the ``cwd`` workspace."""
        started = time.perf_counter()
        session_id = uuid.uuid4().hex[:16]
        session = await self._open(session_id, session_id, cwd, additional_directories)
        self._later(session.send(commands_update()))
        await self._connect_mcp(session, mcp_servers)
        if self.problems:
            self._later(session.message(problems_message(self.problems) + "\n"))
        _measure("session/new", "ok", started)
        return NewSessionResponse(session_id=session_id, modes=mode_state(session.mode))

    async def load_session(
        self,
        cwd: str,
        session_id: str,
        mcp_servers: list[McpServer] | None = None,
        additional_directories: list[str] | None = None,
        **kwargs: Any,  # Any: _meta fields
    ) -> LoadSessionResponse | None:
        """Open an existing thread (from any surface) and replay it."""
        started = time.perf_counter()
        existing = self.sessions.get(session_id)
        if existing is not None and existing.running:
            raise RequestError(
                INVALID_REQUEST,
                f"session '{session_id}' is answering a prompt; cancel it before loading it again",
            )
        workspace = self._workspace(cwd)
        service = await self.pool.service_for(
            workspace, self._extra(workspace, additional_directories)
        )
        if await service.store.find(session_id) is None:
            _measure("session/load", "not_found", started)
            raise RequestError(
                NOT_FOUND,
                f"unknown session '{session_id}': no thread has this id; list them with "
                "session/list (or `luminamind threads`)",
                {"sessionId": session_id},
            )
        session = await self._open(session_id, session_id, cwd, additional_directories)
        try:
            state = await service.state(session_id)
        except LuminaError as exc:
            raise RequestError(-32603, exc.message, {"code": exc.code}) from exc
        for update in replay_updates(state, session.view):
            await session.send(update)
        session.awaiting = bool(state.pending_approvals)
        self._later(session.send(commands_update()))
        await self._connect_mcp(session, mcp_servers)
        _measure("session/load", "ok", started)
        return LoadSessionResponse(modes=mode_state(session.mode))

    async def list_sessions(
        self, cwd: str | None = None, cursor: str | None = None, **kwargs: Any
    ) -> ListSessionsResponse:
        """Threads from every surface (in ``cwd`` when given), most recent first, 50 a page."""
        started = time.perf_counter()
        offset = 0
        if cursor is not None:
            if not cursor.isdigit():
                raise _invalid(
                    f"cursor '{cursor}' was not handed out by session/list", cursor=cursor
                )
            offset = int(cursor)
        service = await self.pool.default()
        threads = await service.threads()
        if cwd is not None:
            workspace = str(self._workspace(cwd))
            threads = [t for t in threads if t.workspace == workspace]
        page = threads[offset : offset + _PAGE]
        more = offset + _PAGE < len(threads)
        _measure("session/list", "ok", started)
        return ListSessionsResponse(
            sessions=[
                SessionInfo(
                    session_id=t.thread_id,
                    cwd=t.workspace,
                    title=t.title,
                    updated_at=t.updated_at.isoformat(),
                )
                for t in page
            ],
            next_cursor=str(offset + _PAGE) if more else None,
        )

    def _session(self, session_id: str) -> AcpSession:
        session = self.sessions.get(session_id)
        if session is None:
            raise RequestError(
                NOT_FOUND,
                f"unknown session '{session_id}'; create one with session/new or open a thread "
                "with session/load",
                {"sessionId": session_id},
            )
        return session

    async def set_session_mode(
        self, session_id: str, mode_id: str, **kwargs: Any
    ) -> SetSessionModeResponse | None:
        """Switch between asking, accepting edits and plan-only (read-only)."""
        session = self._session(session_id)
        if not is_mode(mode_id):
            raise _invalid(
                f"unknown mode '{mode_id}'; the modes are ask, accept_edits and plan",
                modeId=mode_id,
            )
        session.mode = mode_id  # type: ignore[assignment]  # checked by is_mode
        self._later(
            session.send(
                CurrentModeUpdate(session_update="current_mode_update", current_mode_id=mode_id)
            )
        )
        return SetSessionModeResponse()

    # -- turns -------------------------------------------------------------------------------

    async def prompt(
        self, prompt: list[PromptBlock], session_id: str, **kwargs: Any
    ) -> PromptResponse:
        """Run one turn; stops with ``end_turn``, ``cancelled`` or ``max_turn_requests``."""
        started = time.perf_counter()
        session = self._session(session_id)
        if session.running:
            _measure("session/prompt", "busy", started)
            raise RequestError(
                INVALID_REQUEST,
                f"session '{session_id}' is already answering a prompt; wait for it to end or "
                "send session/cancel",
                {"sessionId": session_id},
            )
        session.task = asyncio.current_task()
        text = prompt_text(prompt)
        try:
            if await run_command(session, text.strip()):
                _measure("session/prompt", "ok", started)
                return PromptResponse(stop_reason="end_turn")
            blocking = blocking_problems(self.problems, tool=None)
            if blocking:  # the agent would run with defaults in place of the user's settings
                await session.message(problems_message(blocking))
                _measure("session/prompt", "error", started)
                return PromptResponse(stop_reason="end_turn")
            outcome = await session.turn(text)
        except asyncio.CancelledError:
            if not session.cancel_requested:
                raise  # the connection is closing
            session.awaiting = True  # a permission request may have been left unanswered
            _measure("session/prompt", "cancelled", started)
            return PromptResponse(stop_reason="cancelled")
        finally:
            session.task = None
        if session.cancel_requested or outcome.status == "cancelled":
            _measure("session/prompt", "cancelled", started)
            return PromptResponse(stop_reason="cancelled")
        if outcome.status == "error":
            _measure("session/prompt", outcome.error_code or "error", started)
            await session.message(f"\n\nError ({outcome.error_code}): {outcome.error}")
            if outcome.error_code == "step_limit":
                return PromptResponse(stop_reason="max_turn_requests")
            return PromptResponse(stop_reason="end_turn")
        _measure("session/prompt", "ok", started)
        return PromptResponse(stop_reason="end_turn")

    async def cancel(self, session_id: str, **kwargs: Any) -> None:
        """Stop the session's turn at once (a notification: unknown ids are only logged)."""
        session = self.sessions.get(session_id)
        if session is None:
            _log.warning("acp_cancel_unknown_session", session_id=session_id[:64])
            return
        if session.task is not None and not session.task.done():
            session.cancel_requested = True
            session.task.cancel()

    async def ext_method(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """No extension methods."""
        raise RequestError(-32601, f"unknown method '_{method}'", {"method": f"_{method}"})

    async def ext_notification(self, method: str, params: dict[str, Any]) -> None:
        """Extension notifications are ignored, as the spec asks."""


def _measure(method: str, outcome: str, started: float) -> None:
    metrics = get_metrics()
    metrics.requests_total.labels("acp", outcome if outcome in _OUTCOMES else "error").inc()
    metrics.request_duration_seconds.labels("acp").observe(time.perf_counter() - started)
    _log.info(
        "acp_request_finished",
        method=method,
        outcome=outcome,
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
    )


_OUTCOMES = {"ok", "busy", "cancelled", "not_found", "error"}


def _log_failure(task: asyncio.Task[Any]) -> None:  # Any: the coroutine's result
    if not task.cancelled() and task.exception() is not None:
        _log.warning("acp_update_failed", error=repr(task.exception()))
