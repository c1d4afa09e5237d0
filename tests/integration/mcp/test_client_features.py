"""Logging and completions through the official MCP client, over stdio and streamable HTTP.

Also the conformance suite's generic checks over stdio (the suite itself only speaks HTTP):
initialize, ping, logging/setLevel, completion/complete and the three listings.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from mcp.client.session import ClientSession
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError

from tests.support.mcp_clients import (
    HttpServer,
    http_session,
    populate,
    start_http_server,
    stdio_session,
    stop,
)

pytestmark = pytest.mark.slow

CODE_REVIEW = types.PromptReference(type="ref/prompt", name="code_review")
SECRET = "sk-" + "abcdefghijklmnopqrstuvwx"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The usual files, plus what .gitignore hides and a directory to complete into."""
    root = tmp_path_factory.mktemp("complete-ws").resolve()
    populate(root)
    (root / ".gitignore").write_text("big.txt\nbuild/\n*.log\n", encoding="utf-8")
    (root / "build").mkdir()
    (root / "build" / "out.bin").write_text("x", encoding="utf-8")
    (root / "src" / "debug.log").write_text("x", encoding="utf-8")
    (root / "src" / "api").mkdir()
    (root / "node_modules").mkdir()
    return root


@pytest.fixture(scope="module")
def server(workspace: Path, mcp_home: Path) -> Iterator[HttpServer]:
    started = start_http_server(workspace, mcp_home)
    yield started
    stop(started.process)


class Messages:
    """A logging callback keeping what the server sent."""

    def __init__(self) -> None:
        self.received: list[types.LoggingMessageNotificationParams] = []

    async def __call__(self, params: types.LoggingMessageNotificationParams) -> None:
        self.received.append(params)

    def events(self) -> list[tuple[str, str]]:
        return [(m.level, m.data["event"]) for m in self.received]


@contextlib.asynccontextmanager
async def session_for(
    transport: str, server: HttpServer, workspace: Path, home: Path, messages: Messages
) -> AsyncIterator[ClientSession]:
    if transport == "http":
        async with http_session(server.url, token=None, logging=messages) as session:
            yield session
    else:
        async with stdio_session(workspace, home, logging=messages) as session:
            yield session


async def set_level(session: ClientSession, level: Any) -> None:  # Any: also invalid levels
    # logging/setLevel is deprecated by the 2026-07-28 protocol; clients of 2025-11-25 use it.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MCPDeprecationWarning)
        params = types.SetLevelRequestParams.model_construct(level=level)
        await session.send_request(types.SetLevelRequest(params=params), types.EmptyResult)


async def complete(session: ClientSession, ref: Any, name: str, value: str) -> types.Completion:
    result = await session.complete(ref, {"name": name, "value": value})
    return result.completion


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_generic_checks_and_capabilities(
    transport: str, server: HttpServer, workspace: Path, mcp_home: Path
) -> None:
    async with session_for(transport, server, workspace, mcp_home, Messages()) as session:
        caps = session.server_capabilities
        assert caps is not None
        assert caps.logging is not None
        assert caps.completions is not None
        assert await session.send_ping() == types.EmptyResult()
        await set_level(session, "info")
        assert (await session.list_tools()).tools
        assert (await session.list_resources()).resources
        assert (await session.list_prompts()).prompts
        assert (await complete(session, CODE_REVIEW, "path", "")).values


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_messages_at_and_above_the_chosen_level_only(
    transport: str, server: HttpServer, workspace: Path, mcp_home: Path
) -> None:
    messages = Messages()
    async with session_for(transport, server, workspace, mcp_home, messages) as session:
        # Before any setLevel: warning and above.
        await session.call_tool("read_file", {"path": "hello.txt"})
        await session.call_tool("read_file", {"path": f"missing-{SECRET}.txt"})
        assert messages.events() == [("warning", "tool_call_failed")]
        failure = messages.received[0]
        assert failure.logger == "luminamind"
        assert failure.data["tool"] == "read_file"
        assert SECRET not in str(failure.data)
        assert "[REDACTED]" in failure.data["error"]

        messages.received.clear()
        await set_level(session, "debug")
        await session.call_tool("read_file", {"path": "hello.txt"})
        assert messages.events() == [("debug", "tool_call_finished")]

        messages.received.clear()
        await set_level(session, "error")
        await session.call_tool("read_file", {"path": "hello.txt"})
        await session.call_tool("read_file", {"path": "missing.txt"})
        assert messages.events() == []


