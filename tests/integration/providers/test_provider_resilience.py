"""Retries, Retry-After, circuit breaking, fallback and typed errors, end to end.

Every test runs the real ChatOpenAI / ChatOllama built by `build_chat_model` against the scripted
LLM server, mostly inside a real ``create_agent`` graph with `provider_middleware`, so the
middleware order and LangChain's fallback are exercised as the agent uses them.
"""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.tools import tool
from prometheus_client import REGISTRY

from luminamind.config import Settings
from luminamind.errors import (
    ConfigError,
    ProviderError,
    ProviderRateLimitError,
    ProviderTimeoutError,
    ProviderUnavailableError,
)
from luminamind.providers import (
    CircuitBreakers,
    ResilientModel,
    build_chat_model,
    provider_middleware,
)
from tests.support.fixtures import scripted_settings
from tests.support.llm_server import ScriptedLLM, Turn


@tool
def read_file(path: str) -> str:
    """Read a file."""
    return f"{path}: x = 42"


def _agent(settings: Settings, *, breakers: CircuitBreakers | None = None) -> Any:
    return create_agent(
        build_chat_model(settings),
        [read_file],
        middleware=provider_middleware(settings, breakers=breakers),
    )


async def _ask(agent: Any, text: str = "question") -> str:
    result = await agent.ainvoke({"messages": [("user", text)]})
    return str(result["messages"][-1].content)


def _count(outcome: str, model: str = "scripted") -> float:
    value = REGISTRY.get_sample_value(
        "luminamind_llm_requests_total", {"model": model, "outcome": outcome}
    )
    return value or 0.0


def _tokens(direction: str, model: str = "scripted") -> float:
    value = REGISTRY.get_sample_value(
        "luminamind_llm_tokens_total", {"model": model, "direction": direction}
    )
    return value or 0.0


async def test_429_twice_then_success_honours_retry_after(
    llm_settings: Settings, llm_server: ScriptedLLM
) -> None:
    llm_server.script(
        [Turn.error(429, retry_after=0.15), Turn.error(429, retry_after=0.15), Turn.text("ok")]
    )
    before = _count("rate_limit")
    started = time.perf_counter()
    assert await _ask(_agent(llm_settings)) == "ok"
    # The backoff alone would be ~0.03 s; Retry-After asked for 2 x 0.15 s.
    assert time.perf_counter() - started >= 0.3
    assert len(llm_server.calls) == 3
    assert _count("rate_limit") - before == 2
    llm_server.assert_done()


async def test_500_is_retried_and_the_tool_loop_continues(
    llm_settings: Settings, llm_server: ScriptedLLM
) -> None:
    llm_server.script(
        [
            Turn.error(500),
            Turn.tool_calls(("read_file", {"path": "a.py"})),
            Turn.error(503),
            Turn.text("a.py sets x to 42"),
        ]
    )
    assert await _ask(_agent(llm_settings)) == "a.py sets x to 42"
    assert llm_server.calls[3].tool_results == ["a.py: x = 42"]
    llm_server.assert_done()


async def test_rate_limit_after_every_retry_is_a_rate_limit_error(
    llm_settings: Settings, llm_server: ScriptedLLM
) -> None:
    llm_server.script([Turn.error(429, message="quota")] * 3)
    with pytest.raises(ProviderRateLimitError, match=r"HTTP 429 after 3 attempts\): quota"):
        await _ask(_agent(llm_settings))
    llm_server.assert_done()


async def test_retry_after_longer_than_the_cap_fails_at_once(
    llm_settings: Settings, llm_server: ScriptedLLM
) -> None:
    llm_server.script([Turn.error(429, retry_after=60)])
    with pytest.raises(ProviderRateLimitError, match="asked to wait 60s"):
        await _ask(_agent(llm_settings))
    assert len(llm_server.calls) == 1


