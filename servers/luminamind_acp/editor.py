"""The ACP client as the `Editor` of a session's thread: ``fs/*`` for files, ``terminal/*``.

Used only for what the client advertised in ``initialize`` (``fs.readTextFile``,
``fs.writeTextFile``, ``terminal``). The tools confine every path to the workspace before it
gets here. A failed ``fs/write_text_file`` is the tool's error: nothing is written to disk
behind the editor's back.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import structlog
from acp.exceptions import RequestError
from acp.interfaces import Client
from acp.schema import ClientCapabilities, EnvVariable

from luminamind.errors import ToolExecutionError
from luminamind.tools.editor import EditorCommandResult

__all__ = ["AcpEditor"]

_log = structlog.get_logger(__name__)

# How long releasing a terminal may take once the command is over (or was stopped).
_RELEASE_SECONDS = 5.0


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RequestError):
        data = exc.data
        detail = ""
        if isinstance(data, dict):
            detail = str(data.get("details") or data.get("message") or "")
        return f"{exc}{': ' + detail if detail else ''} (code {exc.code})"
    return str(exc) or type(exc).__name__


class AcpEditor:
    """The client of one ACP session, used by that session's thread."""

    def __init__(
        self,
        client: Client,
        session_id: str,
        capabilities: ClientCapabilities | None,
        *,
        on_terminal: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self._client = client
        self._session_id = session_id
        fs = capabilities.fs if capabilities is not None else None
        self._reads = bool(fs and fs.read_text_file)
        self._writes = bool(fs and fs.write_text_file)
        self._terminal = bool(capabilities is not None and capabilities.terminal)
        self._on_terminal = on_terminal

    @property
    def reads(self) -> bool:
        return self._reads

    @property
    def writes(self) -> bool:
        return self._writes

    @property
    def runs_commands(self) -> bool:
        return self._terminal

    async def read_text(self, path: Path) -> str:
        try:
            response = await self._client.read_text_file(
                session_id=self._session_id, path=str(path)
            )
        except (RequestError, ConnectionError) as exc:
            raise ToolExecutionError(
                f"the editor could not read '{path}': {_reason(exc)}; check that the file exists"
            ) from exc
        return response.content

    async def write_text(self, path: Path, text: str) -> None:
        try:
            await self._client.write_text_file(
                session_id=self._session_id, path=str(path), content=text
            )
        except (RequestError, ConnectionError) as exc:
            _log.warning("acp_write_failed", path=str(path), error=_reason(exc))
            raise ToolExecutionError(
                f"the editor refused to write '{path}': {_reason(exc)}; nothing was written "
                "(not to disk either). Ask the user why, or try again"
            ) from exc

    async def run_command(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: dict[str, str],
        time_limit: float,
        max_output_bytes: int,
    ) -> EditorCommandResult:
        started = time.perf_counter()
        try:
            created = await self._client.create_terminal(
                session_id=self._session_id,
                command=argv[0],
                args=list(argv[1:]),
                cwd=str(cwd),
                env=[EnvVariable(name=k, value=v) for k, v in env.items()],
                output_byte_limit=max_output_bytes,
            )
        except (RequestError, ConnectionError) as exc:
            raise ToolExecutionError(
                f"shell: the editor could not start the command: {_reason(exc)}"
            ) from exc
        terminal_id = created.terminal_id
        try:
            if self._on_terminal is not None:
                await self._on_terminal(terminal_id)
            timed_out = False
            try:
                async with asyncio.timeout(time_limit):
                    await self._client.wait_for_terminal_exit(
                        session_id=self._session_id, terminal_id=terminal_id
                    )
            except TimeoutError:
                timed_out = True
                await self._client.kill_terminal(
                    session_id=self._session_id, terminal_id=terminal_id
                )
            output = await self._client.terminal_output(
                session_id=self._session_id, terminal_id=terminal_id
            )
        except (RequestError, ConnectionError) as exc:
            raise ToolExecutionError(
                f"shell: the editor's terminal failed: {_reason(exc)}"
            ) from exc
        finally:
            # Shielded: a cancelled run must still free the editor's terminal.
            with contextlib.suppress(Exception):
                await asyncio.shield(self._release(terminal_id))
        status = output.exit_status
        return EditorCommandResult(
            output=output.output,
            truncated=output.truncated,
            exit_code=status.exit_code if status is not None else None,
            signal=status.signal if status is not None else None,
            timed_out=timed_out,
            duration_s=time.perf_counter() - started,
        )

    async def _release(self, terminal_id: str) -> None:
        async with asyncio.timeout(_RELEASE_SECONDS):
            await self._client.release_terminal(
                session_id=self._session_id, terminal_id=terminal_id
            )
