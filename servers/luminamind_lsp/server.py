"""The LuminaMind language server: agent commands in any LSP editor.

The agent stack (LangChain, LangGraph: about two thirds of the start-up CPU) is neither imported
nor opened before ``initialize`` is answered: after ``initialized`` it is imported in a worker
thread and opened in the background (`LuminaLanguageServer.warm_up`), so the editor gets its
answer at once and the first command rarely waits. Agent runs are asyncio tasks, so the server
keeps answering other requests while they work.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

import structlog
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException, PyglsError
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol

from luminamind import __version__
from luminamind.config import Settings, WorkspaceRootConfig, load_settings_tolerant
from luminamind.config_problems import InvalidSettingsError, SettingProblem

if TYPE_CHECKING:
    from luminamind.agent.events import Decision
    from luminamind.agent.service import AgentService

__all__ = ["LuminaLanguageServer"]

_log = structlog.get_logger(__name__)


class _Protocol(LanguageServerProtocol):
    """pygls' protocol, plus ``$/cancelRequest`` reaching commands that are already running.

    pygls cancels a request's future only before it starts; an agent run is long, so the server
    keeps the running task of each request id and cancels it here.
    """

    def _handle_cancel_notification(self, msg_id: Any) -> None:  # Any: JSON-RPC id
        # A cancel that crosses the reply is normal (VS Code cancels its code-action requests
        # when an applied edit changes the document): LSP says to ignore it, pygls warns.
        if msg_id in self._request_futures:
            super()._handle_cancel_notification(msg_id)
        else:
            _log.debug("lsp_cancel_after_reply", msg_id=msg_id)
        server = self._server
        if isinstance(server, LuminaLanguageServer):
            server.cancel_request(msg_id)


class LuminaLanguageServer(LanguageServer):
    """pygls server holding the agent service and the runs in flight."""

    def __init__(
        self, *, settings: Settings | None = None, problems: Sequence[SettingProblem] = ()
    ) -> None:
        super().__init__("luminamind", __version__, protocol_cls=_Protocol)
        self._base_settings = settings
        self.settings: Settings | None = settings
        # What is wrong with the configuration: shown after ``initialized``, and the answer to
        # every command until the user fixes it and restarts the server.
        self.problems: list[SettingProblem] = list(problems)
        self._stack = AsyncExitStack()
        self._service: AgentService | None = None
        self._service_lock = asyncio.Lock()
        self._request_tasks: dict[Any, asyncio.Task[Any]] = {}  # Any: JSON-RPC ids are int | str
        self._warm_up: asyncio.Task[None] | None = None
        # Decisions already made in a thread's pending batch (an edit the editor applied),
        # by action id: luminamind.approve / reject answer only the rest.
        self.settled: dict[str, dict[str, Decision]] = {}

    # -- workspace and agent -----------------------------------------------------------------

    def configure(self, params: lsp.InitializeParams) -> None:
        """Use the workspace folders from ``initialize``: the first is the root, others rw roots."""
        folders = [_uri_to_path(f.uri) for f in params.workspace_folders or []]
        if not folders and params.root_uri:
            folders = [_uri_to_path(params.root_uri)]
        folders = [f for f in folders if f is not None and f.is_dir()]
        if not folders:
            return
        extra = [WorkspaceRootConfig(path=f, mode="rw") for f in folders[1:]]
        base = self._base_settings
        if base is None:
            try:
                self.settings, self.problems = load_settings_tolerant(
                    workspace=folders[0], extra_roots=extra
                )
            except InvalidSettingsError as exc:  # not even the defaults validate
                self.problems = list(exc.problems)
        else:
            self.settings = base.model_copy(update={"workspace": folders[0], "extra_roots": extra})

    def current_settings(self) -> Settings:
        """The settings in force (loaded from the current directory before ``initialize``)."""
        if self.settings is None:
            self.settings, problems = load_settings_tolerant()
            self.problems = self.problems or problems
        return self.settings

    async def service(self) -> AgentService:
        """The agent service, opened on first use and kept until shutdown."""
        async with self._service_lock:
            if self._service is None:
                # In a thread: importing the agent stack takes seconds of CPU, and the loop
                # must keep answering requests meanwhile.
                service_cls = await asyncio.to_thread(_agent_service_class)
                self._service = await self._stack.enter_async_context(
                    service_cls.open(self.current_settings(), surface="lsp")
                )
            return self._service

    def start_warm_up(self) -> None:
        """Open the agent service in the background (after ``initialized``)."""
        if self._warm_up is None:
            self._warm_up = asyncio.get_running_loop().create_task(self._open_quietly())

    async def _open_quietly(self) -> None:
        try:
            await self.service()
        except Exception as exc:  # the first command opens it again and reports the error
            _log.warning("lsp_warm_up_failed", error=repr(exc))

    async def close(self) -> None:
        """Cancel runs and the warm-up, and close the agent service (checkpointer connections)."""
        if self._warm_up is not None and not self._warm_up.done():
            self._warm_up.cancel()
        for task in list(self._request_tasks.values()):
            task.cancel()
        await self._stack.aclose()
        self._service = None

    def default_thread(self, uri: str | None = None) -> str:
        """One thread per workspace folder: the folder holding ``uri``, else the root."""
        settings = self.current_settings()
        folder = settings.workspace
        path = _uri_to_path(uri) if uri else None
        if path is not None:
            for root in (settings.workspace, *(r.path for r in settings.extra_roots)):
                if path.is_relative_to(root):
                    folder = root
                    break
        digest = hashlib.sha256(str(folder).encode()).hexdigest()[:12]
        return f"lsp-{folder.name or 'root'}-{digest}"

    # -- request tracking ----------------------------------------------------------------------

    def track_request(self, task: asyncio.Task[Any]) -> Any:  # Any: JSON-RPC id
        """Remember the task serving the current request so ``$/cancelRequest`` can reach it."""
        msg_id = self.protocol.msg_id
        if msg_id is not None:
            self._request_tasks[msg_id] = task
            task.add_done_callback(lambda _: self._request_tasks.pop(msg_id, None))
        return msg_id

    def cancel_request(self, msg_id: Any) -> None:  # Any: JSON-RPC id
        """Cancel the running task of a request, if it is still running."""
        task = self._request_tasks.get(msg_id)
        if task is not None and not task.done():
            task.cancel()

    def report_server_error(
        self, error: Exception, source: type[PyglsError] | type[JsonRpcException]
    ) -> None:
        """Log errors instead of popping a message for each one (commands show their own)."""
        if isinstance(error, JsonRpcException):
            _log.warning("lsp_request_failed", error=error.message, code=error.code)
        else:
            _log.error(
                "lsp_server_error", error=repr(error), source=getattr(source, "__name__", "")
            )


def _agent_service_class() -> type[AgentService]:
    from luminamind.agent.service import AgentService

    return AgentService


def _uri_to_path(uri: str | None) -> Path | None:
    if not uri:
        return None
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    return Path(unquote(parsed.path)).resolve()
