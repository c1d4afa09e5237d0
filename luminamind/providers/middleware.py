"""The providers' part of the agent: one middleware for resilience and metrics, plus fallback.

``create_agent(model, tools, middleware=[..., *provider_middleware(settings)])`` gives every model
call of the agent (and of each subagent that receives the same list) the guard of
`luminamind.providers.resilience`: circuit breaker, retries honouring ``Retry-After``, typed
errors, and the ``luminamind_llm_*`` metrics. The fallback model, when configured, comes from
LangChain's own `ModelFallbackMiddleware`, placed outside ours so the fallback model gets its own
retries and its own circuit.

LangChain's `ModelRetryMiddleware` is not used: its delay depends only on the attempt number
(``Retry-After`` cannot be honoured), it would sit outside the breaker and count one failure per
model call instead of one per HTTP attempt, and by default it turns the last failure into an
``AIMessage`` that the agent would read as the model's answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any

from langchain.agents.middleware import AgentMiddleware, ModelFallbackMiddleware
from langchain.agents.middleware.types import ModelRequest, ModelResponse
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage

from luminamind.config import Settings
from luminamind.errors import LuminaError
from luminamind.observability.metrics import get_metrics
from luminamind.observability.tracing import span
from luminamind.providers.circuit import CircuitBreakers, Endpoint
from luminamind.providers.factory import build_chat_model, describe_chat_model
from luminamind.providers.resilience import ProviderGuard, RetryPolicy

__all__ = ["ProviderMiddleware", "ResilientModel", "build_guard", "provider_middleware"]


def build_guard(settings: Settings, *, breakers: CircuitBreakers | None = None) -> ProviderGuard:
    """A `ProviderGuard` from ``settings.model`` (new breakers unless shared ones are given)."""
    return ProviderGuard(
        policy=RetryPolicy.from_settings(settings.model),
        breakers=breakers or CircuitBreakers.from_settings(settings.model),
        timeout=settings.model.timeout_seconds,
    )


def endpoint_of(model: BaseChatModel) -> Endpoint:
    provider, name, base_url = describe_chat_model(model)
    return Endpoint(provider, name, base_url)


def _count_tokens(
    model: str,
    messages: Sequence[BaseMessage],
    current: Any = None,  # Any: the call's OTel span, None without tracing
) -> None:
    tokens = get_metrics().llm_tokens_total
    used = {"input": 0, "output": 0}
    for message in messages:
        usage = getattr(message, "usage_metadata", None)
        if usage:
            used["input"] += usage.get("input_tokens", 0)
            used["output"] += usage.get("output_tokens", 0)
    for direction, count in used.items():
        if count:
            tokens.labels(model, direction).inc(count)
    if current is not None:
        current.set_attribute("gen_ai.usage.input_tokens", used["input"])
        current.set_attribute("gen_ai.usage.output_tokens", used["output"])


# AgentMiddleware is generic in state, context and response; this one touches none of them.
class ProviderMiddleware(AgentMiddleware[Any, Any, Any]):
    """Retries, circuit breaking, error translation and metrics around every model call."""

    def __init__(self, guard: ProviderGuard) -> None:
        super().__init__()
        self.guard = guard

    def wrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], ModelResponse[Any]],
    ) -> ModelResponse[Any]:
        endpoint = endpoint_of(request.model)
        with span(
            f"llm {endpoint.model}", model=endpoint.model, provider=endpoint.provider
        ) as current:
            response = self.guard.call(endpoint, lambda: handler(request))
            _count_tokens(endpoint.model, response.result, current)
        return response

    async def awrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]],
    ) -> ModelResponse[Any]:
        endpoint = endpoint_of(request.model)
        with span(
            f"llm {endpoint.model}", model=endpoint.model, provider=endpoint.provider
        ) as current:
            response = await self.guard.acall(endpoint, lambda: handler(request))
            _count_tokens(endpoint.model, response.result, current)
        return response


def provider_middleware(
    settings: Settings, *, breakers: CircuitBreakers | None = None
) -> list[AgentMiddleware[Any, Any, Any]]:
    """The middleware to add to ``create_agent``: fallback (if configured), then the guard.

    Args:
        settings: model settings (retries, timeouts, circuit, ``model.fallback_model``).
        breakers: circuits to share between the main agent and its subagents; pass the same
            object to every ``provider_middleware`` call of one service.

    Raises:
        ConfigError: the fallback model is misconfigured.
    """
    guard = build_guard(settings, breakers=breakers)
    middleware: list[AgentMiddleware[Any, Any, Any]] = []
    if settings.model.fallback_model:
        fallback = build_chat_model(settings, model=settings.model.fallback_model)
        middleware.append(ModelFallbackMiddleware(fallback))
    middleware.append(ProviderMiddleware(guard))
    return middleware


class ResilientModel:
    """The same guard and fallback for a plain chat model, outside any agent.

    ``await ResilientModel(settings).ainvoke("Summarise ...")`` retries, honours the circuit,
    falls back to ``model.fallback_model`` and raises only `LuminaError`s.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        model: str | None = None,
        breakers: CircuitBreakers | None = None,
    ) -> None:
        self.guard = build_guard(settings, breakers=breakers)
        self.models = [build_chat_model(settings, model=model)]
        if settings.model.fallback_model:
            self.models.append(build_chat_model(settings, model=settings.model.fallback_model))

    def invoke(self, messages: LanguageModelInput, **kwargs: Any) -> AIMessage:
        """Call the model (then the fallback) synchronously."""
        error: LuminaError | None = None
        for chat in self.models:
            endpoint = endpoint_of(chat)
            try:
                answer = self.guard.call(endpoint, partial(chat.invoke, messages, **kwargs))
            except LuminaError as exc:
                error = exc
                continue
            _count_tokens(endpoint.model, [answer])
            return answer
        assert error is not None
        raise error

    async def ainvoke(self, messages: LanguageModelInput, **kwargs: Any) -> AIMessage:
        """Call the model (then the fallback) asynchronously."""
        error: LuminaError | None = None
        for chat in self.models:
            endpoint = endpoint_of(chat)
            try:
                answer = await self.guard.acall(endpoint, partial(chat.ainvoke, messages, **kwargs))
            except LuminaError as exc:
                error = exc
                continue
            _count_tokens(endpoint.model, [answer])
            return answer
        assert error is not None
        raise error
