"""``luminamind mcp`` over stdio, driven by the official MCP client (``stdio_client``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Literal

import mcp_types as types
import pytest
from mcp.shared.exceptions import MCPError

from tests.support.mcp_clients import (
    BIN,
    RAW_INITIALIZE,
    READ_ONLY_CALLS,
    ClientRoots,
    ScriptedUser,
    check_read_only_result,
    check_tool_listing,
    stdio_session,
    text_of,
)
from tests.support.server_home import server_env

pytestmark = pytest.mark.slow


async def test_initialize_list_and_call_every_read_only_tool(workspace: Path, home: Path) -> None:
    async with stdio_session(workspace, home) as session:
        info = session.server_info
        assert info is not None
        assert info.name == "luminamind"
        tools = (await session.list_tools()).tools
        check_tool_listing(tools)
        for name, arguments in READ_ONLY_CALLS.items():
            check_read_only_result(name, await session.call_tool(name, arguments))
        content = (await session.call_tool("read_file", {"path": "hello.txt"})).structured_content
        assert isinstance(content, dict)
        assert "hello" in json.dumps(content)


@pytest.mark.parametrize("action", ["accept", "decline", "cancel"])
async def test_destructive_tool_asks_through_elicitation(
    workspace: Path, home: Path, action: Literal["accept", "decline", "cancel"]
) -> None:
    user = ScriptedUser(action)
    async with stdio_session(workspace, home, elicitation=user) as session:
        result = await session.call_tool("write_file", {"path": "hello.txt", "content": "bye\n"})
    assert len(user.messages) == 1
    shown = user.messages[0]
    assert "write_file" in shown
    assert "-hello" in shown
    assert "+bye" in shown, "the approval shows the diff"
    if action == "accept":
        assert not result.is_error, text_of(result)
        assert (workspace / "hello.txt").read_text() == "bye\n"
    else:
        assert result.is_error
        assert "rejected by the user" in text_of(result)
        assert (workspace / "hello.txt").read_text() == "hello\nworld\n"


async def test_client_without_elicitation_is_refused_by_default(
    workspace: Path, home: Path
) -> None:
    async with stdio_session(workspace, home) as session:
        result = await session.call_tool("delete_file", {"path": "hello.txt"})
        assert result.is_error
        assert 'unattended_approval = "deny"' in text_of(result)
        assert (workspace / "hello.txt").exists()
        # A refused call leaves the server serving.
        check_read_only_result(
            "read_file", await session.call_tool("read_file", {"path": "hello.txt"})
        )


async def test_unattended_policy_can_approve(workspace: Path, home: Path) -> None:
    env = {"LUMINAMIND_SERVER__UNATTENDED_APPROVAL": "approve"}
    async with stdio_session(workspace, home, env=env) as session:
        tools = {t.name: t for t in (await session.list_tools()).tools}
        description = tools["write_file"].description or ""
        assert "runs without asking" in description
        result = await session.call_tool("write_file", {"path": "new.txt", "content": "x\n"})
    assert not result.is_error, text_of(result)
    assert (workspace / "new.txt").read_text() == "x\n"


async def test_bad_calls_get_clear_errors_and_the_server_stays_up(
    workspace: Path, home: Path
) -> None:
    async with stdio_session(workspace, home) as session:
        with pytest.raises(MCPError) as unknown:
            await session.call_tool("no_such_tool", {})
        assert unknown.value.code == types.INVALID_PARAMS
        assert "known tools" in unknown.value.message
        wrong_type = await session.call_tool("read_file", {"path": 42})
        assert wrong_type.is_error
        assert "path" in text_of(wrong_type)
        extra = await session.call_tool("read_file", {"path": "hello.txt", "bogus": 1})
        assert extra.is_error
        assert "bogus" in text_of(extra)
        missing = await session.call_tool("read_file", {})
        assert missing.is_error
        assert "path" in text_of(missing)
        outside = await session.call_tool("read_file", {"path": "../../etc/passwd"})
        assert outside.is_error
        assert "outside the workspace" in text_of(outside)
        check_read_only_result(
            "read_file", await session.call_tool("read_file", {"path": "hello.txt"})
        )


async def test_client_roots_become_the_workspace(
    workspace: Path, home: Path, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "only-here.txt").write_text("in the root\n")
    other = tmp_path / "other"
    other.mkdir()
    (other / "later.txt").write_text("after the change\n")
    roots = ClientRoots(project)
    async with stdio_session(workspace, home, roots=roots) as session:
        found = await session.call_tool("read_file", {"path": "only-here.txt"})
        assert not found.is_error, text_of(found)
        # The server's --workspace is not reachable once the client names its roots.
        hidden = await session.call_tool("read_file", {"path": str(workspace / "hello.txt")})
        assert hidden.is_error
        assert "outside the workspace" in text_of(hidden)
        roots.paths = [other]
        # Sent as a plain notification: the SDK helper warns that roots are deprecated in the
        # 2026-07-28 protocol, but this handshake-era session is exactly where they apply.
        await session.send_notification(types.RootsListChangedNotification())
        moved = await session.call_tool("read_file", {"path": "later.txt"})
        assert not moved.is_error, text_of(moved)
        gone = await session.call_tool("read_file", {"path": str(project / "only-here.txt")})
        assert gone.is_error


def test_malformed_json_lines_get_parse_errors(workspace: Path, home: Path) -> None:
    """Raw bytes on stdin: garbage gets a JSON-RPC error, and the next request is served."""
    lines = [
        "{this is not json",
        json.dumps({"jsonrpc": "2.0", "id": 9}),
        json.dumps(RAW_INITIALIZE),
    ]
    result = subprocess.run(
        [str(BIN), "mcp", "--workspace", str(workspace)],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        env=server_env(home),
        check=False,
    )
    answers = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    errors = {a.get("id"): a["error"]["code"] for a in answers if "error" in a}
    assert errors == {None: types.PARSE_ERROR, 9: types.INVALID_REQUEST}, answers
    assert any(a.get("id") == 1 and "result" in a for a in answers), answers
    assert all(a.get("jsonrpc") == "2.0" for a in answers), "stdout carries only JSON-RPC"


def test_served_on_uvloop_through_pipe_transports(workspace: Path, home: Path) -> None:
    """The stdio server runs on uvloop (a dependency except on Windows), pipes and all."""
    result = subprocess.run(
        [str(BIN), "--log-level", "INFO", "mcp", "--workspace", str(workspace)],
        input=json.dumps(RAW_INITIALIZE) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        env=server_env(home),
        check=False,
    )
    started = next(
        json.loads(line) for line in result.stderr.splitlines() if '"mcp_server_started"' in line
    )
    assert started["transport"] == "stdio"
    assert started["event_loop"] == ("asyncio" if sys.platform == "win32" else "uvloop")
    answers = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert [a["id"] for a in answers] == [1], answers
    assert answers[0]["result"]["serverInfo"]["name"] == "luminamind"


async def test_prompts_are_listed(workspace: Path, home: Path) -> None:
    async with stdio_session(workspace, home) as session:
        prompts = {p.name for p in (await session.list_prompts()).prompts}
        assert {"code_review", "research"} <= prompts
        review = await session.get_prompt("code_review", {"path": "src"})
        content = review.messages[0].content
        assert isinstance(content, types.TextContent)
        assert "src" in content.text
