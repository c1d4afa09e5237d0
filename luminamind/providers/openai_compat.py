"""`ChatOpenAI` that keeps the reasoning OpenAI-compatible servers send beside the answer.

DeepSeek, GLM (Zhipu), vLLM, SGLang and OpenRouter stream a model's thinking as
``delta.reasoning_content`` (OpenRouter: ``delta.reasoning``) and return it as
``message.reasoning_content``. langchain-openai targets OpenAI's own API and drops these fields
(its module docstring says so and points to one package per provider); LuminaMind talks to any
OpenAI-compatible server through one client, so this subclass copies the field into
``additional_kwargs["reasoning_content"]``, where langchain-deepseek and langchain-ollama put
it, and `luminamind.agent.streaming.reasoning_text` reads it. The reasoning is never sent back
to the server (langchain-openai serialises only content and tool calls).
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_openai import ChatOpenAI

__all__ = ["OpenAICompatibleChat"]

_FIELDS = ("reasoning_content", "reasoning")


def _reasoning(fields: Any) -> str | None:  # Any: a delta or message dict from the server
    if not isinstance(fields, dict):
        return None
    for name in _FIELDS:
        value = fields.get(name)
        if isinstance(value, str) and value:
            return value
    return None


class OpenAICompatibleChat(ChatOpenAI):
    """`ChatOpenAI` plus the servers' ``reasoning_content`` (see the module docstring)."""

    def _convert_chunk_to_generation_chunk(
        self,
        chunk: dict[str, Any],  # Any: the server's JSON
        default_chunk_class: type,
        base_generation_info: dict[str, Any] | None,  # Any: JSON
    ) -> ChatGenerationChunk | None:
        generation = super()._convert_chunk_to_generation_chunk(
            chunk, default_chunk_class, base_generation_info
        )
        choices = chunk.get("choices") or []
        if generation is not None and choices and isinstance(generation.message, AIMessageChunk):
            reasoning = _reasoning(choices[0].get("delta"))
            if reasoning is not None:
                generation.message.additional_kwargs["reasoning_content"] = reasoning
        return generation

    def _create_chat_result(
        self,
        response: Any,  # Any: a dict or the openai SDK's response model
        generation_info: dict[str, Any] | None = None,  # Any: JSON
    ) -> ChatResult:
        result = super()._create_chat_result(response, generation_info)
        data = response if isinstance(response, dict) else response.model_dump()
        for generation, choice in zip(result.generations, data.get("choices") or [], strict=False):
            reasoning = _reasoning(choice.get("message"))
            if reasoning is not None and isinstance(generation.message, AIMessage):
                generation.message.additional_kwargs["reasoning_content"] = reasoning
        return result
