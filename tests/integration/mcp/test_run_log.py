"""A run's log messages (notifications/message) through the official client, at the chosen level.

The server is a real ``luminamind mcp --http`` whose agent talks to the scripted LLM; the client
approves through elicitation and records every log message.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import mcp_types as types
import pytest
from mcp.client.session import ClientSession
from mcp.shared.exceptions import MCPDeprecationWarning

from tests.support.llm_server import ScriptedLLM, Turn
from tests.support.mcp_clients import (
    TOKEN,
    HttpServer,
    ScriptedUser,
    http_session,
    start_http_server,
    stop,
)

pytestmark = pytest.mark.slow

SECRET = "sk-" + "0123456789abcdefghijklmn"


@pytest.fixture(scope="module")
def agent_server(
    _llm_server_session: ScriptedLLM, mcp_workspace: Path, mcp_home: Path
) -> Iterator[HttpServer]:
    env = _llm_server_session.env() | {
        "LUMINAMIND_MCP_TOKEN": TOKEN,
        "LUMINAMIND_SERVER__RATE_LIMIT_PER_MINUTE": "100000",
    }
    server = start_http_server(mcp_workspace, mcp_home, env=env)
    yield server
    stop(server.process)


class Messages:
    def __init__(self) -> None:
        self.received: list[types.LoggingMessageNotificationParams] = []

    async def __call__(self, params: types.LoggingMessageNotificationParams) -> None:
        self.received.append(params)

    def events(self) -> list[tuple[str, str]]:
        return [(m.level, m.data["event"]) for m in self.received]


async def set_level(session: ClientSession, level: types.LoggingLevel) -> None:
    with warnings.catch_warnings():  # deprecated by 2026-07-28; 2025-11-25 clients use it
        warnings.simplefilter("ignore", MCPDeprecationWarning)
        await session.set_logging_level(level)


def script(llm: ScriptedLLM, name: str) -> None:
    llm.script(
        [
            Turn.tool_calls(("read_file", {"path": "hello.txt"})),
            Turn.tool_calls(("write_file", {"path": name, "content": f"key={SECRET}\n"})),
            Turn.tool_calls(("read_file", {"path": "no-such-file.txt"})),
            Turn.text("Done."),
        ]
    )


async def test_a_run_logs_its_steps_at_info(
    agent_server: HttpServer, llm_server: ScriptedLLM
) -> None:
    script(llm_server, "log-info.txt")
    messages = Messages()
    async with http_session(
        agent_server.url, elicitation=ScriptedUser("accept"), logging=messages
    ) as session:
        await set_level(session, "info")
        result = await session.call_tool("run_task", {"task": "Write log-info.txt"})
    assert result.structured_content is not None
    assert result.structured_content["status"] == "completed"
    assert messages.events() == [
        ("info", "run_started"),
        ("info", "tool_finished"),
        ("notice", "approval_requested"),
        ("notice", "approval_decided"),
        ("info", "run_started"),
        ("info", "tool_finished"),
        ("warning", "tool_failed"),
        ("info", "run_finished"),
    ]
    thread_id = result.structured_content["thread_id"]
    assert {m.data["thread_id"] for m in messages.received} == {thread_id}
    assert all(m.logger == "luminamind" for m in messages.received)
    approval = messages.received[2].data
    assert approval["tools"] == ["write_file"]
    assert messages.received[3].data["decisions"] == ["approve"]
    assert "no-such-file.txt" in messages.received[6].data["error"]


async def test_debug_adds_tool_calls_with_secrets_redacted_and_error_keeps_quiet(
    agent_server: HttpServer, llm_server: ScriptedLLM
) -> None:
    script(llm_server, "log-debug.txt")
    chatty = Messages()
    async with http_session(
        agent_server.url, elicitation=ScriptedUser("accept"), logging=chatty
    ) as session:
        await set_level(session, "debug")
        await session.call_tool("run_task", {"task": "Write log-debug.txt"})
    started = [m.data for m in chatty.received if m.data["event"] == "tool_started"]
    assert [s["tool"] for s in started] == ["read_file", "write_file", "read_file"]
    assert "[REDACTED]" in started[1]["arguments"]["content"]
    assert SECRET not in str([m.data for m in chatty.received])

    script(llm_server, "log-error.txt")
    quiet = Messages()
    async with http_session(
        agent_server.url, elicitation=ScriptedUser("accept"), logging=quiet
    ) as session:
        await set_level(session, "error")
        await session.call_tool("run_task", {"task": "Write log-error.txt"})
    assert quiet.events() == []
