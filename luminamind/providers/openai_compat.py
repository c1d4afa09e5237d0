"""`ChatOpenAI` that keeps the reasoning OpenAI-compatible servers send beside the answer.

DeepSeek, GLM (Zhipu), vLLM, SGLang and OpenRouter stream a model's thinking as
``delta.reasoning_content`` (OpenRouter: ``delta.reasoning``) and return it as
``message.reasoning_content``. langchain-openai targets OpenAI's own API and drops these fields
(its module docstring says so and points to one package per provider); LuminaMind talks to any
OpenAI-compatible server through one client, so this subclass copies the field into
``additional_kwargs["reasoning_content"]``, where langchain-deepseek and langchain-ollama put
it, and `luminamind.agent.streaming.reasoning_text` reads it. The reasoning is never sent back
to the server (langchain-openai serialises only content and tool calls).

It also builds each request once (`luminamind.providers.openai_requests`): its clients post
LangChain's payload without the SDK's identity transform, and each tool's schema is converted
once, not at every model call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_openai import ChatOpenAI
from pydantic import PrivateAttr, model_validator

from luminamind.providers.openai_requests import ToolSchemas, UntransformedCompletions

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

    _schemas: ToolSchemas | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _untransformed_clients(self) -> Self:
        # After ChatOpenAI's own validator built the clients (parent validators run first).
        if self.client is not None and not isinstance(self.client, UntransformedCompletions):
            self.client = UntransformedCompletions(self.client)
        if self.async_client is not None and not isinstance(
            self.async_client, UntransformedCompletions
        ):
            self.async_client = UntransformedCompletions(self.async_client)
        return self

    def bind_tools(
        self,
        tools: Sequence[Any],  # Any: the tool-likes ChatOpenAI.bind_tools takes
        *,
        tool_choice: dict[str, Any] | str | bool | None = None,  # Any: JSON
        strict: bool | None = None,
        parallel_tool_calls: bool | None = None,
        response_format: Any = None,  # Any: a dict or pydantic class, as ChatOpenAI takes it
        **kwargs: Any,  # Any: further bind arguments
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """`ChatOpenAI.bind_tools` with each tool's schema converted once (strict and
        structured-output bindings, which change the schema, convert as usual)."""
        if strict is None and response_format is None:
            if self._schemas is None:
                self._schemas = ToolSchemas(self._tool_schema)
            tools = self._schemas(tools)
        return super().bind_tools(
            tools,
            tool_choice=tool_choice,
            strict=strict,
            parallel_tool_calls=parallel_tool_calls,
            response_format=response_format,
            **kwargs,
        )

    def _tool_schema(self, tool: BaseTool) -> dict[str, Any]:  # Any: JSON
        # LangChain's own conversion of one tool (its extras included), done once.
        bound = super().bind_tools([tool])
        schema: dict[str, Any] = bound.kwargs["tools"][0]  # type: ignore[attr-defined]
        return schema

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
