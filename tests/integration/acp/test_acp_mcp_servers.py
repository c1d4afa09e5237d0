"""The MCP servers an editor passes in ``session/new``: connected, offered, asked, audited, closed.

The editor side is the ACP SDK's client (`EditorClient`); the MCP server is a real process on
the official SDK (tests/support/tiny_mcp.py) over stdio or streamable HTTP; the model is the
scripted OpenAI-compatible server calling its tools.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from acp import text_block
from acp.schema import EnvVariable, HttpMcpServer, McpServerStdio

from tests.support.acp_editor import EditorClient, start_agent
from tests.support.llm_server import ScriptedLLM, Turn
from tests.support.mcp_clients import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
SHOUT = "mcp__tiny__shout"
NOTE = "mcp__tiny__note"


@pytest.fixture
def workspace(workspace_dir: Path) -> Path:
    return workspace_dir


def tiny(name: str = "tiny", *args: str) -> McpServerStdio:
    """The tiny MCP server over stdio, as an editor would describe it."""
    return McpServerStdio(
        name=name,
        command=sys.executable,
        args=["-m", "tests.support.tiny_mcp", *args],
        env=[EnvVariable(name="PYTHONPATH", value=str(ROOT))],
    )


def audit_lines(home: Path) -> list[dict[str, object]]:
    path = home / "data" / "audit.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def tool_updates(client: EditorClient, status: str) -> list[object]:
    return [u for u in client.of_kind("tool_call_update") if u.status == status]


async def test_initialize_advertises_http_mcp_servers(
    workspace: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    async with start_agent(workspace, home, EditorClient(), initialize=False) as agent:
        response = await agent.conn.initialize(protocol_version=1)
    assert response.agent_capabilities is not None
    mcp = response.agent_capabilities.mcp_capabilities
    assert mcp is not None
    assert (mcp.http, mcp.sse) == (True, False)


async def test_a_read_only_tool_of_the_editors_server_runs_without_asking(
    workspace: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    llm_server.script([Turn.tool_calls((SHOUT, {"text": "hello"})), Turn.text("It shouted.")])
    client = EditorClient()
    async with start_agent(workspace, home, client, env=llm_server.env()) as agent:
        session = await agent.conn.new_session(cwd=str(workspace), mcp_servers=[tiny()])
        other = await agent.conn.new_session(cwd=str(workspace))
        result = await agent.conn.prompt(
            session_id=session.session_id, prompt=[text_block("Shout hello")]
        )
        assert result.stop_reason == "end_turn"
        # The tools are the session's own: another session in the same folder has none.
        llm_server.script([Turn.text("No MCP here.")])
        await agent.conn.prompt(session_id=other.session_id, prompt=[text_block("Hi")])
    first, second, third = llm_server.calls
    assert {SHOUT, NOTE, "mcp__tiny__die"} <= set(first.tool_names)
    assert "read_file" in first.tool_names  # beside our own tools
    assert not any(n.startswith("mcp__") for n in third.tool_names)
    assert second.tool_results == ["HELLO"]
    assert client.permissions == []
    [done] = tool_updates(client, "completed")
    assert "HELLO" in str(done)
    [record] = [r for r in audit_lines(home) if r["tool"] == SHOUT]
    assert (record["outcome"], record["surface"], record["arguments"]) == (
        "ok",
        "acp",
        {"text": "hello"},
    )


@pytest.mark.parametrize("answer", ["allow_once", "reject_once"])
async def test_a_tool_not_marked_read_only_asks_first(
    workspace: Path, home: Path, llm_server: ScriptedLLM, answer: str
) -> None:
    llm_server.script([Turn.tool_calls((NOTE, {"text": "buy milk"})), Turn.text("Done.")])
    client = EditorClient(answer=answer)
    async with start_agent(workspace, home, client, env=llm_server.env()) as agent:
        session = await agent.conn.new_session(cwd=str(workspace), mcp_servers=[tiny()])
        result = await agent.conn.prompt(
            session_id=session.session_id, prompt=[text_block("Note it")]
        )
    assert result.stop_reason == "end_turn"
    [asked] = client.permissions
    assert NOTE in str(asked)  # the call the user is asked about names the tool
    notes = workspace / "notes.txt"  # the server runs in the session's folder
    [record] = [r for r in audit_lines(home) if r["tool"] == NOTE]
    if answer == "allow_once":
        assert notes.read_text() == "buy milk\n"
        assert llm_server.calls[1].tool_results == ["noted: buy milk"]
        assert record["outcome"] == "ok"
    else:
        assert not notes.exists()
        assert "rejected" in llm_server.calls[1].tool_results[0]
        assert record["outcome"] == "rejected"


async def test_the_approvals_setting_overrides_a_servers_tools_by_name(
    workspace: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    # The config file the agent reads (tests/support/acp_editor.py points it here).
    (home / "no-config.toml").write_text(
        '[approvals]\n"mcp__tiny__note" = "auto"\n"mcp__tiny__die" = "deny"\n',
        encoding="utf-8",
    )
    llm_server.script(
        [
            Turn.tool_calls((NOTE, {"text": "unasked"})),
            Turn.tool_calls(("mcp__tiny__die", {})),
            Turn.text("Done."),
        ]
    )
    client = EditorClient(answer="reject_once")
    async with start_agent(workspace, home, client, env=llm_server.env()) as agent:
        session = await agent.conn.new_session(cwd=str(workspace), mcp_servers=[tiny()])
        await agent.conn.prompt(session_id=session.session_id, prompt=[text_block("Note")])
        assert agent.process.returncode is None
    assert client.permissions == []  # "auto": not asked
    assert (workspace / "notes.txt").read_text() == "unasked\n"
    assert "mcp__tiny__die" not in llm_server.calls[0].tool_names  # "deny": never offered
    assert "tool_denied" in llm_server.calls[2].tool_results[-1]  # called anyway: refused
    outcomes = {r["tool"]: r["outcome"] for r in audit_lines(home)}
    assert outcomes == {NOTE: "ok", "mcp__tiny__die": "denied"}


async def test_bad_servers_are_named_and_the_session_works_with_the_rest(
    workspace: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    missing = McpServerStdio(name="ghost", command="no-such-mcp-server-xyz", args=[], env=[])
    crashing = McpServerStdio(
        name="crashy",
        command=sys.executable,
        args=["-c", "import sys; print('bad config: no token', file=sys.stderr); sys.exit(3)"],
        env=[],
    )
    llm_server.script([Turn.tool_calls((SHOUT, {"text": "still here"})), Turn.text("Fine.")])
    client = EditorClient()
    async with start_agent(workspace, home, client, env=llm_server.env()) as agent:
        started = time.monotonic()
        session = await agent.conn.new_session(
            cwd=str(workspace), mcp_servers=[missing, crashing, tiny()]
        )
        assert time.monotonic() - started < 20
        result = await agent.conn.prompt(session_id=session.session_id, prompt=[text_block("Go")])
        assert agent.process.returncode is None
    assert result.stop_reason == "end_turn"
    said = client.text()
    assert "MCP server 'ghost' is not connected: cannot start 'no-such-mcp-server-xyz'" in said
    assert "MCP server 'crashy' is not connected" in said
    assert "bad config: no token" in said  # the server's own words
    assert llm_server.calls[1].tool_results == ["STILL HERE"]
    assert not any("ghost" in n or "crashy" in n for n in llm_server.calls[0].tool_names)


async def test_a_server_that_dies_mid_session_fails_its_tools_not_the_session(
    workspace: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    llm_server.script(
        [
            Turn.tool_calls(("mcp__tiny__die", {})),
            Turn.tool_calls((SHOUT, {"text": "again"})),
            Turn.tool_calls(("list_directory", {"path": "."})),
            Turn.text("The MCP server is gone; I used my own tools."),
        ]
    )
    client = EditorClient(answer="allow_once")
    async with start_agent(workspace, home, client, env=llm_server.env()) as agent:
        session = await agent.conn.new_session(cwd=str(workspace), mcp_servers=[tiny()])
        result = await asyncio.wait_for(
            agent.conn.prompt(session_id=session.session_id, prompt=[text_block("Try")]), 60
        )
    assert result.stop_reason == "end_turn"
    died, again, listed = (call.tool_results[-1] for call in llm_server.calls[1:4])
    assert "mcp_server_failed" in died
    assert "'tiny'" in died
    assert "mcp_server_unavailable" in again
    assert "error" not in listed.lower()[:20]
    assert client.text().endswith("I used my own tools.")


@pytest.fixture
def tiny_http(tmp_path: Path) -> Iterator[str]:
    """The tiny server over streamable HTTP; its URL."""
    port = free_port()
    log = (tmp_path / "tiny-http.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.tiny_mcp", "--http", str(port)],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(url, timeout=0.5)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)
        log.close()


async def test_an_http_server_is_connected_too(
    workspace: Path, home: Path, llm_server: ScriptedLLM, tiny_http: str
) -> None:
    llm_server.script(
        [Turn.tool_calls(("mcp__web__shout", {"text": "over http"})), Turn.text("ok")]
    )
    client = EditorClient()
    server = HttpMcpServer(type="http", name="web", url=tiny_http, headers=[])
    async with start_agent(workspace, home, client, env=llm_server.env()) as agent:
        session = await agent.conn.new_session(cwd=str(workspace), mcp_servers=[server])
        await agent.conn.prompt(session_id=session.session_id, prompt=[text_block("Shout")])
    assert llm_server.calls[1].tool_results == ["OVER HTTP"]


async def test_the_servers_stop_when_the_editor_disconnects(
    workspace: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    client = EditorClient()
    marker = f"tiny-{time.monotonic_ns()}"
    async with start_agent(workspace, home, client, env=llm_server.env()) as agent:
        servers: list[Any] = [tiny("tiny", "--tag", marker)]  # Any: the SDK's server kinds
        await agent.conn.new_session(cwd=str(workspace), mcp_servers=servers)
        assert _running(marker)
    deadline = time.monotonic() + 10
    while _running(marker) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert not _running(marker)


async def test_load_connects_the_servers_it_names_in_place_of_the_old_ones(
    workspace: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    first, second = f"one-{time.monotonic_ns()}", f"two-{time.monotonic_ns()}"
    llm_server.script(
        [Turn.text("First."), Turn.tool_calls(("mcp__two__shout", {"text": "x"})), Turn.text("ok")]
    )
    client = EditorClient()
    async with start_agent(workspace, home, client, env=llm_server.env()) as agent:
        servers: list[Any] = [tiny("one", "--tag", first)]  # Any: the SDK's server kinds
        session = await agent.conn.new_session(cwd=str(workspace), mcp_servers=servers)
        sid = session.session_id
        await agent.conn.prompt(session_id=sid, prompt=[text_block("Hi")])
        assert _running(first)
        servers = [tiny("two", "--tag", second)]
        await agent.conn.load_session(cwd=str(workspace), session_id=sid, mcp_servers=servers)
        await agent.conn.prompt(session_id=sid, prompt=[text_block("Shout")])
        assert _running(second)
        assert not _running(first)  # the old connection closed when the session was loaded
    offered = [set(call.tool_names) for call in llm_server.calls]
    assert "mcp__one__shout" in offered[0]
    assert "mcp__two__shout" in offered[1]
    assert "mcp__one__shout" not in offered[1]
    assert llm_server.calls[2].tool_results[-1] == "X"


def _running(marker: str) -> bool:
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if marker.encode() in cmdline.read_bytes():
                return True
        except OSError:
            continue
    return False
