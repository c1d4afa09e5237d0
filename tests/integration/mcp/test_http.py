"""``luminamind mcp --http``: a real server process, the official streamable HTTP client."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import httpx
import mcp_types as types
import pytest
from mcp.shared.exceptions import MCPError

from tests.support.mcp_clients import (
    BIN,
    RAW_INITIALIZE,
    READ_ONLY_CALLS,
    TOKEN,
    ClientRoots,
    HttpServer,
    ScriptedUser,
    check_read_only_result,
    check_tool_listing,
    http_session,
    start_http_server,
    stop,
    text_of,
)
from tests.support.server_home import server_env

pytestmark = pytest.mark.slow

_JSON = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
_AUTH = {"authorization": f"Bearer {TOKEN}"}


def _alive(server: HttpServer) -> None:
    assert server.process.poll() is None, server.stderr()
    response = httpx.post(server.url, headers=_JSON | _AUTH, json=RAW_INITIALIZE, timeout=10)
    assert response.status_code == 200, response.text


async def test_list_and_call_read_only_tools(http_server: HttpServer) -> None:
    async with http_session(http_server.url) as session:
        check_tool_listing((await session.list_tools()).tools)
        for name, arguments in READ_ONLY_CALLS.items():
            check_read_only_result(name, await session.call_tool(name, arguments))


async def test_destructive_tool_through_elicitation(http_server: HttpServer) -> None:
    target = http_server.workspace / "written-over-http.txt"
    declined = ScriptedUser("decline")
    async with http_session(http_server.url, elicitation=declined) as session:
        result = await session.call_tool("write_file", {"path": target.name, "content": "x\n"})
    assert result.is_error
    assert "rejected by the user" in text_of(result)
    assert not target.exists()
    accepted = ScriptedUser("accept")
    async with http_session(http_server.url, elicitation=accepted) as session:
        result = await session.call_tool("write_file", {"path": target.name, "content": "x\n"})
    assert not result.is_error, text_of(result)
    assert target.read_text() == "x\n"
    assert "+x" in accepted.messages[0]


async def test_tool_log_lines_carry_the_request(http_server: HttpServer) -> None:
    """The request middleware binds the request to every log line made while serving it."""
    async with http_session(http_server.url) as session:
        result = await session.call_tool("read_file", {"path": "hello.txt"})
    assert not result.is_error, text_of(result)
    finished = [
        json.loads(line)
        for line in http_server.stderr().splitlines()
        if '"tool_call_finished"' in line and '"read_file"' in line
    ][-1]
    assert finished["method"] == "tools/call"
    assert finished["tool"] == "read_file"
    assert len(finished["request_id"]) == 16
    assert finished["rpc_id"]


async def test_client_without_elicitation_is_refused(http_server: HttpServer) -> None:
    async with http_session(http_server.url) as session:
        result = await session.call_tool("delete_file", {"path": "hello.txt"})
    assert result.is_error
    assert "unattended_approval" in text_of(result)
    assert (http_server.workspace / "hello.txt").exists()


async def test_roots_may_only_narrow_the_workspace(http_server: HttpServer, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.txt").write_text("not for remote clients\n")
    roots = ClientRoots(outside, http_server.workspace / "src")
    async with http_session(http_server.url, roots=roots) as session:
        narrowed = await session.call_tool("read_file", {"path": "app.py"})
        assert not narrowed.is_error, text_of(narrowed)
        above = await session.call_tool("read_file", {"path": "../hello.txt"})
        assert above.is_error
        escaped = await session.call_tool("read_file", {"path": str(outside / "secret.txt")})
        assert escaped.is_error
        assert "outside the workspace" in text_of(escaped)
    assert roots.asked == 1


async def test_unknown_tool_and_wrong_types(http_server: HttpServer) -> None:
    async with http_session(http_server.url) as session:
        with pytest.raises(MCPError) as unknown:
            await session.call_tool("no_such_tool", {})
        assert unknown.value.code == types.INVALID_PARAMS
        wrong = await session.call_tool("grep_search", {"pattern": ["not", "a", "string"]})
        assert wrong.is_error
        assert "pattern" in text_of(wrong)
        check_read_only_result("os_info", await session.call_tool("os_info", {}))


async def test_twenty_concurrent_clients(http_server: HttpServer) -> None:
    async def client(i: int) -> str:
        async with http_session(http_server.url) as session:
            result = await session.call_tool("read_file", {"path": "hello.txt"})
            check_read_only_result("read_file", result)
            return f"{i}:{text_of(result)}"

    answers = await asyncio.gather(*(client(i) for i in range(20)))
    assert len(set(answers)) == 20
    _alive(http_server)


def test_token_is_required(http_server: HttpServer) -> None:
    missing = httpx.post(http_server.url, headers=_JSON, json=RAW_INITIALIZE, timeout=10)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    wrong = httpx.post(
        http_server.url,
        headers=_JSON | {"authorization": "Bearer nope"},
        json=RAW_INITIALIZE,
        timeout=10,
    )
    assert wrong.status_code == 401
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
    _alive(http_server)


@pytest.mark.parametrize(
    ("header", "value", "status"),
    [
        ("origin", "http://evil.example", 403),
        ("host", "evil.example:8765", 403),
        ("origin", "http://localhost:6274", 200),
    ],
)
def test_host_and_origin_are_checked(
    http_server: HttpServer, header: str, value: str, status: int
) -> None:
    response = httpx.post(
        http_server.url, headers=_JSON | _AUTH | {header: value}, json=RAW_INITIALIZE, timeout=10
    )
    assert response.status_code == status, response.text


def test_malformed_and_oversized_requests(http_server: HttpServer) -> None:
    garbage = httpx.post(http_server.url, headers=_JSON | _AUTH, content=b"{garbage", timeout=10)
    assert garbage.status_code == 400
    assert garbage.json()["error"]["code"] == types.PARSE_ERROR
    not_rpc = httpx.post(http_server.url, headers=_JSON | _AUTH, json={"hello": 1}, timeout=10)
    assert not_rpc.status_code == 400
    huge = httpx.post(
        http_server.url, headers=_JSON | _AUTH, content=b"[" + b" " * 5_000_000 + b"]", timeout=30
    )
    assert huge.status_code == 413
    _alive(http_server)


def test_served_on_uvloop_and_h11_with_its_header_bound(http_server: HttpServer) -> None:
    started = next(
        json.loads(line)
        for line in http_server.stderr().splitlines()
        if '"mcp_server_started"' in line
    )
    # uvloop is a dependency except on Windows (bench/load.py: a fifth less CPU per task).
    assert started["event_loop"] == ("asyncio" if sys.platform == "win32" else "uvloop")
    # h11 keeps bounding headers (h11_max_incomplete_event_size, 64 KiB): a 1 MB one is refused.
    # h11 answers 400 as soon as the bound is crossed and closes the connection, which may be
    # while the client is still sending the rest: then the client sees the reset, not the 400.
    # Either way the request was refused; what must never happen is that it is served.
    try:
        refused: int | str = httpx.post(
            http_server.url,
            headers=_JSON | _AUTH | {"X-Padding": "a" * 1_000_000},
            json=RAW_INITIALIZE,
            timeout=10,
        ).status_code
    except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError) as closed:
        refused = f"connection closed by the server ({type(closed).__name__})"
    assert refused == 400 or str(refused).startswith("connection closed"), refused
    _alive(http_server)


def test_health_readiness_and_metrics(http_server: HttpServer) -> None:
    assert httpx.get(f"{http_server.base}/healthz", timeout=10).json() == {"status": "ok"}
    ready = httpx.get(f"{http_server.base}/readyz", timeout=10)
    assert ready.status_code == 200
    assert ready.json()["checks"]["workspace"] == "ok"
    _alive(http_server)
    metrics = httpx.get(f"{http_server.base}/metrics", timeout=10)
    assert metrics.status_code == 200
    assert 'luminamind_requests_total{outcome="ok",surface="mcp"}' in metrics.text


def test_rate_limit_answers_429(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    server = start_http_server(
        tmp_path, home, env={"LUMINAMIND_SERVER__RATE_LIMIT_PER_MINUTE": "3"}
    )
    try:
        codes = [
            httpx.post(server.url, headers=_JSON, json=RAW_INITIALIZE, timeout=10) for _ in range(4)
        ]
        assert [r.status_code for r in codes[:3]] == [200, 200, 200]
        assert codes[3].status_code == 429
        assert int(codes[3].headers["retry-after"]) >= 1
        # Health stays outside the limit, for probes.
        assert httpx.get(f"{server.base}/healthz", timeout=10).status_code == 200
    finally:
        stop(server.process)


def test_non_loopback_bind_needs_a_token(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    result = subprocess.run(
        [
            str(BIN),
            "mcp",
            "--http",
            "--host",
            "0.0.0.0",
            "--port",
            "0",
            "--workspace",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=server_env(home),
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert "without a bearer token" in result.stderr
    assert "LUMINAMIND_MCP_TOKEN" in result.stderr


async def test_stateless_mode_serves_without_sessions(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "hello.txt").write_text("hello\n")
    server = start_http_server(tmp_path, home, "--stateless")
    try:
        user = ScriptedUser("accept")
        async with http_session(server.url, token=None, elicitation=user) as session:
            check_read_only_result(
                "read_file", await session.call_tool("read_file", {"path": "hello.txt"})
            )
            # No session, no way to ask: the unattended policy applies even to capable clients.
            refused = await session.call_tool("delete_file", {"path": "hello.txt"})
        assert refused.is_error
        assert user.messages == []
        assert (tmp_path / "hello.txt").exists()
    finally:
        stop(server.process)