async def test_levels_are_per_session(server: HttpServer, workspace: Path, mcp_home: Path) -> None:
    chatty, quiet = Messages(), Messages()
    async with (
        session_for("http", server, workspace, mcp_home, chatty) as first,
        session_for("http", server, workspace, mcp_home, quiet) as second,
    ):
        await set_level(first, "debug")
        await first.call_tool("read_file", {"path": "hello.txt"})
        await second.call_tool("read_file", {"path": "hello.txt"})
    assert chatty.events() == [("debug", "tool_call_finished")]
    assert quiet.events() == []


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_unknown_level_is_refused_and_the_session_goes_on(
    transport: str, server: HttpServer, workspace: Path, mcp_home: Path
) -> None:
    async with session_for(transport, server, workspace, mcp_home, Messages()) as session:
        with pytest.raises(MCPError) as refused:
            await set_level(session, "verbose")
        assert refused.value.error.code == types.INVALID_PARAMS
        assert refused.value.error.message == (
            "unknown log level 'verbose'; use one of: debug, info, notice, warning, error, "
            "critical, alert, emergency"
        )
        assert await session.send_ping() == types.EmptyResult()


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_path_completion_honours_gitignore(
    transport: str, server: HttpServer, workspace: Path, mcp_home: Path
) -> None:
    async with session_for(transport, server, workspace, mcp_home, Messages()) as session:
        top = await complete(session, CODE_REVIEW, "path", "")
        # big.txt and build/ are ignored, node_modules is clutter, dotfiles need a leading dot.
        assert top.values == ["hello.txt", "src/"]
        assert top.total == 2
        assert top.has_more is False
        inner = await complete(session, CODE_REVIEW, "path", "src/")
        assert inner.values == ["src/api/", "src/app.py", "src/util.py"]  # no debug.log
        assert (await complete(session, CODE_REVIEW, "path", "src/a")).values == [
            "src/api/",
            "src/app.py",
        ]
        assert (await complete(session, CODE_REVIEW, "path", ".git")).values == [".gitignore"]
        assert (await complete(session, CODE_REVIEW, "path", "nothing/here")).values == []


async def test_path_completion_caps_at_100(tmp_path: Path, mcp_home: Path) -> None:
    for n in range(150):
        (tmp_path / f"f{n:03}.txt").write_text("x", encoding="utf-8")
    async with stdio_session(tmp_path, mcp_home) as session:
        many = await complete(session, CODE_REVIEW, "path", "f")
        assert len(many.values) == 100
        assert many.has_more is True
        assert (many.values[0], many.values[-1]) == ("f000.txt", "f099.txt")
        few = await complete(session, CODE_REVIEW, "path", "f14")
        assert few.values == [f"f14{n}.txt" for n in range(10)]


@pytest.mark.parametrize(
    ("ref", "name", "value", "message"),
    [
        (
            types.PromptReference(type="ref/prompt", name="nope"),
            "path",
            "",
            "unknown prompt 'nope'; known: code_review, research",
        ),
        (CODE_REVIEW, "colour", "", "prompt 'code_review' has no argument 'colour'"),
        (
            types.ResourceTemplateReference(type="ref/resource", uri="luminamind://nope/{x}"),
            "x",
            "",
            "unknown resource template 'luminamind://nope/{x}'",
        ),
        (
            types.ResourceTemplateReference(
                type="ref/resource", uri="luminamind://threads/{thread_id}"
            ),
            "id",
            "",
            "has no argument 'id'; it has: thread_id",
        ),
        (CODE_REVIEW, "path", "../", "outside the workspace"),
    ],
)
@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_bad_completion_requests_are_invalid_params(
    transport: str,
    ref: Any,
    name: str,
    value: str,
    message: str,
    server: HttpServer,
    workspace: Path,
    mcp_home: Path,
) -> None:
    async with session_for(transport, server, workspace, mcp_home, Messages()) as session:
        with pytest.raises(MCPError) as refused:
            await complete(session, ref, name, value)
        assert refused.value.error.code == types.INVALID_PARAMS
        assert message in refused.value.error.message
        # The session keeps serving.
        assert (await complete(session, CODE_REVIEW, "path", "hel")).values == ["hello.txt"]


async def test_fixed_choices_and_free_text(server: HttpServer) -> None:
    async with http_session(server.url, token=None) as session:
        research = types.PromptReference(type="ref/prompt", name="research")
        assert (await complete(session, research, "depth", "a d")).values == ["a detailed report"]
        free = await complete(session, research, "topic", "rust")
        assert (free.values, free.has_more) == ([], False)