async def test_timeouts_open_the_circuit_then_calls_fail_fast(
    settings: Settings, llm_server: ScriptedLLM
) -> None:
    fast = scripted_settings(
        settings,
        llm_server,
        timeout_seconds=0.2,
        max_retries=2,
        circuit_failure_threshold=3,
        circuit_reset_seconds=30,
    )
    llm_server.script([Turn.hang(1.0)] * 3)
    agent = _agent(fast)
    with pytest.raises(ProviderTimeoutError, match=r"did not answer within 0.2s \(3 attempts\)"):
        await _ask(agent)
    started = time.perf_counter()
    with pytest.raises(ProviderUnavailableError) as caught:
        await _ask(agent)
    assert time.perf_counter() - started < 0.1
    assert caught.value.message.startswith(
        f"circuit open for openai at {llm_server.base_url} after 3 failures; retrying in 30s"
    )
    assert len(llm_server.calls) == 3  # the open circuit sent nothing


async def test_circuit_half_opens_after_the_cool_down_and_closes_on_success(
    settings: Settings, llm_server: ScriptedLLM
) -> None:
    breakers = CircuitBreakers(threshold=2, reset_after=0.2)
    cfg = scripted_settings(settings, llm_server, max_retries=1)
    agent = _agent(cfg, breakers=breakers)
    llm_server.script([Turn.error(502), Turn.error(502)])
    with pytest.raises(ProviderUnavailableError, match="HTTP 502"):
        await _ask(agent)
    assert list(breakers.states().values()) == ["open"]
    with pytest.raises(ProviderUnavailableError, match="circuit open"):
        await _ask(agent)
    time.sleep(0.25)
    assert list(breakers.states().values()) == ["half_open"]
    # The probe fails: open again at once, after one failure rather than two.
    llm_server.script([Turn.error(503)])
    with pytest.raises(ProviderUnavailableError, match="HTTP 503 \\(1 attempt\\)"):
        await _ask(agent)
    assert list(breakers.states().values()) == ["open"]
    time.sleep(0.25)
    llm_server.script([Turn.text("healthy again")])
    assert await _ask(agent) == "healthy again"
    assert list(breakers.states().values()) == ["closed"]
    llm_server.assert_done()


async def test_fallback_model_answers_when_the_primary_fails(
    settings: Settings, llm_server: ScriptedLLM
) -> None:
    cfg = scripted_settings(settings, llm_server, fallback_model="openai:backup")
    llm_server.script([Turn.error(500)] * 3, model="scripted")
    llm_server.script([Turn.text("from the backup")], model="backup")
    assert await _ask(_agent(cfg)) == "from the backup"
    assert [c.model for c in llm_server.calls] == ["scripted"] * 3 + ["backup"]
    llm_server.assert_done()


async def test_fallback_may_be_another_provider(
    settings: Settings, llm_server: ScriptedLLM
) -> None:
    cfg = scripted_settings(settings, llm_server, fallback_model="ollama:local", max_retries=0)
    llm_server.script([Turn.error(503)])
    llm_server.script([Turn.text("ollama to the rescue")], model="local")
    assert await _ask(_agent(cfg)) == "ollama to the rescue"
    assert [c.api for c in llm_server.calls] == ["openai", "ollama"]


async def test_client_errors_are_not_retried(
    llm_settings: Settings, llm_server: ScriptedLLM
) -> None:
    llm_server.script([Turn.error(400, message="messages: bad role")])
    with pytest.raises(ProviderError, match=r"rejected the request \(HTTP 400\)") as caught:
        await _ask(_agent(llm_settings))
    assert type(caught.value) is ProviderError
    assert len(llm_server.calls) == 1


async def test_bad_key_and_unknown_model_say_what_to_set(
    llm_settings: Settings, llm_server: ScriptedLLM
) -> None:
    llm_server.script([Turn.error(401, message="invalid api key"), Turn.error(404)])
    with pytest.raises(ConfigError, match="Set GLM_API_KEY or OPENAI_API_KEY to a valid key"):
        await _ask(_agent(llm_settings))
    with pytest.raises(ConfigError, match=r"does not exist \(HTTP 404\).*LUMINAMIND_MODEL\)"):
        await _ask(_agent(llm_settings))
    assert len(llm_server.calls) == 2


async def test_unreachable_endpoint_is_one_clear_error(settings: Settings) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    cfg = settings.model_copy(
        update={
            "openai_base_url": url,
            "model": settings.model.model_copy(
                update={"model": "openai:m", "max_retries": 1, "retry_initial_delay": 0.01}
            ),
        }
    )
    with pytest.raises(ProviderUnavailableError) as caught:
        await _ask(_agent(cfg))
    message = caught.value.message
    assert message.startswith(f"cannot reach openai model 'm' at {url} (2 attempts)")
    assert "Check OPENAI_BASE_URL" in message


