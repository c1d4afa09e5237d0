"""Resumable streams: a client loses its connection in the middle of a ``run_task`` and resumes.

Two ``luminamind mcp --http`` replicas share a real Redis (their event logs, checkpoints and
threads) and the scripted LLM. The client is the official MCP client: it records the SSE event
ids it sees (``on_resumption_token_update``), its connection is dropped while the model is still
thinking, and a new connection (same session id, no new handshake) asks for the rest with
``Last-Event-ID``, on the same replica and on the other one.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
import httpx2
import mcp_types as types
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.message import ClientMessageMetadata
from mcp_types.version import LATEST_HANDSHAKE_VERSION

from tests.support.llm_server import ScriptedLLM, Turn
from tests.support.mcp_clients import TOKEN, HttpServer, populate, start_http_server, stop, text_of
from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.slow

TTL_SECONDS = 4.0
# Event ids a client sees of `script_slow_run` before the model's 2 s pause: the priming event,
# the run's start, the tool call and its result. (One more, and the drop races the answer.)
BEFORE_THE_ANSWER = 4
# A resumed run answers within seconds (the scripted model waits 2 s); a lost answer fails.
RESUME_SECONDS = 20.0


@pytest.fixture(scope="module")
def replicas(
    _llm_server_session: ScriptedLLM,
    redis_server: RedisServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[list[HttpServer]]:
    redis_server.start()
    redis_server.flush()
    workspace = tmp_path_factory.mktemp("resume-ws").resolve()
    populate(workspace)
    env = _llm_server_session.env() | {
        "LUMINAMIND_REDIS_URL": redis_server.url,
        "LUMINAMIND_MCP_TOKEN": TOKEN,
        "LUMINAMIND_SERVER__RATE_LIMIT_PER_MINUTE": "100000",
        "LUMINAMIND_SERVER__STREAM_EVENTS_TTL_SECONDS": str(TTL_SECONDS),
    }
    homes = [tmp_path_factory.mktemp(f"resume-{i}") for i in range(2)]
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(start_http_server, workspace, home, env=env) for home in homes]
    try:
        yield [f.result() for f in futures]
    finally:
        for future in futures:
            if future.exception() is None:
                stop(future.result().process)


@pytest.fixture(scope="module")
def memory_server(
    _llm_server_session: ScriptedLLM, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HttpServer]:
    """One replica without Redis: its events in its own memory."""
    workspace = tmp_path_factory.mktemp("resume-mem-ws").resolve()
    populate(workspace)
    env = _llm_server_session.env() | {
        "LUMINAMIND_MCP_TOKEN": TOKEN,
        "LUMINAMIND_SERVER__RATE_LIMIT_PER_MINUTE": "100000",
    }
    server = start_http_server(workspace, tmp_path_factory.mktemp("resume-mem"), env=env)
    yield server
    stop(server.process)


class Connection:
    """One HTTP connection of the official client, remembering the session id it was given."""

    def __init__(self) -> None:
        self.session_id: str | None = None
        self.tokens: list[str] = []
        self.progress: list[str] = []

    async def on_response(self, response: httpx2.Response) -> None:
        self.session_id = response.headers.get("mcp-session-id") or self.session_id

    async def on_token(self, token: str) -> None:
        self.tokens.append(token)

    async def on_progress(self, progress: float, total: float | None, message: str | None) -> None:
        del progress, total
        self.progress.append(message or "")


@contextlib.asynccontextmanager
async def connect(
    url: str, *, session_id: str | None = None, connection: Connection | None = None
) -> AsyncIterator[ClientSession]:
    """A client session; with ``session_id``, an existing session resumed without a handshake."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    if session_id is not None:
        headers |= {"mcp-session-id": session_id, "mcp-protocol-version": LATEST_HANDSHAKE_VERSION}
    hooks = {"response": [connection.on_response]} if connection is not None else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30.0, event_hooks=hooks) as client,
        # The session must outlive this connection: no DELETE on the way out.
        streamable_http_client(url, http_client=client, terminate_on_close=False) as (read, write),
        ClientSession(read, write) as session,
    ):
        if session_id is None:
            await session.initialize()
        yield session


