"""The client's model through ``sampling/createMessage``: the `Sampler` of one MCP request.

LangChain messages become sampling messages (system text in ``systemPrompt``; tool calls as
``tool_use`` blocks, tool results as ``tool_result`` blocks in a user message) and the answer
becomes an ``AIMessage``. Tools are offered only to clients that declared ``sampling.tools``;
others get the conversation without tools and answer in text. A refusal, a malformed answer or
one with no content is a `ProviderError` that says how to configure a provider instead.

Imported lazily (it pulls in LangChain), when a run starts.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

import mcp_types as types
import structlog
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage, ToolMessage
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp.shared.message import ServerMessageMetadata
from pydantic import ValidationError

from luminamind.errors import ProviderError

__all__ = ["McpSampler", "client_can_sample"]

_log = structlog.get_logger(__name__)

Ctx = ServerRequestContext[Any, Any]  # Any: no lifespan state; the transport's request object

_CONFIGURE = (
    "To use a provider instead, configure one on the server: GLM_API_KEY=... (or "
    "OPENAI_API_KEY with OPENAI_BASE_URL and LUMINAMIND_MODEL=openai:MODEL), or "
    "LLM_PROVIDER=ollama."
)


def client_can_sample(ctx: Ctx) -> bool:
    """True when the client declared sampling and this request can carry a request back."""
    caps = ctx.session.client_capabilities
    return caps is not None and caps.sampling is not None and ctx.session.can_send_request


class McpSampler:
    """Asks the client behind ``ctx`` for the next message of a run."""

    def __init__(self, ctx: Ctx) -> None:
        self._ctx = ctx
        caps = ctx.session.client_capabilities
        sampling = caps.sampling if caps is not None else None
        self._tools = sampling is not None and sampling.tools is not None

    async def asample(
        self,
        messages: Sequence[BaseMessage],
        *,
        tools: Sequence[dict[str, Any]],  # Any: OpenAI-format tool definitions
        max_tokens: int,
    ) -> AIMessage:
        system, sampled = _to_sampling(messages)
        offered = [_to_tool(t) for t in tools] if self._tools and tools else None
        request = types.CreateMessageRequest(
            params=types.CreateMessageRequestParams(
                messages=sampled, system_prompt=system, max_tokens=max_tokens, tools=offered
            )
        )
        metadata = ServerMessageMetadata(related_request_id=self._ctx.request_id)
        try:
            result: types.CreateMessageResult | types.CreateMessageResultWithTools
            if offered:
                result = await self._ctx.session.send_request(
                    request, types.CreateMessageResultWithTools, metadata=metadata
                )
            else:
                result = await self._ctx.session.send_request(
                    request, types.CreateMessageResult, metadata=metadata
                )
        except MCPError as exc:
            raise ProviderError(
                f"the client's model did not answer (sampling/createMessage failed with "
                f"{exc.error.code}: {exc.error.message}). {_CONFIGURE}"
            ) from None
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ProviderError(
                f"the client's model answered a malformed sampling result ({where}: "
                f"{first['msg']}). {_CONFIGURE}"
            ) from None
        return _to_ai_message(result)


def _text(content: str | list[Any]) -> str:  # Any: LangChain content blocks
    if isinstance(content, str):
        return content
    return "".join(b if isinstance(b, str) else str(b.get("text", "")) for b in content if b)


def _to_sampling(
    messages: Sequence[BaseMessage],
) -> tuple[str | None, list[types.SamplingMessage]]:
    system: list[str] = []
    out: list[types.SamplingMessage] = []
    for message in messages:
        if isinstance(message, SystemMessage):
            system.append(_text(message.content))
        elif isinstance(message, AIMessage):
            blocks: list[types.SamplingMessageContentBlock] = []
            text = _text(message.content)
            if text:
                blocks.append(types.TextContent(type="text", text=text))
            blocks += [
                types.ToolUseContent(
                    type="tool_use", id=call["id"] or "", name=call["name"], input=call["args"]
                )
                for call in message.tool_calls
            ]
            out.append(types.SamplingMessage(role="assistant", content=blocks or _empty()))
        elif isinstance(message, ToolMessage):
            result = types.ToolResultContent(
                type="tool_result",
                tool_use_id=message.tool_call_id,
                content=[types.TextContent(type="text", text=_text(message.content))],
                is_error=message.status == "error",
            )
            out.append(types.SamplingMessage(role="user", content=[result]))
        else:
            said = types.TextContent(type="text", text=_text(message.content))
            out.append(types.SamplingMessage(role="user", content=said))
    return ("\n\n".join(system) or None), out


def _empty() -> list[types.SamplingMessageContentBlock]:
    return [types.TextContent(type="text", text="")]


def _to_tool(tool: dict[str, Any]) -> types.Tool:  # Any: an OpenAI-format tool definition
    function = tool.get("function", tool)
    return types.Tool(
        name=str(function["name"]),
        description=str(function.get("description") or ""),
        input_schema=function.get("parameters") or {"type": "object", "properties": {}},
    )


def _to_ai_message(
    result: types.CreateMessageResult | types.CreateMessageResultWithTools,
) -> AIMessage:
    blocks = result.content if isinstance(result.content, list) else [result.content]
    text: list[str] = []
    calls: list[dict[str, Any]] = []  # Any: LangChain tool calls
    for block in blocks:
        if isinstance(block, types.TextContent):
            text.append(block.text)
        elif isinstance(block, types.ToolUseContent):
            call_id = block.id or uuid.uuid4().hex
            calls.append({"id": call_id, "name": block.name, "args": block.input})
    if result.role != "assistant" or (not "".join(text).strip() and not calls):
        raise ProviderError(
            "the client's model answered with no usable content (a sampling result needs text "
            f"or tool_use from the assistant; got role {result.role!r}, "
            f"{json.dumps([b.type for b in blocks])}). {_CONFIGURE}"
        )
    _log.info("mcp_sampling_answered", model=result.model, tool_calls=len(calls))
    return AIMessage(
        content="".join(text),
        tool_calls=calls,
        response_metadata={"model_name": result.model, "stop_reason": result.stop_reason},
    )
