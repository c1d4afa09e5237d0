"""`OpenAICompatibleChat` builds each request once and sends what stock `ChatOpenAI` sends.

Its clients skip the OpenAI SDK's parameter transform and its tool schemas are converted once
(`luminamind.providers.openai_requests`); both must be invisible on the wire: the scripted server
receives the same JSON bodies and headers from both classes, for plain, tool-calling, streamed,
blocking, sync and async calls, and structured output still goes through the SDK's own path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.tools import BaseTool, tool
from langchain_openai import ChatOpenAI
from openai._utils import async_maybe_transform
from openai.types.chat import completion_create_params
from pydantic import BaseModel

from luminamind.providers.openai_compat import OpenAICompatibleChat
from luminamind.providers.openai_requests import UntransformedCompletions
from tests.support.llm_server import ScriptedLLM, Turn

# Headers that differ between two otherwise equal requests.
_VARYING = {"x-stainless-retry-count", "x-stainless-read-timeout"}


class Limits(BaseModel):
    """Nested argument schema: the transform would walk it."""

    max_lines: int = 100
    context: list[str] = []


@tool
def read_file(path: str, limits: Limits | None = None) -> str:
    """Read a file."""
    return f"contents of {path}"


@tool
def grep_search(pattern: str, paths: list[str] | None = None) -> str:
    """Search files."""
    return f"matches for {pattern}"


TOOLS: list[BaseTool] = [read_file, grep_search]
HISTORY: list[BaseMessage] = [
    SystemMessage("You are terse."),
    HumanMessage("What does a.py say? Also look at this.\n\u00e9\u4e2d"),
    AIMessage(
        "",
        tool_calls=[
            {"name": "read_file", "args": {"path": "a.py", "limits": {"max_lines": 3}}, "id": "c1"}
        ],
    ),
    ToolMessage("x = 42", tool_call_id="c1"),
]


_NO_KEEPALIVE = httpx.Limits(max_keepalive_connections=0)
_OPEN: list[httpx.Client | httpx.AsyncClient] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _OPEN:
        client = _OPEN.pop()
        if isinstance(client, httpx.Client):
            client.close()
        else:
            asyncio.run(client.aclose())


def _models(server: ScriptedLLM, seen: list[httpx.Request]) -> list[ChatOpenAI]:
    def record(request: httpx.Request) -> None:
        seen.append(request)

    async def arecord(request: httpx.Request) -> None:
        seen.append(request)

    common: dict[str, Any] = {  # Any: constructor arguments
        "base_url": server.base_url,
        "api_key": "k",
        "model": "scripted",
        "max_retries": 0,
        "stream_usage": True,
        "temperature": 0.2,
        "max_tokens": 64,
    }
    models = []
    for cls in (ChatOpenAI, OpenAICompatibleChat):
        # No keep-alive (as the factory's clients): no pooled socket outlives its loop.
        sync = httpx.Client(event_hooks={"request": [record]}, limits=_NO_KEEPALIVE)
        async_ = httpx.AsyncClient(event_hooks={"request": [arecord]}, limits=_NO_KEEPALIVE)
        _OPEN.extend([sync, async_])
        models.append(cls(**common, http_client=sync, http_async_client=async_))
    return models


def _same_on_the_wire(server: ScriptedLLM, seen: list[httpx.Request]) -> None:
    stock, ours = server.requests
    assert ours == stock
    headers = [
        {
            k: v
            for k, v in r.headers.items()
            if k not in _VARYING and not k.startswith("x-stainless-o")
        }
        for r in seen
    ]
    assert headers[1] == headers[0]
    assert headers[1]["authorization"] == "Bearer k"
    assert seen[1].url == seen[0].url


def test_clients_are_wrapped_and_keep_the_sdks_other_methods(llm_server: ScriptedLLM) -> None:
    _, ours = _models(llm_server, [])
    assert isinstance(ours.async_client, UntransformedCompletions)
    assert isinstance(ours.client, UntransformedCompletions)
    # Everything but create is the SDK resource's own.
    assert ours.async_client.with_raw_response is not None
    assert callable(ours.client.retrieve)


async def test_async_stream_with_tools_sends_the_same_request(llm_server: ScriptedLLM) -> None:
    seen: list[httpx.Request] = []
    llm_server.script([Turn.tool_calls(("grep_search", {"pattern": "x"}))] * 2)
    answers: list[AIMessageChunk] = []
    for model in _models(llm_server, seen):
        bound = model.bind_tools(TOOLS, tool_choice="auto")
        merged: AIMessageChunk | None = None
        async for chunk in bound.astream(HISTORY):
            assert isinstance(chunk, AIMessageChunk)
            merged = chunk if merged is None else merged + chunk
        assert merged is not None
        answers.append(merged)
    _same_on_the_wire(llm_server, seen)
    assert llm_server.calls[1].stream
    assert llm_server.requests[1]["tools"][0]["function"]["name"] == "read_file"
    assert answers[0].tool_calls[0]["args"] == {"pattern": "x"}
    assert answers[1].tool_calls[0]["args"] == {"pattern": "x"}
    assert answers[1].usage_metadata == answers[0].usage_metadata


def test_sync_blocking_call_sends_the_same_request(llm_server: ScriptedLLM) -> None:
    seen: list[httpx.Request] = []
    llm_server.script([Turn.text("It is 42.", usage=(10, 4))] * 2)
    answers = [
        m.bind_tools(TOOLS).invoke(HISTORY, stop=["\n\n"]) for m in _models(llm_server, seen)
    ]
    _same_on_the_wire(llm_server, seen)
    assert not llm_server.calls[1].stream
    assert answers[1].content == answers[0].content == "It is 42."
    assert answers[1].usage_metadata == answers[0].usage_metadata


def test_tool_schemas_are_converted_once_and_equal_langchains(llm_server: ScriptedLLM) -> None:
    stock, ours = _models(llm_server, [])
    first = ours.bind_tools(TOOLS).kwargs["tools"]  # type: ignore[attr-defined]
    second = ours.bind_tools([*TOOLS, {"type": "function", "function": {"name": "raw"}}])
    assert first == stock.bind_tools(TOOLS).kwargs["tools"]  # type: ignore[attr-defined]
    # The same dicts again (converted once), and dict tools pass through untouched.
    assert all(a is b for a, b in zip(first, second.kwargs["tools"], strict=False))  # type: ignore[attr-defined]
    assert second.kwargs["tools"][2] == {"type": "function", "function": {"name": "raw"}}  # type: ignore[attr-defined]
    # strict changes the schema: converted as LangChain does, not from the cache.
    strict = ours.bind_tools(TOOLS, strict=True).kwargs["tools"]  # type: ignore[attr-defined]
    assert strict == stock.bind_tools(TOOLS, strict=True).kwargs["tools"]  # type: ignore[attr-defined]
    assert strict[0]["function"]["strict"] is True


def test_the_sdk_transform_is_still_the_identity_on_such_requests(llm_server: ScriptedLLM) -> None:
    """If an SDK upgrade makes the transform rename or reformat a field, skipping it is wrong."""
    _, ours = _models(llm_server, [])
    bound = ours.bind_tools(TOOLS, tool_choice="read_file", parallel_tool_calls=False)
    for stream in (True, False):
        payload = ours._get_request_payload(HISTORY, stream=stream, **bound.kwargs)  # type: ignore[attr-defined]
        params = (
            completion_create_params.CompletionCreateParamsStreaming
            if stream
            else completion_create_params.CompletionCreateParamsNonStreaming
        )
        transformed = asyncio.run(async_maybe_transform(payload, params))
        assert transformed == payload
        assert payload["tool_choice"] == {"type": "function", "function": {"name": "read_file"}}


def test_structured_output_keeps_the_sdks_path(llm_server: ScriptedLLM) -> None:
    seen: list[httpx.Request] = []
    llm_server.script([Turn.text('{"max_lines": 5, "context": ["a"]}')] * 2)
    for model in _models(llm_server, seen):
        structured = model.with_structured_output(Limits, method="json_mode")
        assert structured.invoke("limits?") == Limits(max_lines=5, context=["a"])
    _same_on_the_wire(llm_server, seen)
    assert llm_server.requests[1]["response_format"] == {"type": "json_object"}