def run_task(task: str) -> types.CallToolRequest:
    return types.CallToolRequest(
        params=types.CallToolRequestParams(name="run_task", arguments={"task": task})
    )


@contextlib.asynccontextmanager
async def started(
    url: str, task: str, *, events: int = BEFORE_THE_ANSWER
) -> AsyncIterator[Connection]:
    """Start ``task``; once ``events`` SSE event ids have arrived, the connection, still open.

    On the way out the connection is dropped: the call is cancelled with resumption hints, so
    the client sends no cancellation and the run goes on.
    """
    first = Connection()
    capture = ClientMessageMetadata(on_resumption_token_update=first.on_token)
    with anyio.fail_after(60):
        async with connect(url, connection=first) as session, anyio.create_task_group() as tg:

            async def call() -> None:
                await session.send_request(
                    run_task(task), types.CallToolResult, None, capture, first.on_progress
                )

            tg.start_soon(call)
            while len(first.tokens) < events:
                await anyio.sleep(0.02)
            try:
                yield first
            finally:
                tg.cancel_scope.cancel()


async def start_and_drop(url: str, task: str, *, events: int = BEFORE_THE_ANSWER) -> Connection:
    """Start ``task`` and drop the connection once ``events`` SSE event ids have arrived."""
    async with started(url, task, events=events) as first:
        return first


async def resume(url: str, first: Connection) -> types.CallToolResult:
    """The rest of ``first``'s run, resumed from its last event id; a lost answer fails."""
    assert first.session_id is not None
    token, seen = first.tokens[-1], list(first.tokens)
    try:
        with anyio.fail_after(RESUME_SECONDS):
            async with connect(url, session_id=first.session_id) as session:
                return await session.send_request(
                    run_task("ignored: resumed"),
                    types.CallToolResult,
                    metadata=ClientMessageMetadata(resumption_token=token),
                )
    except TimeoutError:
        pytest.fail(
            f"no answer {RESUME_SECONDS:g} s after resuming from event {token} (event ids seen "
            f"before: {seen}): the resumed stream lost the run's answer"
        )


def script_slow_run(llm: ScriptedLLM, answer: str) -> None:
    # A tool call gives the client events to see; the answer comes while it is disconnected.
    llm.script(
        [
            Turn.tool_calls(("read_file", {"path": "hello.txt"})),
            Turn.text(answer, delay=2.0),
        ]
    )


def answer_of(result: types.CallToolResult) -> Any:  # Any: JSON
    assert not result.is_error, text_of(result)
    assert isinstance(result.structured_content, dict)
    return result.structured_content


@pytest.mark.parametrize("other_replica", [False, True], ids=["same-replica", "other-replica"])
async def test_resume_after_a_dropped_connection(
    replicas: list[HttpServer], llm_server: ScriptedLLM, other_replica: bool
) -> None:
    script_slow_run(llm_server, "The file greets the world.")
    first = await start_and_drop(replicas[0].url, "What does hello.txt say?")
    assert first.progress, "progress arrived before the drop"
    result = await resume(replicas[1 if other_replica else 0].url, first)
    structured = answer_of(result)
    assert structured["status"] == "completed"
    assert structured["answer"] == "The file greets the world."


async def test_resume_from_memory_and_refuse_an_unknown_id(
    memory_server: HttpServer, llm_server: ScriptedLLM
) -> None:
    script_slow_run(llm_server, "From memory.")
    first = await start_and_drop(memory_server.url, "What does hello.txt say?")
    assert first.session_id is not None
    response = await _raw_resume(memory_server.url, first.session_id, "424242")
    assert response.status_code == 400
    assert "unknown or expired" in response.json()["error"]["message"]
    assert answer_of(await resume(memory_server.url, first))["answer"] == "From memory."


