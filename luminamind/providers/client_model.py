"""The model of the client in front of LuminaMind (``model.model = "mcp:client"``).

Editors and desktop apps that connect over MCP often have a model of their own; MCP's sampling
(``sampling/createMessage``) lets a server ask it. `ClientModel` is a LangChain chat model that
hands each call to the `Sampler` of the request being served, found through a context variable
(the MCP server sets it around a run; LangGraph's tasks inherit it). ``luminamind`` knows no MCP:
the server's sampler converts the messages and tools to the protocol and back.

Streaming falls back to whole messages (sampling answers in one piece). Without a sampler (a
client that did not declare sampling, or a surface other than MCP) a call fails with a
`ConfigError` naming how to configure a provider instead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from typing import Any, Protocol

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from luminamind.errors import ConfigError

__all__ = ["ClientModel", "Sampler", "using_sampler"]


class Sampler(Protocol):
    """Asks the client's model for the next message."""

    async def asample(
        self,
        messages: Sequence[BaseMessage],
        *,
        tools: Sequence[dict[str, Any]],  # Any: OpenAI-format tool definitions (JSON)
        max_tokens: int,
    ) -> AIMessage:
        """The client model's answer to ``messages``, with ``tools`` it may call.

        Raises:
            ProviderError: the client refused or answered something unusable.
        """
        ...


_current: ContextVar[Sampler | None] = ContextVar("luminamind_sampler", default=None)


@contextlib.contextmanager
def using_sampler(sampler: Sampler | None) -> Iterator[None]:
    """Route `ClientModel` calls made inside the block (and its tasks) to ``sampler``."""
    token = _current.set(sampler)
    try:
        yield
    finally:
        _current.reset(token)


_NO_SAMPLER = (
    "no model is configured and this client does not lend its own (MCP sampling). Use a client "
    "that supports sampling (VS Code, for one), or configure a provider: export GLM_API_KEY=... "
    "(or OPENAI_API_KEY with OPENAI_BASE_URL and LUMINAMIND_MODEL=openai:MODEL), or "
    "LLM_PROVIDER=ollama; `luminamind doctor` shows the model set-up"
)


class ClientModel(BaseChatModel):
    """A chat model answered by the connected client through MCP sampling."""

    max_tokens: int = 4096

    @property
    def _llm_type(self) -> str:
        return "mcp-client"

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],  # Any: LangChain
        *,
        tool_choice: str | None = None,
        **kwargs: Any,  # Any: LangChain's binding options
    ) -> Runnable[LanguageModelInput, AIMessage]:
        del tool_choice  # the client's model chooses; MCP's toolChoice is left at auto
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,  # Any: LangChain's call options
    ) -> ChatResult:
        raise ConfigError("the client's model (mcp:client) is only reachable from async MCP runs")

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,  # Any: LangChain's call options (tools)
    ) -> ChatResult:
        sampler = _current.get()
        if sampler is None:
            raise ConfigError(_NO_SAMPLER)
        tools = list(kwargs.get("tools") or [])
        answer = await sampler.asample(messages, tools=tools, max_tokens=self.max_tokens)
        return ChatResult(generations=[ChatGeneration(message=answer)])
