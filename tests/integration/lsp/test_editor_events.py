"""LuminaMind's own notifications for a client that renders runs itself (the VS Code extension).

A client declaring ``experimental.luminamind.events`` gets every agent event as
``luminamind/event`` and ``luminamind/runEnded`` at the end, and no work-done progress; the
thread commands (``threadState``, ``deleteThread``) feed its thread list and agent view.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient, client_capabilities
from pytest_lsp.client import make_test_lsp_client

from luminamind_lsp import build_server
from tests.integration.lsp.conftest import BIN, execute
from tests.support.llm_server import ScriptedLLM, Turn


@pytest_asyncio.fixture
async def events_client(
    project: Path, tmp_path: Path, llm_server: ScriptedLLM
) -> AsyncIterator[LanguageClient]:
    client = make_test_lsp_client()
    client.events: list[dict[str, Any]] = []  # type: ignore[misc,attr-defined]
    client.ended: list[dict[str, Any]] = []  # type: ignore[misc,attr-defined]

    @client.feature("luminamind/event")
    def on_event(client: LanguageClient, params: Any) -> None:
        client.events.append(_json(params))  # type: ignore[attr-defined]

    @client.feature("luminamind/runEnded")
    def on_ended(client: LanguageClient, params: Any) -> None:
        client.ended.append(_json(params))  # type: ignore[attr-defined]

    capabilities = client_capabilities("visual-studio-code")
    capabilities.experimental = {"luminamind": {"events": True}}
    env = {
        **os.environ,
        **llm_server.env(),
        "LUMINAMIND_DATA_DIR": str(tmp_path / "lsp-data"),
        "LUMINAMIND_CACHE__BACKEND": "memory",
    }
    await client.start_io(BIN, "lsp", "--stdio", env=env, cwd=str(project))
    await client.initialize_session(
        lsp.InitializeParams(
            capabilities=capabilities,
            root_uri=project.as_uri(),
            workspace_folders=[lsp.WorkspaceFolder(uri=project.as_uri(), name="project")],
        )
    )
    yield client
    await client.shutdown_session()
    await client.stop()


def _json(value: Any) -> Any:  # Any: JSON; pygls hands unknown params over as namedtuples
    if hasattr(value, "_asdict"):
        return {k: _json(v) for k, v in value._asdict().items()}
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value


async def test_a_run_streams_its_events_and_ends_without_work_done_progress(
    events_client: LanguageClient, llm_server: ScriptedLLM
) -> None:
    llm_server.script([Turn.text("It adds two numbers.")])
    result = await execute(events_client, "luminamind.ask", {"prompt": "What does calc do?"})
    assert result["status"] == "completed"
    for _ in range(50):  # notifications sent before the reply may be read after it
        if events_client.ended:  # type: ignore[attr-defined]
            break
        await asyncio.sleep(0.05)
    kinds = [e["event"]["type"] for e in events_client.events]  # type: ignore[attr-defined]
    assert kinds[0] == "run_started"
    assert "text_delta" in kinds
    assert kinds[-1] == "final_answer"
    assert {e["threadId"] for e in events_client.events} == {result["threadId"]}  # type: ignore[attr-defined]
    assert events_client.ended == [  # type: ignore[attr-defined]
        {"threadId": result["threadId"], "title": "LuminaMind: ask", "outcome": "done"}
    ]
    assert events_client.progress_reports == {}


async def test_reasoning_reaches_the_client_apart_from_the_answer(
    events_client: LanguageClient, llm_server: ScriptedLLM
) -> None:
    thought = "The user asks about calc. <img src=x onerror=alert(1)> It adds."
    llm_server.script([Turn.text("It adds two numbers.", reasoning=thought)])
    result = await execute(events_client, "luminamind.ask", {"prompt": "What does calc do?"})
    assert result["status"] == "completed"
    for _ in range(50):
        if events_client.ended:  # type: ignore[attr-defined]
            break
        await asyncio.sleep(0.05)
    events = [e["event"] for e in events_client.events]  # type: ignore[attr-defined]
    thinking = [e for e in events if e["type"] == "reasoning_delta"]
    assert len(thinking) > 1  # streamed as it comes, not once at the end
    assert "".join(e["text"] for e in thinking) == thought
    assert {e["agent"] for e in thinking} == {"main"}
    kinds = [e["type"] for e in events]
    assert kinds.index("text_delta") > max(i for i, k in enumerate(kinds) if k == "reasoning_delta")
    answer = "".join(e["text"] for e in events if e["type"] == "text_delta")
    assert answer == "It adds two numbers."
    # The thread as checkpointed keeps the reasoning beside the answer, not in it.
    state = await execute(events_client, "luminamind.threadState", {"threadId": result["threadId"]})
    last = state["messages"][-1]
    assert (last["content"], last["reasoning"]) == ("It adds two numbers.", thought)


async def test_thread_state_and_delete(
    events_client: LanguageClient, llm_server: ScriptedLLM
) -> None:
    empty = await execute(events_client, "luminamind.threadState", {})
    assert empty["exists"] is False
    assert empty["messages"] == []
    llm_server.script([Turn.text("Hello there.")])
    await execute(events_client, "luminamind.ask", {"prompt": "Say hello"})
    state = await execute(events_client, "luminamind.threadState", {})
    assert state["exists"] is True
    assert state["threadId"] == empty["threadId"]
    assert [m["role"] for m in state["messages"]][-1] == "assistant"
    assert state["messages"][-1]["content"] == "Hello there."
    assert state["running"] is False
    deleted = await execute(events_client, "luminamind.deleteThread", {})
    assert deleted == {"threadId": empty["threadId"], "deleted": True}
    again = await execute(events_client, "luminamind.threadState", {})
    assert again["exists"] is False


def test_a_cancel_that_crosses_the_reply_is_not_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    server = build_server()
    with caplog.at_level(logging.DEBUG, logger="pygls"):
        server.protocol._handle_cancel_notification(12345)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