async def test_token_and_request_metrics(llm_settings: Settings, llm_server: ScriptedLLM) -> None:
    llm_server.script([Turn.text("counted", usage=(11, 3))])
    before = (_tokens("input"), _tokens("output"), _count("ok"))
    await _ask(_agent(llm_settings))
    after = (_tokens("input"), _tokens("output"), _count("ok"))
    assert (after[0] - before[0], after[1] - before[1], after[2] - before[2]) == (11, 3, 1)
    duration = REGISTRY.get_sample_value(
        "luminamind_llm_duration_seconds_count", {"model": "scripted"}
    )
    assert duration is not None
    assert duration >= 1


async def test_ollama_agent_round_trip_with_retry(
    settings: Settings, llm_server: ScriptedLLM
) -> None:
    cfg = scripted_settings(settings, llm_server).model_copy(update={"llm_provider": "ollama"})
    cfg.model = cfg.model.model_copy(update={"model": "ollama:qwen3:latest"})
    llm_server.script(
        [
            Turn.error(503, message="model is loading"),
            Turn.tool_calls(("read_file", {"path": "o.py"})),
            Turn.text("o.py holds 42", usage=(5, 2)),
        ]
    )
    before = _tokens("input", model="qwen3:latest")
    assert await _ask(_agent(cfg)) == "o.py holds 42"
    assert {c.api for c in llm_server.calls} == {"ollama"}
    assert llm_server.calls[0].model == "qwen3:latest"
    assert llm_server.calls[2].tool_results == ["o.py: x = 42"]
    assert _tokens("input", model="qwen3:latest") - before >= 5
    llm_server.assert_done()


async def test_ollama_down_names_ollama_serve(settings: Settings) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cfg = settings.model_copy(
        update={
            "llm_provider": "ollama",
            "ollama_base_url": f"http://127.0.0.1:{port}",
            "model": settings.model.model_copy(update={"max_retries": 0}),
        }
    )
    with pytest.raises(ProviderUnavailableError, match=r"Is Ollama running \(ollama serve\)"):
        await ResilientModel(cfg).ainvoke("hi")


def test_sync_agent_path_retries_too(llm_settings: Settings, llm_server: ScriptedLLM) -> None:
    llm_server.script([Turn.error(429, retry_after=0.05), Turn.text("sync ok")])
    result = _agent(llm_settings).invoke({"messages": [("user", "hi")]})
    assert result["messages"][-1].content == "sync ok"
    llm_server.assert_done()


async def test_streamed_agent_tokens_arrive_after_a_retry(
    llm_settings: Settings, llm_server: ScriptedLLM
) -> None:
    llm_server.script([Turn.error(500), Turn.text("streamed words arrive")])
    pieces = []
    async for chunk, _meta in _agent(llm_settings).astream(
        {"messages": [("user", "hi")]}, stream_mode="messages"
    ):
        if chunk.content:
            pieces.append(chunk.content)
    assert len(pieces) >= 3
    assert "".join(pieces).startswith("streamed words arrive")


async def test_a_stream_cut_mid_answer_is_retried_from_the_start(
    llm_settings: Settings, llm_server: ScriptedLLM
) -> None:
    llm_server.script([Turn.text("partial answer that dies", cut_after=3), Turn.text("whole")])
    pieces = []
    async for chunk, _meta in _agent(llm_settings).astream(
        {"messages": [("user", "hi")]}, stream_mode="messages"
    ):
        pieces.append(chunk.content)
    # The UI saw the dead attempt's first words, then the retry's answer (docs/providers.md).
    text = [p for p in pieces if p]
    assert text == ["partial ", "answer ", "whole"]
    llm_server.assert_done()


async def test_resilient_model_without_an_agent(
    settings: Settings, llm_server: ScriptedLLM
) -> None:
    cfg = scripted_settings(settings, llm_server, fallback_model="openai:backup", max_retries=0)
    llm_server.script([Turn.error(500), Turn.text("plain")], model="scripted")
    llm_server.script([Turn.text("backup answered")], model="backup")
    model = ResilientModel(cfg)
    assert (await model.ainvoke("x")).content == "backup answered"
    assert model.invoke("x").content == "plain"
    llm_server.assert_done()
