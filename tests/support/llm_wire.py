"""Wire formats of the scripted LLM: OpenAI chat completions and Ollama ``/api/chat`` payloads.

Pure functions from a `Turn` to the JSON objects a real provider sends, so the server module only
deals with HTTP. Streamed text is split into word-sized chunks and streamed tool-call arguments
into several fragments, as real providers do, so the clients' chunk-merging code is exercised.
"""

from __future__ import annotations

import re
import time
from typing import Any

from tests.support.llm_script import LLMRequest, ToolCall, Turn

__all__ = [
    "error_body",
    "ollama_chunks",
    "ollama_response",
    "openai_chunks",
    "openai_completion",
    "token_usage",
]


def token_usage(turn: Turn, request: LLMRequest) -> tuple[int, int]:
    """(prompt, completion) tokens: the turn's own figures, else ~4 characters a token."""
    if turn.usage is not None:
        return turn.usage
    prompt_chars = sum(len(str(m.get("content") or "")) for m in request.messages)
    completion_chars = len(turn.content) + sum(
        len(c.name) + len(c.arguments_json()) for c in turn.calls
    )
    return max(1, prompt_chars // 4), max(1, completion_chars // 4)


def _text_pieces(text: str) -> list[str]:
    """Word-sized pieces whose concatenation is ``text`` exactly."""
    return re.findall(r"\s*\S+\s*|\s+", text) or [text]


def _fragments(text: str, parts: int = 3) -> list[str]:
    """``text`` cut into up to ``parts`` fragments (tool arguments arrive in pieces)."""
    if len(text) < parts:
        return [text]
    step = -(-len(text) // parts)
    return [text[i : i + step] for i in range(0, len(text), step)]


# --- OpenAI -----------------------------------------------------------------------------------


def _openai_tool_call(call: ToolCall) -> dict[str, Any]:
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments_json()},
    }


def _openai_usage(turn: Turn, request: LLMRequest) -> dict[str, int]:
    prompt, completion = token_usage(turn, request)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def openai_completion(turn: Turn, request: LLMRequest, completion_id: str) -> dict[str, Any]:
    """A non-streamed ``chat.completion`` object."""
    message: dict[str, Any] = {"role": "assistant", "content": turn.content or None}
    if turn.reasoning:
        message["reasoning_content"] = turn.reasoning
    if turn.calls:
        message["tool_calls"] = [_openai_tool_call(c) for c in turn.calls]
    else:
        message["content"] = turn.content
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.model,
        "system_fingerprint": "scripted",
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": "tool_calls" if turn.calls else "stop",
            }
        ],
        "usage": _openai_usage(turn, request),
    }


def openai_chunks(turn: Turn, request: LLMRequest, completion_id: str) -> list[dict[str, Any]]:
    """The ``chat.completion.chunk`` objects of a streamed answer (without ``[DONE]``)."""
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": request.model,
            "system_fingerprint": "scripted",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }

    chunks = [chunk({"role": "assistant", "content": ""})]
    if turn.reasoning:  # as DeepSeek and GLM stream it: before the answer, content empty
        chunks.extend(
            chunk({"content": "", "reasoning_content": piece})
            for piece in _text_pieces(turn.reasoning)
        )
    if turn.content:
        chunks.extend(chunk({"content": piece}) for piece in _text_pieces(turn.content))
    for index, call in enumerate(turn.calls):
        chunks.append(
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": call.id,
                            "type": "function",
                            "function": {"name": call.name, "arguments": ""},
                        }
                    ]
                }
            )
        )
        chunks.extend(
            chunk({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})
            for fragment in _fragments(call.arguments_json())
        )
    chunks.append(chunk({}, "tool_calls" if turn.calls else "stop"))
    options = request.body.get("stream_options") or {}
    if options.get("include_usage"):
        chunks.append(
            {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": request.model,
                "choices": [],
                "usage": _openai_usage(turn, request),
            }
        )
    return chunks


# --- Ollama -----------------------------------------------------------------------------------


def _ollama_tool_call(call: ToolCall) -> dict[str, Any]:
    return {"function": {"name": call.name, "arguments": call.arguments_object()}}


def _ollama_final(turn: Turn, request: LLMRequest, message: dict[str, Any]) -> dict[str, Any]:
    prompt, completion = token_usage(turn, request)
    return {
        "model": request.model,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime()),
        "message": message,
        "done": True,
        "done_reason": "stop",
        "total_duration": 1_000_000,
        "load_duration": 1_000,
        "prompt_eval_count": prompt,
        "prompt_eval_duration": 1_000,
        "eval_count": completion,
        "eval_duration": 1_000,
    }


def ollama_response(turn: Turn, request: LLMRequest) -> dict[str, Any]:
    """A non-streamed ``/api/chat`` answer."""
    message: dict[str, Any] = {"role": "assistant", "content": turn.content}
    if turn.reasoning:
        message["thinking"] = turn.reasoning
    if turn.calls:
        message["tool_calls"] = [_ollama_tool_call(c) for c in turn.calls]
    return _ollama_final(turn, request, message)


def ollama_chunks(turn: Turn, request: LLMRequest) -> list[dict[str, Any]]:
    """The NDJSON objects of a streamed ``/api/chat`` answer; tool calls come whole, as Ollama's."""
    created = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
    chunks: list[dict[str, Any]] = [
        {
            "model": request.model,
            "created_at": created,
            "message": {"role": "assistant", "content": "", "thinking": piece},
            "done": False,
        }
        for piece in (_text_pieces(turn.reasoning) if turn.reasoning else [])
    ]
    if turn.content:
        chunks.extend(
            {
                "model": request.model,
                "created_at": created,
                "message": {"role": "assistant", "content": piece},
                "done": False,
            }
            for piece in _text_pieces(turn.content)
        )
    if turn.calls:
        chunks.append(
            {
                "model": request.model,
                "created_at": created,
                "message": {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [_ollama_tool_call(c) for c in turn.calls],
                },
                "done": False,
            }
        )
    chunks.append(_ollama_final(turn, request, {"role": "assistant", "content": ""}))
    return chunks


def error_body(api: str, turn: Turn) -> dict[str, Any]:
    """The error object each provider sends with a 4xx/5xx."""
    if api == "ollama":
        return {"error": turn.content}
    kind = {429: "rate_limit_exceeded", 401: "invalid_api_key", 404: "model_not_found"}
    return {
        "error": {
            "message": turn.content,
            "type": "server_error" if turn.status >= 500 else "invalid_request_error",
            "param": None,
            "code": kind.get(turn.status),
        }
    }
