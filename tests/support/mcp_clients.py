"""Helpers for the MCP server tests: server processes, client sessions, expectations.

The HTTP server runs as a subprocess; stdio sessions spawn ``luminamind mcp`` through the SDK's
``stdio_client``. Nothing is mocked.
"""

from __future__ import annotations

import contextlib
import functools
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
import httpx2
import mcp_types as types
from jsonschema import Draft202012Validator
from mcp.client.session import (
    ClientRequestContext,
    ClientSession,
    ElicitationFnT,
    ListRootsFnT,
    LoggingFnT,
)
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from luminamind.tools.approval import ApprovalPolicy
from luminamind.tools.catalog import SEED_TOOL_NAMES, build_default_registry
from luminamind.tools.registry import ToolRegistry
from tests.support.server_home import server_env

BIN = Path(sys.executable).parent / "luminamind"
TOKEN = "test-token-0123456789abcdef"


RAW_INITIALIZE: dict[str, Any] = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"},
    },
}
"""An ``initialize`` request as a client without the SDK writes it (raw stdio or HTTP tests)."""


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def populate(workspace: Path) -> None:
    """The files every test reads: text, nested code, a 10 KB file."""
    (workspace / "hello.txt").write_text("hello\nworld\n", encoding="utf-8")
    (workspace / "src").mkdir()
    (workspace / "src" / "app.py").write_text("def greet():\n    return 'hi'\n", encoding="utf-8")
    (workspace / "src" / "util.py").write_text("# TODO: more\nVALUE = 42\n", encoding="utf-8")
    (workspace / "big.txt").write_text("x" * 10_000, encoding="utf-8")


