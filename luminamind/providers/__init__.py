"""Chat models and their resilience: the model factory, retries, circuit breakers, fallback.

Typical use, in the agent::

    model = build_chat_model(settings)                     # or model="ollama:qwen3"
    agent = create_agent(model, tools, middleware=[*provider_middleware(settings, breakers=b)])

and outside an agent: ``await ResilientModel(settings).ainvoke("...")``.
"""

from luminamind.providers.circuit import CircuitBreaker, CircuitBreakers, Endpoint
from luminamind.providers.factory import (
    DEFAULT_OPENAI_MODEL,
    ModelSpec,
    Provider,
    build_chat_model,
    describe_chat_model,
    explain_model_setup,
    parse_model_spec,
    resolve_model_spec,
)
from luminamind.providers.middleware import (
    ProviderMiddleware,
    ResilientModel,
    build_guard,
    provider_middleware,
)
from luminamind.providers.resilience import (
    FailureKind,
    ProviderGuard,
    RetryPolicy,
    classify_failure,
    retry_after_seconds,
    translate_failure,
)

__all__ = [
    "DEFAULT_OPENAI_MODEL",
    "CircuitBreaker",
    "CircuitBreakers",
    "Endpoint",
    "FailureKind",
    "ModelSpec",
    "Provider",
    "ProviderGuard",
    "ProviderMiddleware",
    "ResilientModel",
    "RetryPolicy",
    "build_chat_model",
    "build_guard",
    "classify_failure",
    "describe_chat_model",
    "explain_model_setup",
    "parse_model_spec",
    "provider_middleware",
    "resolve_model_spec",
    "retry_after_seconds",
    "translate_failure",
]
