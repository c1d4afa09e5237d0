"""The scripted LLM server against the real LangChain clients (ChatOpenAI, ChatOllama).

If these pass, a test that scripts the server exercises the same HTTP, streaming and tool-call
merging code as production does against api.z.ai, OpenAI or a real Ollama.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ToolMessage
from langchain_core.tools import tool
from langchain_ollama import ChatOllama
from langchain_openai import ChatOpenAI

from tests.support.llm_script import LLMRequest, Script, ToolCall
from tests.support.llm_server import EXHAUSTED_TEXT, ScriptedLLM, Turn

REPO = Path(__file__).resolve().parents[3]


@tool
def read_file(path: str) -> str:
    """Read a file."""
    return f"contents of {path}"


@tool
def grep_search(pattern: str) -> str:
    """Search files."""
    return f"matches for {pattern}"


def _openai(server: ScriptedLLM, *, model: str = "scripted", **kw: Any) -> ChatOpenAI:
    return ChatOpenAI(
        base_url=server.base_url,
        api_key="k",
        model=model,
        max_retries=0,
        stream_usage=True,
        **kw,
    )


@pytest.fixture
def ollama(llm_server: ScriptedLLM) -> Iterator[ChatOllama]:
    model = ChatOllama(base_url=llm_server.ollama_url, model="scripted")
    yield model
    # ChatOllama owns its httpx clients; close them so no socket is left to the GC.
    model._client._client.close()


def _merge(chunks: Iterable[BaseMessage]) -> AIMessageChunk:
    """The streamed chunks added up (a bound model's stream is typed as whole messages)."""
    merged: AIMessageChunk | None = None
    for chunk in chunks:
        assert isinstance(chunk, AIMessageChunk)
        merged = chunk if merged is None else merged + chunk
    assert merged is not None
    return merged


def test_openai_invoke_returns_scripted_text_and_usage(llm_server: ScriptedLLM) -> None:
    llm_server.script([Turn.text("Hello there", usage=(11, 3))])
    answer = _openai(llm_server).invoke("hi")
    assert answer.content == "Hello there"
    assert isinstance(answer, AIMessage)
    assert answer.usage_metadata is not None
    assert (answer.usage_metadata["input_tokens"], answer.usage_metadata["output_tokens"]) == (
        11,
        3,
    )
    assert llm_server.requests[0]["messages"] == [{"role": "user", "content": "hi"}]
    llm_server.assert_done()


def test_openai_stream_arrives_in_several_chunks_with_usage(llm_server: ScriptedLLM) -> None:
    llm_server.script([Turn.text("one two three four")])
    chunks = list(_openai(llm_server).stream("hi"))
    merged = _merge(chunks)
    assert len([c for c in chunks if c.content]) == 4
    assert merged.content == "one two three four"
    assert merged.usage_metadata is not None
    assert merged.usage_metadata["total_tokens"] > 0
    assert llm_server.calls[0].stream
    assert llm_server.requests[0]["stream_options"] == {"include_usage": True}


def test_openai_stream_sends_reasoning_content_deltas_before_the_answer(
    llm_server: ScriptedLLM,
) -> None:
    # As GLM and DeepSeek stream it: ``reasoning_content`` deltas with empty content, then the
    # answer. Read with the official openai client, which keeps unknown delta fields.
    thought = "Think about it. Then <b>answer</b>."
    llm_server.script([Turn.text("The answer.", reasoning=thought), Turn.text("x", reasoning="r")])
    client = openai.OpenAI(base_url=llm_server.base_url, api_key="k", max_retries=0)
    with client:
        stream = client.chat.completions.create(
            model="scripted", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        deltas = [c.choices[0].delta for c in stream if c.choices]
        whole = client.chat.completions.create(
            model="scripted", messages=[{"role": "user", "content": "hi"}]
        )
    pieces = [(d.model_extra or {}).get("reasoning_content") or "" for d in deltas]
    assert len([p for p in pieces if p]) > 1
    assert "".join(pieces) == thought
    last_thought = max(i for i, p in enumerate(pieces) if p)
    first_text = min(i for i, d in enumerate(deltas) if d.content)
    assert last_thought < first_text
    assert "".join(d.content or "" for d in deltas) == "The answer."
    message = whole.choices[0].message
    assert (message.content, (message.model_extra or {}).get("reasoning_content")) == ("x", "r")


def test_openai_tool_calls_invoke_and_stream(llm_server: ScriptedLLM) -> None:
    calls = (("read_file", {"path": "a.py"}), ("grep_search", {"pattern": "def main"}))
    llm_server.script([Turn.tool_calls(*calls), Turn.tool_calls(*calls, text="Looking.")])
    model = _openai(llm_server).bind_tools([read_file, grep_search])
    answer = model.invoke("look")
    assert [(c["name"], c["args"]) for c in answer.tool_calls] == [
        ("read_file", {"path": "a.py"}),
        ("grep_search", {"pattern": "def main"}),
    ]
    streamed = _merge(list(model.stream("look")))
    # The arguments arrived in several fragments per call and were merged back.
    assert [(c["name"], c["args"]) for c in streamed.tool_calls] == [(n, a) for n, a in calls]
    assert streamed.content == "Looking."
    assert len({c["id"] for c in [*answer.tool_calls, *streamed.tool_calls]}) == 4
    assert llm_server.calls[0].tool_names == ["read_file", "grep_search"]


async def test_openai_async_stream_with_tool_result_round_trip(llm_server: ScriptedLLM) -> None:
    llm_server.script([Turn.tool_calls(("read_file", {"path": "a.py"})), Turn.text("It is 42.")])
    model = _openai(llm_server).bind_tools([read_file])
    history: list[BaseMessage] = []
    first = _merge([chunk async for chunk in model.astream("what is in a.py?")])
    call = first.tool_calls[0]
    history = [first, ToolMessage(content="x = 42", tool_call_id=call["id"])]
    answer = await model.ainvoke(["what is in a.py?", *history])
    assert answer.content == "It is 42."
    assert llm_server.calls[1].tool_results == ["x = 42"]
    assert llm_server.calls[1].last_message["tool_call_id"] == call["id"]


def test_malformed_tool_arguments_reach_the_client_as_invalid_calls(
    llm_server: ScriptedLLM,
) -> None:
    llm_server.script([Turn.tool_calls(ToolCall("read_file", '{"path": nope}'))] * 2)
    model = _openai(llm_server).bind_tools([read_file])
    answer = model.invoke("x")
    assert answer.tool_calls == []
    assert answer.invalid_tool_calls[0]["args"] == '{"path": nope}'
    streamed = _merge(list(model.stream("x")))
    assert streamed.invalid_tool_calls[0]["name"] == "read_file"


def test_error_turn_carries_status_message_and_retry_after(llm_server: ScriptedLLM) -> None:
    llm_server.script([Turn.error(429, retry_after=0.25, message="slow down")])
    with pytest.raises(openai.RateLimitError) as caught:
        _openai(llm_server).invoke("hi")
    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "0.25"
    assert "slow down" in str(caught.value)


def test_delay_longer_than_timeout_is_a_timeout(llm_server: ScriptedLLM) -> None:
    llm_server.script([Turn.text("late", delay=2.0), Turn.text("on time")])
    with pytest.raises(openai.APITimeoutError):
        _openai(llm_server, timeout=0.2).invoke("hi")
    assert _openai(llm_server, timeout=5).invoke("again").content == "on time"


def test_disconnect_and_malformed_body_are_client_errors(llm_server: ScriptedLLM) -> None:
    llm_server.script([Turn.disconnect(), Turn.malformed("{nope"), Turn.malformed("{nope")])
    with pytest.raises(openai.APIConnectionError):
        _openai(llm_server).invoke("hi")
    with pytest.raises(json.JSONDecodeError):
        _openai(llm_server, streaming=False).invoke("hi")
    with pytest.raises(json.JSONDecodeError):
        list(_openai(llm_server).stream("hi"))


def test_cut_stream_delivers_some_chunks_then_fails(
    llm_server: ScriptedLLM, ollama: ChatOllama
) -> None:
    llm_server.script([Turn.text("one two three four five", cut_after=3)] * 2)
    received: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        received.extend(str(chunk.content) for chunk in _openai(llm_server).stream("x"))
    assert "".join(received) == "one two "  # the first chunk is the empty role chunk
    received.clear()
    with pytest.raises(httpx.RemoteProtocolError):
        received.extend(str(chunk.content) for chunk in ollama.stream("x"))
    assert "".join(received) == "one two three "


def test_exhausted_script_answers_clearly_and_is_recorded(llm_server: ScriptedLLM) -> None:
    llm_server.script([Turn.text("only one")])
    model = _openai(llm_server)
    assert model.invoke("a").content == "only one"
    assert model.invoke("b").content == EXHAUSTED_TEXT
    assert [c.last_user_text for c in llm_server.unscripted] == ["b"]
    with pytest.raises(AssertionError, match="1 request"):
        llm_server.assert_done()


def test_routes_by_system_prompt_and_model(llm_server: ScriptedLLM) -> None:
    llm_server.script([Turn.text("main 1"), Turn.text("main 2")])
    llm_server.script_for("You are code-executor", [Turn.text("sub 1")])
    llm_server.script([Turn.text("fallback")], model="backup")
    model = _openai(llm_server)
    sub = [("system", "You are code-executor."), ("user", "go")]
    assert model.invoke("x").content == "main 1"
    assert model.invoke(sub).content == "sub 1"
    assert _openai(llm_server, model="backup").invoke("x").content == "fallback"
    assert model.invoke("y").content == "main 2"
    # The sub-agent's queue is empty now; its requests never eat the main agent's turns.
    assert model.invoke(sub).content == EXHAUSTED_TEXT
    assert llm_server.remaining == 0


def test_route_by_predicate(llm_server: ScriptedLLM) -> None:
    llm_server.script([Turn.text("with tools")], when=lambda r: bool(r.tool_names))
    llm_server.script([Turn.text("plain")])
    model = _openai(llm_server)
    assert model.invoke("x").content == "plain"
    assert model.bind_tools([read_file]).invoke("x").content == "with tools"


def test_responder_sees_the_conversation_and_may_defer(llm_server: ScriptedLLM) -> None:
    def respond(request: LLMRequest) -> Turn | None:
        if "weather" in request.last_user_text:
            return Turn.text(f"{len(request.messages)} message(s) about weather")
        return None

    llm_server.responder = respond
    llm_server.script([Turn.text("from the queue")])
    model = _openai(llm_server)
    assert model.invoke("the weather?").content == "1 message(s) about weather"
    assert model.invoke("other").content == "from the queue"


def test_responder_failure_is_a_500_and_recorded(llm_server: ScriptedLLM) -> None:
    def respond(request: LLMRequest) -> Turn:
        raise KeyError("oops")

    llm_server.responder = respond
    with pytest.raises(openai.InternalServerError):
        _openai(llm_server).invoke("x")
    assert "responder raised KeyError" in llm_server.errors[0]


def test_models_and_base_url_without_v1(llm_server: ScriptedLLM) -> None:
    models = httpx.get(f"{llm_server.base_url}/models").json()
    assert [m["id"] for m in models["data"]] == ["scripted"]
    llm_server.script([Turn.text("no v1")])
    model = ChatOpenAI(base_url=llm_server.url + "/api/paas/v4/", api_key="k", model="m")
    assert model.invoke("x").content == "no v1"
    assert llm_server.calls[0].path == "/api/paas/v4/chat/completions"


def test_ollama_invoke_stream_and_tool_calls(llm_server: ScriptedLLM, ollama: ChatOllama) -> None:
    llm_server.script(
        [
            Turn.text("ollama says hi", usage=(7, 2)),
            Turn.text("streamed from ollama"),
            Turn.tool_calls(("read_file", {"path": "o.py"})),
            Turn.tool_calls(("grep_search", {"pattern": "x"}), ("read_file", {"path": "p"})),
        ]
    )
    answer = ollama.invoke("hi")
    assert answer.content == "ollama says hi"
    assert answer.usage_metadata is not None
    assert answer.usage_metadata["input_tokens"] == 7
    chunks = list(ollama.stream("hi"))
    assert _merge(chunks).content == "streamed from ollama"
    assert len(chunks) >= 3
    tooled: BaseChatModel = ollama.bind_tools([read_file, grep_search])  # type: ignore[assignment]
    assert [c["args"] for c in tooled.invoke("x").tool_calls] == [{"path": "o.py"}]
    streamed = _merge(list(tooled.stream("x")))
    assert [c["name"] for c in streamed.tool_calls] == ["grep_search", "read_file"]
    assert llm_server.calls[2].api == "ollama"
    assert llm_server.calls[2].tool_names == ["read_file", "grep_search"]
    llm_server.assert_done()


async def test_ollama_async_and_errors(llm_server: ScriptedLLM, ollama: ChatOllama) -> None:
    import ollama as ollama_sdk

    llm_server.script([Turn.text("async ollama"), Turn.error(503, message="loading model")])
    assert (await ollama.ainvoke("hi")).content == "async ollama"
    with pytest.raises(ollama_sdk.ResponseError, match="loading model") as caught:
        await ollama.ainvoke("hi")
    assert caught.value.status_code == 503
    await ollama._async_client._client.aclose()


def test_json_script_round_trip() -> None:
    turns = [
        Turn.text("hi", delay=0.5, chunk_delay=0.1, usage=(1, 2)),
        Turn.tool_calls(("a", {"x": 1}), ToolCall("b", "{bad", id="c1"), text="t"),
        Turn.error(429, retry_after=1.5, message="m"),
        Turn.malformed("{"),
        Turn.disconnect(),
        Turn.text("cut", cut_after=2),
        Turn.text("42", reasoning="Six times seven."),
        Turn.tool_calls(("a", {}), reasoning="Look first."),
    ]
    assert [Turn.from_json(json.loads(json.dumps(t.to_json()))) for t in turns] == turns
    assert Turn.from_json("plain") == Turn.text("plain")
    with pytest.raises(ValueError, match="unknown turn"):
        Turn.from_json({"surprise": 1})
    with pytest.raises(ValueError, match="4xx or 5xx"):
        Turn.error(200)


def test_runs_as_a_process_with_a_script_file_and_control_endpoints(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(
        json.dumps(
            {
                "turns": [
                    "from file",
                    {"tool_calls": [{"name": "read_file", "args": {"path": "a"}}]},
                ],
                "routes": [{"system": "greeter", "turns": [{"text": "hello from greeter"}]}],
            }
        )
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.llm_server", "--port", "0", "--script", str(script)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        base = f"http://127.0.0.1:{port}"
        model = ChatOpenAI(base_url=base + "/v1", api_key="k", model="m", max_retries=0)
        assert model.invoke([("system", "You are the greeter."), ("user", "hi")]).content == (
            "hello from greeter"
        )
        assert model.invoke("x").content == "from file"
        added = httpx.post(f"{base}/_script", json=[{"text": "added later"}])
        assert added.json() == {"remaining": 2}
        assert model.bind_tools([read_file]).invoke("x").tool_calls[0]["args"] == {"path": "a"}
        assert model.invoke("x").content == "added later"
        recorded = httpx.get(f"{base}/_requests").json()
        assert [r["turn"].get("text") for r in recorded] == [
            "hello from greeter",
            "from file",
            None,
            "added later",
        ]
        assert httpx.post(f"{base}/_script", json={"turns": [{"bogus": 1}]}).status_code == 400
    finally:
        proc.terminate()
        assert proc.wait(timeout=5) == 0
        if proc.stdout is not None:
            proc.stdout.close()


def test_script_from_json_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="a script is"):
        Script.from_json(42)


@pytest.mark.parametrize("provider", ["openai", "ollama"])
def test_env_points_a_fresh_settings_load_at_the_server(
    llm_server: ScriptedLLM, workspace_dir: Path, provider: str
) -> None:
    import os

    from luminamind.config import load_settings
    from luminamind.providers import ResilientModel

    os.environ.update(
        llm_server.env(provider=provider, model="envmodel", max_retries=1, retry_initial_delay=0.01)
    )
    llm_server.script([Turn.error(503), Turn.text(f"hello from {provider}")])
    settings = load_settings(workspace=workspace_dir)
    assert settings.model.max_retries == 1
    answer = ResilientModel(settings).invoke("hi")
    assert answer.content == f"hello from {provider}"
    assert [(c.api, c.model) for c in llm_server.calls] == [(provider, "envmodel")] * 2