async def test_unknown_and_foreign_event_ids_are_refused(
    replicas: list[HttpServer], llm_server: ScriptedLLM
) -> None:
    # Session A sees many events (a run), session B only its handshake.
    script_slow_run(llm_server, "done")
    first = await start_and_drop(replicas[0].url, "Read hello.txt")
    async with connect(replicas[0].url, connection=(other := Connection())) as session:
        await session.send_ping()
    assert other.session_id is not None
    foreign = first.tokens[-1]  # an id session A has and session B never had
    for replica in replicas:
        for session_id, event_id in ((other.session_id, foreign), (first.session_id, "999999")):
            assert session_id is not None
            response = await _raw_resume(replica.url, session_id, event_id)
            assert response.status_code == 400, response.text
            error = response.json()["error"]
            assert error["code"] == types.INVALID_REQUEST
            assert (
                f"Last-Event-ID '{event_id}' is unknown or expired for this session"
                in (error["message"])
            )
    # Through the official client the 400 reaches the caller (the SDK's transport raises it
    # as an HTTP error); the server keeps serving the session that owns the events.
    with anyio.fail_after(30), pytest.raises(ExceptionGroup) as refused:
        await resume(replicas[1].url, _with_token(other, foreign))
    assert refused.group_contains(httpx2.HTTPStatusError, match="400 Bad Request", depth=None)
    result = await resume(replicas[0].url, first)
    assert answer_of(result)["status"] == "completed"


async def test_resume_while_the_dropped_connection_is_still_open(
    memory_server: HttpServer, llm_server: ScriptedLLM
) -> None:
    # A drop the server has not noticed (a half-open connection, a proxy keeping it): the old
    # stream is still registered when the client resumes, and the resumed stream must still
    # carry the answer (the SDK's own replay closes it without one).
    script_slow_run(llm_server, "Still open.")
    async with started(memory_server.url, "What does hello.txt say?") as first:
        resumed = await resume(memory_server.url, first)
    assert answer_of(resumed)["answer"] == "Still open."


async def test_a_finished_stream_is_not_resumed(
    replicas: list[HttpServer], llm_server: ScriptedLLM
) -> None:
    # The client saw the answer (its event id is the stream's last): nothing follows it, so
    # resuming it is refused with a reason instead of waiting forever.
    llm_server.script([Turn.text("over")])
    finished = Connection()
    capture = ClientMessageMetadata(on_resumption_token_update=finished.on_token)
    async with connect(replicas[0].url, connection=finished) as session:
        result = await session.send_request(
            run_task("Say something"), types.CallToolResult, None, capture
        )
    assert answer_of(result)["answer"] == "over"
    assert finished.session_id is not None
    for replica in replicas:
        response = await _raw_resume(replica.url, finished.session_id, finished.tokens[-1])
        assert response.status_code == 400, response.text
        message = response.json()["error"]["message"]
        assert "is the answer that ended its request's stream" in message
        assert "get_thread" in message


async def test_expired_event_ids_are_refused(
    replicas: list[HttpServer], llm_server: ScriptedLLM
) -> None:
    llm_server.script([Turn.text("quick")])
    first = await start_and_drop(replicas[0].url, "Say something", events=2)
    await anyio.sleep(TTL_SECONDS + 1.0)
    assert first.session_id is not None
    for replica in replicas:
        response = await _raw_resume(replica.url, first.session_id, first.tokens[-1])
        assert response.status_code == 400
        assert "unknown or expired" in response.json()["error"]["message"]


def _with_token(connection: Connection, token: str) -> Connection:
    copy = Connection()
    copy.session_id = connection.session_id
    copy.tokens = [token]
    return copy


async def _raw_resume(url: str, session_id: str, event_id: str) -> httpx2.Response:
    """The GET a client sends to resume, to read the refusal's status and body."""
    async with httpx2.AsyncClient(timeout=10.0) as client:
        return await client.get(
            url,
            headers={
                "Authorization": f"Bearer {TOKEN}",
                "Accept": "text/event-stream",
                "mcp-session-id": session_id,
                "mcp-protocol-version": LATEST_HANDSHAKE_VERSION,
                "last-event-id": event_id,
            },
        )
