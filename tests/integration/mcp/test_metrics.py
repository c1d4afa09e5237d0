"""`/metrics` after real work: a ``luminamind mcp --http`` process, the scripted LLM, MCP clients.

One agent task (a read, then a write the user approves through elicitation), a plain
``read_file``, a plain ``write_file`` the user declines, and the same page fetched twice (a
cache miss, then a hit). The server's own ``/metrics`` must then count exactly that work:
requests, tool calls and their durations, model calls and tokens, approvals, runs and the cache.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.http_servers import LocalHttpServer, Reply
from tests.support.llm_server import ScriptedLLM, Turn
from tests.support.mcp_clients import (
    TOKEN,
    ScriptedUser,
    http_session,
    populate,
    start_http_server,
    stop,
    text_of,
)

pytestmark = pytest.mark.slow

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def web() -> Iterator[LocalHttpServer]:
    with LocalHttpServer() as server:
        server.route("/page.html", Reply.html("<html><body><h1>Page</h1><p>Hi.</p></body></html>"))
        yield server


def scrape(base: str) -> Samples:
    """Every sample of the server's ``/metrics``, keyed by name and labels."""
    response = httpx.get(f"{base}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of ``name`` over the samples carrying ``labels`` (other labels summed over)."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


async def test_metrics_count_a_real_run(
    workspace_dir: Path, tmp_path: Path, llm_server: ScriptedLLM, web: LocalHttpServer
) -> None:
    populate(workspace_dir)
    home = tmp_path / "home"
    home.mkdir()
    env = llm_server.env() | {
        "LUMINAMIND_MCP_TOKEN": TOKEN,
        "LUMINAMIND_SERVER__RATE_LIMIT_PER_MINUTE": "100000",
        "LUMINAMIND_WEB__ALLOWED_HOSTS": json.dumps(["127.0.0.1"]),
    }
    server = start_http_server(workspace_dir, home, env=env)
    try:
        before = scrape(server.base)
        assert total(before, "luminamind_tool_calls_total") == 0
        llm_server.script(
            [
                Turn.tool_calls(("read_file", {"path": "hello.txt"}), usage=(40, 7)),
                Turn.tool_calls(
                    ("write_file", {"path": "out.txt", "content": "x\n"}), usage=(50, 6)
                ),
                Turn.text("Read and wrote.", usage=(60, 5)),
            ]
        )
        approver = ScriptedUser("accept", {"decision": "approve"})
        async with http_session(server.url, elicitation=approver) as session:
            run = await session.call_tool("run_task", {"task": "Read hello.txt, write out.txt"})
            assert not run.is_error, text_of(run)
            assert (run.structured_content or {}).get("status") == "completed", text_of(run)
            read = await session.call_tool("read_file", {"path": "hello.txt"})
            assert not read.is_error, text_of(read)
            for _ in range(2):
                page = await session.call_tool("fetch_as_markdown", {"url": web.url("/page.html")})
                assert not page.is_error, text_of(page)
        async with http_session(server.url, elicitation=ScriptedUser("decline")) as session:
            refused = await session.call_tool("write_file", {"path": "no.txt", "content": "n\n"})
            assert refused.is_error
        llm_server.assert_done()
        assert web.count("/page.html") == 1, "the second fetch came from the cache"

        after = scrape(server.base)
        # Requests: initialize, the tool calls and list calls of both sessions, all answered.
        assert total(after, "luminamind_requests_total", surface="mcp", outcome="ok") >= 6
        assert total(after, "luminamind_request_duration_seconds_count", surface="mcp") >= 6
        # Tools: the agent's read and the plain one, the approved write, the refused one.
        assert total(after, "luminamind_tool_calls_total", tool="read_file", outcome="ok") == 2
        assert total(after, "luminamind_tool_calls_total", tool="write_file", outcome="ok") == 1
        assert (
            total(after, "luminamind_tool_calls_total", tool="write_file", outcome="rejected") == 1
        )
        assert total(after, "luminamind_tool_duration_seconds_count", tool="read_file") == 2
        assert total(after, "luminamind_tool_duration_seconds_sum", tool="read_file") > 0
        # The model: three calls and the tokens the scripted server reported for them.
        assert total(after, "luminamind_llm_requests_total", model="scripted", outcome="ok") == 3
        assert total(after, "luminamind_llm_duration_seconds_count", model="scripted") == 3
        assert (
            total(after, "luminamind_llm_tokens_total", model="scripted", direction="input") == 150
        )
        assert (
            total(after, "luminamind_llm_tokens_total", model="scripted", direction="output") == 18
        )
        # Approvals: the agent's write (approved) and the plain write (rejected).
        assert (
            total(after, "luminamind_approvals_total", tool="write_file", decision="requested") == 2
        )
        assert (
            total(after, "luminamind_approvals_total", tool="write_file", decision="approved") == 1
        )
        assert (
            total(after, "luminamind_approvals_total", tool="write_file", decision="rejected") == 1
        )
        # The run, and the cache: one miss then one hit.
        assert total(after, "luminamind_agent_runs_total", surface="mcp", outcome="completed") == 1
        assert total(after, "luminamind_cache_requests_total", cache="tool", result="miss") == 1
        assert total(after, "luminamind_cache_requests_total", cache="tool", result="hit") == 1
        # No run in progress any more; the gauge is exported all the same.
        assert ("luminamind_active_threads", frozenset()) in after
        assert total(after, "luminamind_active_threads") == 0
    finally:
        stop(server.process)
