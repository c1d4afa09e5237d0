"""The LLM response cache with a real ChatOpenAI against a local OpenAI-compatible server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_openai import ChatOpenAI
from pydantic import SecretStr
from structlog.testing import capture_logs

from luminamind.config import load_settings
from luminamind.state.cache import MemoryCacheBackend
from luminamind.state.llm_cache import LlmResponseCache, build_llm_cache
from tests.support.http_servers import LocalHttpServer, Reply, Request


def completion(request: Request) -> Reply:
    """Answers like OpenAI's /chat/completions, echoing the last user message."""
    body = request.json()
    last = body["messages"][-1]["content"]
    return Reply.json(
        {
            "id": f"chatcmpl-{time.monotonic_ns()}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": f"echo: {last}"},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
            "system_fingerprint": "fp_test",
        }
    )


@pytest.fixture(scope="module")
def llm_server() -> Iterator[LocalHttpServer]:
    with LocalHttpServer() as server:
        server.route("/v1/chat/completions", completion)
        yield server


def model(server: LocalHttpServer, cache: Any, **kwargs: Any) -> ChatOpenAI:
    return ChatOpenAI(
        model="glm-test",
        base_url=server.url("/v1"),
        api_key=SecretStr("sk-test-key-for-the-local-server"),
        max_retries=0,
        cache=cache,
        **{"temperature": 0.0, **kwargs},
    )


async def test_second_identical_call_is_served_from_the_cache(
    llm_server: LocalHttpServer, tmp_path: Path
) -> None:
    settings = load_settings(
        workspace=tmp_path, data_dir=tmp_path / "data", model={"temperature": 0}
    )
    cache = build_llm_cache(settings)  # auto + temperature 0: on, SQLite by default
    assert isinstance(cache, LlmResponseCache)
    llm = model(llm_server, cache)
    before = llm_server.count("/v1/chat/completions")

    first = llm.invoke([HumanMessage("hello")])
    second = llm.invoke([HumanMessage("hello")])
    assert first.content == second.content == "echo: hello"
    assert isinstance(second, AIMessage)
    assert llm_server.count("/v1/chat/completions") - before == 1

    # Async calls share the entries; other messages or parameters are other entries.
    assert (await llm.ainvoke([HumanMessage("hello")])).content == "echo: hello"
    assert llm_server.count("/v1/chat/completions") - before == 1
    await llm.ainvoke([HumanMessage("something else")])
    assert llm_server.count("/v1/chat/completions") - before == 2
    model(llm_server, cache, max_tokens=50).invoke([HumanMessage("hello")])
    assert llm_server.count("/v1/chat/completions") - before == 3

    # Entries survive in the SQLite file: a new cache over it answers without the server.
    cache.close()
    reopened = build_llm_cache(settings)
    assert reopened is not None
    model(llm_server, reopened).invoke([HumanMessage("hello")])
    assert llm_server.count("/v1/chat/completions") - before == 3
    reopened.clear()
    model(llm_server, reopened).invoke([HumanMessage("hello")])
    assert llm_server.count("/v1/chat/completions") - before == 4
    assert reopened is not None
    reopened.close()


async def test_a_broken_backend_answers_from_the_model(llm_server: LocalHttpServer) -> None:
    class Broken(MemoryCacheBackend):
        name = "broken"

        async def aget(self, key: str) -> bytes | None:
            raise ConnectionError("cache store unreachable")

        async def aset(self, key: str, value: bytes, *, ttl_seconds: float) -> None:
            raise ConnectionError("cache store unreachable")

    cache = LlmResponseCache(Broken())
    llm = model(llm_server, cache)
    before = llm_server.count("/v1/chat/completions")
    with capture_logs() as logs:
        for _ in range(3):
            assert llm.invoke([HumanMessage("hi")]).content == "echo: hi"
    assert llm_server.count("/v1/chat/completions") - before == 3
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["cache_backend_failed"]
    cache.close()


@pytest.mark.parametrize(
    ("mode", "temperature", "enabled"),
    [("auto", 0.0, True), ("auto", 0.7, False), ("on", 0.7, True), ("off", 0.0, False)],
)
def test_when_the_llm_cache_is_on(
    tmp_path: Path, mode: str, temperature: float, enabled: bool
) -> None:
    settings = load_settings(
        workspace=tmp_path,
        cache={"llm_cache": mode, "backend": "memory"},
        model={"temperature": temperature},
    )
    cache = build_llm_cache(settings)
    assert (cache is not None) is enabled
    if cache is not None:
        cache.close()