@dataclass
class HttpServer:
    """A running ``luminamind mcp --http`` process."""

    process: subprocess.Popen[bytes]
    port: int
    workspace: Path
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base}/mcp"

    def stderr(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def start_http_server(
    workspace: Path,
    home: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    port: int | None = None,
) -> HttpServer:
    """Start ``luminamind mcp --http`` and wait until ``/healthz`` answers."""
    port = port or free_port()
    log = home / f"server-{port}.log"
    with log.open("wb") as err:
        process = subprocess.Popen(
            [str(BIN), "mcp", "--http", "--port", str(port), "--workspace", str(workspace), *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=server_env(home, env),
            cwd=workspace,
        )
    server = HttpServer(process=process, port=port, workspace=workspace, log=log)
    # Generous: a busy CI runner starting several replicas at once is slow, a healthy one is not.
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.stderr()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.base}/healthz", timeout=1).status_code == 200:
                return server
        time.sleep(0.05)
    stop(process)
    raise RuntimeError(f"server did not start:\n{server.stderr()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a server we started (SIGTERM, then SIGKILL)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@contextlib.asynccontextmanager
async def http_session(
    url: str,
    *,
    token: str | None = TOKEN,
    elicitation: ElicitationFnT | None = None,
    roots: ListRootsFnT | None = None,
    logging: LoggingFnT | None = None,
) -> AsyncIterator[ClientSession]:
    """An initialized client session over streamable HTTP."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(60.0)) as client,
        streamable_http_client(url, http_client=client) as (read, write),
        ClientSession(
            read,
            write,
            elicitation_callback=elicitation,
            list_roots_callback=roots,
            logging_callback=logging,
        ) as s,
    ):
        await s.initialize()
        yield s


@contextlib.asynccontextmanager
async def stdio_session(
    workspace: Path,
    home: Path,
    *,
    elicitation: ElicitationFnT | None = None,
    roots: ListRootsFnT | None = None,
    logging: LoggingFnT | None = None,
    env: Mapping[str, str] | None = None,
    errlog: Any = None,  # Any: a text file for the server's stderr
) -> AsyncIterator[ClientSession]:
    """An initialized client session with a fresh ``luminamind mcp`` over stdio."""
    params = StdioServerParameters(
        command=str(BIN),
        args=["mcp", "--workspace", str(workspace)],
        env=server_env(home, env),
        cwd=workspace,
    )
    log = errlog or (home / "stdio.log").open("a", encoding="utf-8")
    try:
        async with (
            stdio_client(params, errlog=log) as (read, write),
            ClientSession(
                read,
                write,
                elicitation_callback=elicitation,
                list_roots_callback=roots,
                logging_callback=logging,
            ) as session,
        ):
            await session.initialize()
            yield session
    finally:
        if errlog is None:
            log.close()


@functools.cache
def registry() -> ToolRegistry:
    """The built-in registry, as the server builds it (built once, on first use)."""
    return build_default_registry()


# Arguments for each read-only tool that stays inside the machine, against `populate()`.
READ_ONLY_CALLS: dict[str, dict[str, Any]] = {  # Any: JSON arguments
    "read_file": {"path": "hello.txt"},
    "list_directory": {"path": "."},
    "file_search": {"pattern": "*.py"},
    "grep_search": {"pattern": "TODO"},
    "tree_view": {"path": "."},
    "os_info": {},
}


def check_tool_listing(tools: list[types.Tool]) -> None:
    """Every registry tool, once, with the registry's schemas and annotations."""
    names = [t.name for t in tools]
    assert len(names) == len(set(names)), "no tool is published twice"
    assert set(SEED_TOOL_NAMES) <= set(names)
    policy = ApprovalPolicy()
    by_name = {t.name: t for t in tools}
    for spec in registry():
        tool = by_name.pop(spec.name)
        Draft202012Validator.check_schema(tool.input_schema)
        assert tool.output_schema is not None
        Draft202012Validator.check_schema(tool.output_schema)
        assert tool.input_schema["type"] == tool.output_schema["type"] == "object"
        assert tool.input_schema == spec.input_schema(), spec.name
        assert tool.output_schema == spec.output_schema(), spec.name
        assert tool.description is not None
        assert tool.description.startswith(spec.description), spec.name
        ann = tool.annotations
        assert ann is not None
        assert ann.read_only_hint is spec.annotations.read_only, spec.name
        assert ann.destructive_hint is spec.annotations.destructive, spec.name
        assert ann.idempotent_hint is spec.annotations.idempotent, spec.name
        assert ann.open_world_hint is spec.annotations.open_world, spec.name
        if policy.mode_for(spec) == "ask":
            assert "Needs approval" in tool.description, spec.name
            assert "unattended_approval" in tool.description, spec.name
    # Anything left is the agent's own tools, never a second copy of a registry tool.
    assert set(by_name) <= {
        "run_task",
        "resume_task",
        "get_thread",
        "list_threads",
        "rewind_thread",
    }


def check_read_only_result(name: str, result: types.CallToolResult) -> None:
    """A successful structured result that the tool's own result model accepts."""
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    registry().get(name).result_model.model_validate(result.structured_content)
    text = result.content[0]
    assert isinstance(text, types.TextContent)
    assert text.text.startswith("{")


def text_of(result: types.CallToolResult) -> str:
    """The text of a result's first content block."""
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return block.text


class ScriptedUser:
    """An elicitation callback answering with a fixed action and form, recording what it was shown.

    ``content`` is the form an ``accept`` sends (``{}`` when not given).
    """

    def __init__(
        self,
        action: Literal["accept", "decline", "cancel"],
        content: dict[str, Any] | None = None,  # Any: JSON
    ) -> None:
        self.action: Literal["accept", "decline", "cancel"] = action
        self.content = content
        self.messages: list[str] = []
        self.schemas: list[dict[str, Any]] = []  # Any: JSON Schema

    async def __call__(
        self, context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult:
        del context
        assert isinstance(params, types.ElicitRequestFormParams)
        self.messages.append(params.message)
        self.schemas.append(params.requested_schema)
        if self.action != "accept":
            return types.ElicitResult(action=self.action)
        return types.ElicitResult(action="accept", content=self.content or {})


class ClientRoots:
    """A list_roots callback offering ``paths`` as file:// roots (change them at will)."""

    def __init__(self, *paths: Path) -> None:
        self.paths = list(paths)
        self.asked = 0

    async def __call__(self, context: ClientRequestContext) -> types.ListRootsResult:
        del context
        self.asked += 1
        return types.ListRootsResult(roots=[types.Root(uri=p.as_uri()) for p in self.paths])
