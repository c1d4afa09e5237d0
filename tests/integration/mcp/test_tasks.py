"""MCP tasks (2025-11-25): run_task and resume_task called as tasks, polled, cancelled, resumed.

A real ``luminamind mcp --http`` process (task records in SQLite under its data dir) runs the
agent against the scripted LLM, and two replicas sharing a real Redis show a task reached from
the other replica and after a restart; the client is the official MCP client. Its typed
``send_request`` checks a ``tools/call`` answer against ``CallToolResult``, which a
``CreateTaskResult`` is not (the SDK has the task types but no task support), so the
task-augmented call goes through the same client's dispatcher and is validated here as a
``CreateTaskResult``; ``tasks/*`` use ``send_request`` as any request.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import httpx2
import mcp_types as types
import pytest
from mcp.client.extension import NotificationBinding
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types.version import LATEST_HANDSHAKE_VERSION

from tests.support.llm_server import ScriptedLLM, Turn
from tests.support.mcp_clients import (
    TOKEN,
    HttpServer,
    populate,
    start_http_server,
    stdio_session,
    stop,
    text_of,
)
from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.slow

RELATED_TASK = "io.modelcontextprotocol/related-task"


@pytest.fixture(scope="module")
def task_server(
    _llm_server_session: ScriptedLLM, mcp_workspace: Path, mcp_home: Path
) -> Iterator[HttpServer]:
    env = _llm_server_session.env() | {
        "LUMINAMIND_MCP_TOKEN": TOKEN,
        "LUMINAMIND_SERVER__RATE_LIMIT_PER_MINUTE": "100000",
    }
    server = start_http_server(mcp_workspace, mcp_home, env=env)
    yield server
    stop(server.process)


class Client:
    """One connection: its session and the task status notifications it received."""

    def __init__(self, session: ClientSession, statuses: list[types.TaskStatusNotificationParams]):
        self.session = session
        self.statuses = statuses
        self.init: types.InitializeResult | None = None

    async def call_as_task(
        self, name: str, arguments: dict[str, Any], ttl: int | None = None
    ) -> types.Task:
        params = types.CallToolRequestParams(
            name=name, arguments=arguments, task=types.TaskMetadata(ttl=ttl)
        ).model_dump(by_alias=True, mode="json", exclude_none=True)
        headers = {"mcp-protocol-version": LATEST_HANDSHAKE_VERSION}
        raw = await self.session._dispatcher.send_raw_request(
            "tools/call", params, {"headers": headers}
        )
        return types.CreateTaskResult.model_validate(raw).task

    async def get(self, task_id: str) -> types.GetTaskResult:
        request = types.GetTaskRequest(params=types.GetTaskRequestParams(task_id=task_id))
        return await self.session.send_request(request, types.GetTaskResult)

    async def result(self, task_id: str) -> types.CallToolResult:
        request = types.GetTaskPayloadRequest(
            params=types.GetTaskPayloadRequestParams(task_id=task_id)
        )
        return await self.session.send_request(request, types.CallToolResult)

    async def cancel(self, task_id: str) -> types.CancelTaskResult:
        request = types.CancelTaskRequest(params=types.CancelTaskRequestParams(task_id=task_id))
        return await self.session.send_request(request, types.CancelTaskResult)

    async def list(self, cursor: str | None = None) -> types.ListTasksResult:
        request = types.ListTasksRequest(params=types.PaginatedRequestParams(cursor=cursor))
        return await self.session.send_request(request, types.ListTasksResult)

    async def poll(self, task_id: str, until: set[str], timeout: float = 60) -> types.GetTaskResult:
        """``tasks/get`` until the status is one of ``until``."""
        with anyio.fail_after(timeout):
            while True:
                task = await self.get(task_id)
                if task.status in until:
                    return task
                await anyio.sleep(0.1)


@contextlib.asynccontextmanager
async def connect(url: str) -> AsyncIterator[Client]:
    statuses: list[types.TaskStatusNotificationParams] = []

    async def on_status(params: types.TaskStatusNotificationParams) -> None:
        statuses.append(params)

    binding = NotificationBinding(
        method="notifications/tasks/status",
        params_type=types.TaskStatusNotificationParams,
        handler=on_status,
    )
    async with (
        httpx2.AsyncClient(
            headers={"Authorization": f"Bearer {TOKEN}"}, timeout=httpx2.Timeout(60.0)
        ) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write, notification_bindings=[binding]) as session,
    ):
        client = Client(session, statuses)
        client.init = await session.initialize()
        yield client


def structured(result: types.CallToolResult) -> dict[str, Any]:  # Any: JSON
    assert not result.is_error, text_of(result)
    assert isinstance(result.structured_content, dict)
    return result.structured_content


async def refused(call: Any) -> MCPError:  # Any: an awaitable request
    with pytest.raises(MCPError) as info:
        await call
    return info.value


async def test_tasks_capability_and_tool_level_support(task_server: HttpServer) -> None:
    async with connect(task_server.url) as client:
        assert client.init is not None
        tasks = client.init.capabilities.tasks
        assert tasks is not None
        assert tasks.list is not None
        assert tasks.cancel is not None
        assert tasks.requests is not None
        assert tasks.requests.tools is not None
        assert tasks.requests.tools.call is not None
        listed = await client.session.list_tools()
        support = {t.name: t.execution.task_support if t.execution else None for t in listed.tools}
        assert support["run_task"] == support["resume_task"] == "optional"
        assert {n for n, s in support.items() if s is not None} == {"run_task", "resume_task"}
        # A tool without task support called as a task: -32601, as the specification says.
        error = await refused(client.call_as_task("read_file", {"path": "hello.txt"}))
        assert error.error.code == types.METHOD_NOT_FOUND
        assert "only run_task, resume_task" in error.error.message
        # A 'task' field that is not an object: -32602, no task made.
        headers = {"mcp-protocol-version": LATEST_HANDSHAKE_VERSION}
        bad = await refused(
            client.session._dispatcher.send_raw_request(
                "tools/call",
                {"name": "run_task", "arguments": {"task": "x"}, "task": 5},
                {"headers": headers},
            )
        )
        assert bad.error.code == types.INVALID_PARAMS
        assert "'task' must be an object" in bad.error.message
        # Arguments the tool refuses: the task is made and fails with the tool's own error.
        task = await client.call_as_task("run_task", {"nope": 1})
        failed = await client.poll(task.task_id, {"failed", "completed"})
        assert failed.status == "failed"
        assert failed.status_message is not None
        assert "invalid arguments" in failed.status_message
        result = await client.result(task.task_id)
        assert result.is_error
        assert "invalid arguments" in text_of(result)


async def test_a_task_polled_to_completion(
    task_server: HttpServer, llm_server: ScriptedLLM
) -> None:
    llm_server.script(
        [
            Turn.tool_calls(("read_file", {"path": "hello.txt"})),
            Turn.text("The file greets the world.", delay=1.0),
        ]
    )
    async with connect(task_server.url) as client:
        task = await client.call_as_task("run_task", {"task": "What does hello.txt say?"})
        assert task.status == "working"
        assert task.ttl == 3_600_000
        assert task.poll_interval is not None
        seen = {(await client.get(task.task_id)).status}
        done = await client.poll(task.task_id, {"completed", "failed"})
        seen.add(done.status)
        assert done.status == "completed", done.status_message
        assert seen <= {"working", "completed"}
        result = await client.result(task.task_id)
        data = structured(result)
        assert data["status"] == "completed"
        assert data["answer"] == "The file greets the world."
        assert data["thread_id"].startswith("mcp-")
        assert result.meta is not None
        assert result.meta[RELATED_TASK] == {"taskId": task.task_id}
        listed = await client.list()
        assert task.task_id in [t.task_id for t in listed.tasks]
        # The status change reached this (still connected) session.
        with anyio.fail_after(10):
            while not any(s.status == "completed" for s in client.statuses):
                await anyio.sleep(0.05)
        assert {s.task_id for s in client.statuses} == {task.task_id}


async def test_tasks_result_on_a_running_task_waits_for_the_end(
    task_server: HttpServer, llm_server: ScriptedLLM
) -> None:
    llm_server.script([Turn.text("Slow but sure.", delay=2.0)])
    async with connect(task_server.url) as client:
        task = await client.call_as_task("run_task", {"task": "Take your time"})
        assert (await client.get(task.task_id)).status == "working"
        with anyio.fail_after(60):
            result = await client.result(task.task_id)
        assert structured(result)["answer"] == "Slow but sure."
        assert (await client.get(task.task_id)).status == "completed"


async def test_a_cancelled_task(task_server: HttpServer, llm_server: ScriptedLLM) -> None:
    llm_server.script([Turn.text("too late", delay=30.0)])
    async with connect(task_server.url) as client:
        task = await client.call_as_task(
            "run_task", {"task": "Think slowly", "thread_id": "task-slow-1"}
        )
        await anyio.to_thread.run_sync(lambda: llm_server.wait_for_calls(1, timeout=60))
        cancelled = await client.cancel(task.task_id)
        assert cancelled.status == "cancelled"
        assert (await client.get(task.task_id)).status == "cancelled"
        result = await client.result(task.task_id)
        assert result.is_error
        assert "cancelled" in text_of(result)
        # Cancelling a task that already ended: -32602.
        error = await refused(client.cancel(task.task_id))
        assert error.error.code == types.INVALID_PARAMS
        assert "already ended (cancelled)" in error.error.message
        # The run was stopped: the thread takes the next run at once.
        llm_server.script([Turn.text("Quick answer.")])
        again = await client.session.call_tool(
            "run_task", {"task": "Answer now", "thread_id": "task-slow-1"}
        )
        assert structured(again)["answer"] == "Quick answer."


async def test_a_task_survives_its_client_disconnecting(
    task_server: HttpServer, llm_server: ScriptedLLM
) -> None:
    llm_server.script([Turn.text("Finished while you were away.", delay=2.0)])
    async with connect(task_server.url) as client:
        task = await client.call_as_task("run_task", {"task": "Work while I am gone"})
    # The first session is closed (DELETE): a new session with the same token reaches the task.
    async with connect(task_server.url) as client:
        with anyio.fail_after(60):
            result = await client.result(task.task_id)
        assert structured(result)["answer"] == "Finished while you were away."
        assert task.task_id in [t.task_id for t in (await client.list()).tasks]


async def test_unknown_ids_and_another_live_sessions_tasks_are_refused_alike(
    task_server: HttpServer, llm_server: ScriptedLLM
) -> None:
    llm_server.script([Turn.text("mine", delay=3.0)])
    async with connect(task_server.url) as owner, connect(task_server.url) as other:
        task = await owner.call_as_task("run_task", {"task": "Private work"})
        unknown = await refused(other.get("no-such-task"))
        assert unknown.error.code == types.INVALID_PARAMS
        for call in (
            other.get(task.task_id),
            other.result(task.task_id),
            other.cancel(task.task_id),
        ):
            error = await refused(call)
            # Exactly the unknown id's answer: nothing says the task exists.
            assert error.error.code == unknown.error.code
            assert error.error.message == unknown.error.message
            assert task.task_id not in error.error.message
        assert task.task_id not in [t.task_id for t in (await other.list()).tasks]
        bad_cursor = await refused(other.list(cursor="not-a-cursor"))
        assert bad_cursor.error.code == types.INVALID_PARAMS
        # The owner still has it, untouched.
        assert (await owner.get(task.task_id)).status == "working"
        assert structured(await owner.result(task.task_id))["answer"] == "mine"
        assert not other.statuses


async def test_an_approval_waits_as_input_required_and_resume_task_continues_it(
    task_server: HttpServer, llm_server: ScriptedLLM
) -> None:
    llm_server.script(
        [
            Turn.tool_calls(("write_file", {"path": "task-later.txt", "content": "later\n"})),
            Turn.text("Written after approval."),
        ]
    )
    target = task_server.workspace / "task-later.txt"
    async with connect(task_server.url) as client:
        task = await client.call_as_task("run_task", {"task": "Write task-later.txt"})
        waiting = await client.poll(task.task_id, {"input_required", "completed", "failed"})
        assert waiting.status == "input_required", waiting.status_message
        assert waiting.status_message is not None
        assert "write_file" in waiting.status_message
        assert "resume_task" in waiting.status_message
        assert not target.exists()
        thread_id = waiting.status_message.split("thread_id='")[1].split("'")[0]
        # resume_task as a task on that thread continues the same task.
        resumed = await client.call_as_task(
            "resume_task", {"thread_id": thread_id, "decisions": [{"type": "approve"}]}
        )
        assert resumed.task_id == task.task_id
        done = await client.poll(task.task_id, {"completed", "failed"})
        assert done.status == "completed", done.status_message
        data = structured(await client.result(task.task_id))
        assert data["answer"] == "Written after approval."
    assert target.read_text() == "later\n"


@pytest.fixture(scope="module")
def redis_replicas(
    _llm_server_session: ScriptedLLM,
    redis_server: RedisServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[list[HttpServer], dict[str, str]]]:
    """Two replicas whose checkpoints, threads and task records live in one real Redis."""
    redis_server.start()
    redis_server.flush()
    workspace = tmp_path_factory.mktemp("tasks-redis-ws").resolve()
    populate(workspace)
    env = _llm_server_session.env() | {
        "LUMINAMIND_REDIS_URL": redis_server.url,
        "LUMINAMIND_MCP_TOKEN": TOKEN,
        "LUMINAMIND_SERVER__RATE_LIMIT_PER_MINUTE": "100000",
    }
    homes = [tmp_path_factory.mktemp(f"tasks-redis-{i}") for i in range(2)]
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(start_http_server, workspace, home, env=env) for home in homes]
    try:
        yield [f.result() for f in futures], env
    finally:
        for future in futures:
            if future.exception() is None:
                stop(future.result().process)


async def test_on_redis_another_replica_reaches_the_task(
    redis_replicas: tuple[list[HttpServer], dict[str, str]], llm_server: ScriptedLLM
) -> None:
    llm_server.script([Turn.text("Shared through Redis.", delay=2.0)])
    (first, second), env = redis_replicas
    async with connect(first.url) as client:
        task = await client.call_as_task("run_task", {"task": "Work on replica one"})
    # A new session on the other replica: the record is in Redis; tasks/result there waits
    # for the run on the first replica to end.
    async with connect(second.url) as client:
        assert (await client.get(task.task_id)).status in {"working", "completed"}
        with anyio.fail_after(60):
            result = await client.result(task.task_id)
        assert structured(result)["answer"] == "Shared through Redis."
        assert task.task_id in [t.task_id for t in (await client.list()).tasks]
    # The first replica restarts: the task is still there (its record is in Redis).
    stop(first.process)
    restarted = start_http_server(first.workspace, first.log.parent, env=env)
    try:
        async with connect(restarted.url) as client:
            assert (await client.get(task.task_id)).status == "completed"
            assert structured(await client.result(task.task_id))["answer"] == (
                "Shared through Redis."
            )
    finally:
        stop(restarted.process)


async def test_a_task_over_stdio(
    tmp_path: Path, workspace_dir: Path, llm_server: ScriptedLLM
) -> None:
    populate(workspace_dir)
    home = tmp_path / "home"
    home.mkdir()
    llm_server.script([Turn.text("Answered over stdio.", delay=0.5)])
    async with stdio_session(workspace_dir, home, env=llm_server.env()) as session:
        client = Client(session, [])
        task = await client.call_as_task("run_task", {"task": "Say something"})
        done = await client.poll(task.task_id, {"completed", "failed"})
        assert done.status == "completed", done.status_message
        assert structured(await client.result(task.task_id))["answer"] == "Answered over stdio."
        assert [t.task_id for t in (await client.list()).tasks] == [task.task_id]


async def test_a_plain_resume_task_ends_the_waiting_task_too(
    task_server: HttpServer, llm_server: ScriptedLLM
) -> None:
    llm_server.script(
        [
            Turn.tool_calls(("write_file", {"path": "task-plain.txt", "content": "plain\n"})),
            Turn.text("Written on a plain resume."),
        ]
    )
    async with connect(task_server.url) as client:
        task = await client.call_as_task(
            "run_task", {"task": "Write task-plain.txt", "thread_id": "task-plain-1"}
        )
        waiting = await client.poll(task.task_id, {"input_required", "completed", "failed"})
        assert waiting.status == "input_required", waiting.status_message
        # Not as a task: the call answers in the request, and the waiting task ends with it.
        direct = await client.session.call_tool(
            "resume_task", {"thread_id": "task-plain-1", "decisions": [{"type": "approve"}]}
        )
        assert structured(direct)["answer"] == "Written on a plain resume."
        assert (await client.get(task.task_id)).status == "completed"
        assert structured(await client.result(task.task_id)) == structured(direct)
    assert (task_server.workspace / "task-plain.txt").read_text() == "plain\n"
