"""Three ``luminamind mcp --http --stateless`` replicas sharing one real Redis.

As behind a load balancer, each call may land on any replica: a thread started on one is
approved on another, and a replica SIGKILLed mid-task loses nothing that was checkpointed (the
thread goes on elsewhere without repeating finished tool calls). Each replica has its own data
dir, so nothing but Redis can carry a thread between them; the audit logs (one per replica) show
which replica ran which tool. The model is the scripted LLM server; the client is the official
MCP client over streamable HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import httpx
import mcp_types as types
import pytest

from tests.support.llm_server import ScriptedLLM, Turn
from tests.support.mcp_clients import (
    TOKEN,
    HttpServer,
    http_session,
    populate,
    start_http_server,
    stop,
    text_of,
)
from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.slow


class Replicas:
    """The three server processes and the Redis they share."""

    def __init__(self, redis: RedisServer, servers: list[HttpServer], homes: list[Path]) -> None:
        self.redis = redis
        self.servers = servers
        self.homes = homes

    def audit(self, index: int) -> list[str]:
        """The tools replica ``index`` executed, in order."""
        path = self.homes[index] / "data" / "audit.jsonl"
        if not path.exists():
            return []
        return [json.loads(line)["tool"] for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def replicas(
    _llm_server_session: ScriptedLLM,
    redis_server: RedisServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Replicas]:
    redis_server.start()  # a failure test may have stopped the shared server
    redis_server.flush()
    workspace = tmp_path_factory.mktemp("replica-ws").resolve()
    populate(workspace)
    env = _llm_server_session.env() | {
        "LUMINAMIND_REDIS_URL": redis_server.url,
        "LUMINAMIND_CACHE__BACKEND": "redis",
        "LUMINAMIND_MCP_TOKEN": TOKEN,
        "LUMINAMIND_SERVER__RATE_LIMIT_PER_MINUTE": "100000",
    }
    homes = [tmp_path_factory.mktemp(f"replica-{i}") for i in range(3)]

    def start(home: Path) -> HttpServer:
        try:
            return start_http_server(workspace, home, "--stateless", env=env)
        except RuntimeError:
            # Once more on a new port: the free port picked may have been taken meanwhile (it
            # stays unbound while the process imports), or a loaded machine was too slow.
            return start_http_server(workspace, home, "--stateless", env=env)

    # Started side by side: each spends its first seconds importing.
    with ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(start, home) for home in homes]
    try:
        servers = [f.result() for f in futures]
        yield Replicas(redis_server, servers, homes)
    finally:
        for future in futures:
            if future.exception() is None:
                stop(future.result().process)


def _structured(result: types.CallToolResult) -> dict[str, Any]:  # Any: JSON
    assert not result.is_error, text_of(result)
    assert isinstance(result.structured_content, dict)
    return result.structured_content


async def _call(server: HttpServer, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    async with http_session(server.url) as session:
        return _structured(await session.call_tool(tool, args))


async def test_a_thread_started_on_one_replica_is_approved_on_another(
    replicas: Replicas, llm_server: ScriptedLLM
) -> None:
    one, two, three = replicas.servers
    llm_server.script(
        [
            Turn.tool_calls(("write_file", {"path": "shared.txt", "content": "approved\n"})),
            Turn.text("Written after approval on another replica."),
        ]
    )
    thread = "replica-approve"
    paused = await _call(one, "run_task", {"task": "Write shared.txt", "thread_id": thread})
    assert paused["status"] == "awaiting_approval", paused
    # The paused thread is in Redis (its hash-tagged keys and the thread index), nowhere else.
    with replicas.redis.client() as client:
        assert client.exists(f"lm:{{{thread}}}:cp", f"lm:{{{thread}}}:idx") == 2
        assert client.zscore("lm:threads", thread) is not None
    assert not (replicas.homes[0] / "data" / "checkpoints.sqlite").exists()

    state = await _call(two, "get_thread", {"thread_id": thread})
    assert [a["tool"] for a in state["pending_approvals"]] == ["write_file"]
    done = await _call(
        two, "resume_task", {"thread_id": thread, "decisions": [{"type": "approve"}]}
    )
    assert done["status"] == "completed", done
    assert "another replica" in (done["answer"] or "")
    assert (one.workspace / "shared.txt").read_text() == "approved\n"
    assert replicas.audit(0) == []
    assert replicas.audit(1) == ["write_file"]

    # Each replica's readiness probe checks the shared state store.
    ready = httpx.get(f"{three.base}/readyz", timeout=10)
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["checkpointer"] == "ok"
    listing = await _call(three, "list_threads", {})
    (info,) = [t for t in listing["threads"] if t["thread_id"] == thread]
    assert info["status"] == "idle"  # finished, nothing pending
    llm_server.assert_done()


async def test_a_killed_replica_loses_nothing_checkpointed(
    replicas: Replicas, llm_server: ScriptedLLM
) -> None:
    one, two, three = replicas.servers
    thread = "replica-crash"
    llm_server.script(
        [
            Turn.tool_calls(("read_file", {"path": "hello.txt"})),
            Turn.tool_calls(("grep_search", {"pattern": "TODO"})),
            # Replica 3 is SIGKILLed while it waits for this answer.
            Turn.tool_calls(("write_file", {"path": "late.txt", "content": "x\n"}), delay=30),
        ]
    )

    async def run_on_three() -> None:
        await _call(three, "run_task", {"task": "Look around", "thread_id": thread})

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            tg.start_soon(run_on_three)
            await anyio.to_thread.run_sync(lambda: llm_server.wait_for_calls(3, timeout=25))
            await anyio.sleep(0.3)  # the two tool steps are long checkpointed by now
            three.process.kill()
            three.process.wait(timeout=10)
            tg.cancel_scope.cancel()  # the client's call has no server any more
    assert replicas.audit(2) == ["read_file", "grep_search"]

    # Another replica sees both finished tool calls in the thread's history.
    state = await _call(one, "get_thread", {"thread_id": thread})
    history = json.dumps(state["messages"])
    assert "hello" in history
    assert "TODO" in history

    llm_server.reset()
    llm_server.script(
        [
            Turn.tool_calls(("write_file", {"path": "after-crash.txt", "content": "kept\n"})),
            Turn.text("Finished after the crash."),
        ]
    )
    # resume_task with no decisions continues from the last checkpoint, as after any crash.
    paused = await _call(one, "resume_task", {"thread_id": thread})
    assert paused["status"] == "awaiting_approval", paused
    # The model's next call carried both earlier results; neither tool ran again.
    first = llm_server.calls[0]
    assert len(first.tool_results) == 2, first.tool_results
    assert "hello" in first.tool_results[0]
    done = await _call(
        two, "resume_task", {"thread_id": thread, "decisions": [{"type": "approve"}]}
    )
    assert done["status"] == "completed", done
    assert "after the crash" in (done["answer"] or "")
    assert (one.workspace / "after-crash.txt").read_text() == "kept\n"
    assert replicas.audit(0) == []
    assert replicas.audit(1) == ["write_file", "write_file"]  # one per test of the module
    assert replicas.audit(2) == ["read_file", "grep_search"]
    llm_server.assert_done()
