"""Chat models from settings: ``provider:model`` names, keys, timeouts, and what to set when wrong.

Two providers: ``openai`` (any OpenAI-compatible endpoint, GLM at api.z.ai by default) through
``langchain-openai``, and ``ollama`` through ``langchain-ollama``. A model is named
``provider:model`` anywhere (``openai:gpt-4.1``, ``ollama:qwen3``); a bare name uses the default
provider (``LLM_PROVIDER``). Client-side retries are off: `luminamind.providers.resilience` owns
retries, so attempts, backoff and the circuit breaker are counted in one place.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import httpx
from langchain_core.language_models import BaseChatModel
from pydantic import SecretStr

from luminamind.config import Settings, user_config_path
from luminamind.errors import ConfigError

__all__ = [
    "CLIENT_MODEL",
    "DEFAULT_OPENAI_MODEL",
    "ModelSpec",
    "Provider",
    "build_chat_model",
    "describe_chat_model",
    "explain_model_setup",
    "model_key_status",
    "parse_model_spec",
    "resolve_model_spec",
]

Provider = Literal["openai", "ollama"]
# ``model.model`` naming the connected MCP client's model (sampling) instead of a provider.
CLIENT_MODEL = "mcp:client"
PROVIDERS: tuple[Provider, ...] = ("openai", "ollama")
DEFAULT_OPENAI_MODEL = "glm-4.5-flash"

# Prefixes people try from other tools (LangChain's init_chat_model, LiteLLM). Named here so
# "anthropic:claude" is a clear error instead of a 404 from the GLM endpoint.
_OTHER_PROVIDERS = frozenset(
    {
        "anthropic",
        "azure",
        "azure_openai",
        "bedrock",
        "cohere",
        "deepseek",
        "fireworks",
        "gemini",
        "google",
        "google_genai",
        "google_vertexai",
        "groq",
        "huggingface",
        "mistral",
        "mistralai",
        "together",
        "vertexai",
        "xai",
    }
)


@dataclass(frozen=True)
class ModelSpec:
    """A resolved model: which provider and which model name.

    Attributes:
        provider: ``openai`` (OpenAI-compatible) or ``ollama``.
        name: the provider's model name (``glm-4.5-flash``, ``qwen3:latest``).
    """

    provider: Provider
    name: str

    def __str__(self) -> str:
        return f"{self.provider}:{self.name}"


def parse_model_spec(spec: str, *, default_provider: Provider, ollama_model: str) -> ModelSpec:
    """Parse ``provider:model``, a bare model name, or a bare provider name.

    Ollama names contain colons themselves (``qwen3:latest``), so only a known provider prefix
    is split off; anything else is a model name for ``default_provider``.

    Raises:
        ConfigError: empty names, spaces, or a provider LuminaMind does not speak.
    """
    text = spec.strip()
    if not text:
        raise ConfigError("the model name is empty; use provider:model, e.g. openai:glm-4.5-flash")
    if any(ch.isspace() for ch in text):
        raise ConfigError(f"model {spec!r} contains whitespace; use provider:model, no spaces")
    prefix, sep, rest = text.partition(":")
    lowered = prefix.lower()
    if text.lower() in PROVIDERS:  # "ollama" alone: that provider's default model
        return _default_for(text.lower(), ollama_model)  # type: ignore[arg-type]
    if sep and lowered in PROVIDERS:
        provider: Provider = "openai" if lowered == "openai" else "ollama"
        if not rest:
            if provider == "ollama":
                return ModelSpec("ollama", ollama_model)
            raise ConfigError(f"model {spec!r} names no model after 'openai:'")
        return ModelSpec(provider, rest)
    if sep and lowered in _OTHER_PROVIDERS:
        raise ConfigError(
            f"provider {prefix!r} (in model {spec!r}) is not supported: LuminaMind speaks "
            "'openai' (any OpenAI-compatible endpoint: GLM, OpenAI, vLLM, LM Studio, a gateway "
            "in front of other vendors) and 'ollama'. Use openai:MODEL with OPENAI_BASE_URL "
            "pointing at a compatible endpoint, or ollama:MODEL."
        )
    return ModelSpec(default_provider, text)


def _default_for(provider: Provider, ollama_model: str) -> ModelSpec:
    if provider == "ollama":
        return ModelSpec("ollama", ollama_model)
    return ModelSpec("openai", DEFAULT_OPENAI_MODEL)


def resolve_model_spec(settings: Settings, model: str | None = None) -> ModelSpec:
    """The model to use: ``model`` if given, else ``model.model`` if configured, else the default
    of ``LLM_PROVIDER`` (``openai:glm-4.5-flash`` or ``ollama:$OLLAMA_MODEL``).
    """
    default_provider = settings.llm_provider
    if model is None:
        if "model" in settings.model.model_fields_set:
            model = settings.model.model
        else:
            # The seed's way: LLM_PROVIDER=ollama with OLLAMA_MODEL picks the model.
            return _default_for(default_provider, settings.ollama_model)
    return parse_model_spec(
        model, default_provider=default_provider, ollama_model=settings.ollama_model
    )


def _configured_model(settings: Settings) -> str | None:
    """``model.model`` when set explicitly (the default provider's model otherwise)."""
    return settings.model.model if "model" in settings.model.model_fields_set else None


def _is_local(url: str) -> bool:
    """Loopback endpoints (vLLM, LM Studio, llama.cpp, test servers) need no API key."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _openai_key(settings: Settings) -> SecretStr | None:
    """GLM_API_KEY first (the default endpoint is GLM's), except on api.openai.com."""
    host = urlsplit(settings.openai_base_url).hostname or ""
    keys = [settings.glm_api_key, settings.openai_api_key]
    if host == "api.openai.com":
        keys.reverse()
    for key in keys:
        if key is not None and key.get_secret_value().strip():
            return key
    return None


def model_key_status(settings: Settings) -> tuple[str, bool, str]:
    """The configured model, whether it can be called as configured, and why (for banners).

    Nothing is built or contacted: a key is "set" when one is configured, a local endpoint
    (Ollama, a loopback OpenAI-compatible server) needs none.
    """
    if _configured_model(settings) == CLIENT_MODEL:
        return CLIENT_MODEL, True, "the MCP client's own model (sampling), no key needed"
    try:
        spec = resolve_model_spec(settings)
    except ConfigError as exc:
        return settings.model.model, False, exc.message
    if spec.provider == "ollama":
        return str(spec), True, f"Ollama at {settings.ollama_base_url}, no key needed"
    if _is_local(settings.openai_base_url):
        return str(spec), True, f"local endpoint {settings.openai_base_url}, no key needed"
    if _openai_key(settings) is not None:
        return str(spec), True, "API key set"
    return str(spec), False, "no API key set (export GLM_API_KEY=... or OPENAI_API_KEY=...)"


def _check_url(url: str, variable: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"{variable}={url!r} is not an http(s) URL; set it to e.g. "
            + (
                "https://api.openai.com/v1"
                if variable == "OPENAI_BASE_URL"
                else "http://localhost:11434"
            )
        )


def build_chat_model(settings: Settings, *, model: str | None = None) -> BaseChatModel:
    """Build the chat model named by ``model`` (or the configured one).

    Args:
        settings: the process settings (base URLs, keys, temperature, timeout, streaming).
        model: ``provider:model`` or a bare name; None uses `resolve_model_spec`'s choice.

    Raises:
        ConfigError: an invalid model name, base URL, or a missing API key; the message is
            `explain_model_setup`'s one-screen explanation of what to set.
    """
    if (model or _configured_model(settings)) == CLIENT_MODEL:
        # The connected MCP client's own model, through sampling (providers/client_model.py).
        from luminamind.providers.client_model import ClientModel

        return ClientModel(
            max_tokens=settings.model.max_tokens or 4096,
            metadata={"luminamind_model": CLIENT_MODEL},
        )
    spec = resolve_model_spec(settings, model)
    timeout = settings.model.timeout_seconds
    if spec.provider == "ollama":
        _check_url(settings.ollama_base_url, "OLLAMA_BASE_URL")
        from langchain_ollama import ChatOllama

        options: dict[str, object] = {}
        if settings.model.max_tokens is not None:
            options["num_predict"] = settings.model.max_tokens
        return ChatOllama(
            model=spec.name,
            base_url=settings.ollama_base_url,
            temperature=settings.model.temperature,
            # No pooled connections: a pooled socket is bound to the event loop that opened it,
            # and a CLI may run one loop per turn; a local Ollama connects in microseconds.
            client_kwargs={"timeout": timeout, "limits": _NO_KEEPALIVE},
            metadata={"luminamind_model": str(spec)},
            **options,
        )
    _check_url(settings.openai_base_url, "OPENAI_BASE_URL")
    key = _openai_key(settings)
    if key is None:
        if not _is_local(settings.openai_base_url):
            raise ConfigError(
                explain_model_setup(
                    settings,
                    problem=f"no API key is set for {spec} at {settings.openai_base_url}",
                )
            )
        key = SecretStr("not-needed")  # local OpenAI-compatible servers ignore the key
    from luminamind.providers.openai_compat import OpenAICompatibleChat

    return OpenAICompatibleChat(
        model=spec.name,
        base_url=settings.openai_base_url,
        api_key=key,
        temperature=settings.model.temperature,
        streaming=settings.model.streaming,
        stream_usage=True,
        timeout=timeout,
        stream_chunk_timeout=timeout,
        max_retries=0,
        max_tokens=settings.model.max_tokens,
        # The default async client is shared process-wide and its pooled sockets belong to the
        # first event loop; a second asyncio.run() would fail with "Event loop is closed".
        http_async_client=httpx.AsyncClient(timeout=timeout, limits=_NO_KEEPALIVE),
        metadata={"luminamind_model": str(spec)},
    )


_NO_KEEPALIVE = httpx.Limits(max_connections=100, max_keepalive_connections=0)


def describe_chat_model(model: BaseChatModel) -> tuple[str, str, str]:
    """(provider, model name, base URL) of a chat model, for messages, circuits and metrics."""
    label = (model.metadata or {}).get("luminamind_model")
    name = str(getattr(model, "model_name", None) or getattr(model, "model", None) or "unknown")
    openai_base = getattr(model, "openai_api_base", None)
    if openai_base is not None or type(model).__name__ in ("ChatOpenAI", "OpenAICompatibleChat"):
        return "openai", name, str(openai_base or "https://api.openai.com/v1")
    base_url = getattr(model, "base_url", None)
    if type(model).__name__ == "ChatOllama" or (isinstance(label, str) and label[:7] == "ollama:"):
        return "ollama", name, str(base_url or "http://localhost:11434")
    return type(model).__name__, name, str(base_url or "")


def explain_model_setup(settings: Settings, *, problem: str | None = None) -> str:
    """A one-screen explanation of how to configure the model, starting with ``problem``."""
    try:
        current = str(resolve_model_spec(settings))
    except ConfigError as exc:
        current = f"(invalid: {exc.message})"
    config = user_config_path()
    lines = [
        f"LuminaMind cannot use its chat model: {problem}."
        if problem
        else "LuminaMind's chat model configuration:",
        "",
        f"  model now: {current}   provider (LLM_PROVIDER): {settings.llm_provider}",
        f"  OpenAI-compatible URL (OPENAI_BASE_URL): {settings.openai_base_url}",
        f"  Ollama URL (OLLAMA_BASE_URL): {settings.ollama_base_url}",
        "",
        "Pick one, with environment variables (or the same keys in the config file):",
        "",
        "  GLM (default)  export GLM_API_KEY=...            # key from https://z.ai",
        "  OpenAI         export OPENAI_API_KEY=sk-...",
        "                 export OPENAI_BASE_URL=https://api.openai.com/v1",
        "                 export LUMINAMIND_MODEL=openai:gpt-4.1",
        "  Ollama         export LLM_PROVIDER=ollama OLLAMA_MODEL=qwen3:latest",
        "                 ollama pull qwen3:latest && ollama serve   # OLLAMA_BASE_URL if remote",
        "",
        f"Config file: {config} (or .luminamind.toml in the workspace):",
        "",
        '  llm_provider = "openai"',
        '  openai_base_url = "https://api.z.ai/api/paas/v4/"',
        "  [model]",
        '  model = "openai:glm-4.5-flash"    # or "ollama:qwen3", "openai:gpt-4.1"',
        "",
        "Keys can also come from files: GLM_API_KEY_FILE=/run/secrets/glm.",
        "One run with another model: luminamind chat --model ollama:qwen3",
        "Check the set-up: luminamind doctor",
    ]
    return "\n".join(lines)
