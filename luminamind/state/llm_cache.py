"""The opt-in LLM response cache: LangChain's `BaseCache` over the tool cache's backends.

LangChain calls the cache with ``prompt`` (the serialised messages) and ``llm_string`` (the
model's class, name and every generation parameter: temperature, max tokens, tools, stop...),
so an entry is reused only for exactly the same model, parameters and messages. The key is
``cache_key("llm", "chat", llm_string + NUL + prompt)``.

When it is on (``cache.llm_cache``): ``off`` never; ``on`` always; ``auto`` (the default) only
when ``model.temperature`` is 0, because at higher temperatures users expect answers to vary.
Pass the cache to the chat model (``ChatOpenAI(..., cache=build_llm_cache(settings))``).

Generations are stored as plain JSON (messages via ``message_to_dict``), never as pickles or
LangChain's generic serialised objects, so a shared store (Redis) cannot make this process build
arbitrary classes. Backend calls run on one private event-loop thread: LangChain calls the sync
methods from plain threads and the async ones from the caller's loop, and a backend whose
client is bound to a loop (redis.asyncio) must always see the same one.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from langchain_core.caches import RETURN_VAL_TYPE, BaseCache
from langchain_core.messages import message_to_dict, messages_from_dict
from langchain_core.outputs import ChatGeneration, Generation

from luminamind.config import Settings
from luminamind.observability.metrics import get_metrics
from luminamind.state.cache import (
    UNAVAILABLE,
    CacheBackend,
    ResilientBackend,
    build_cache_backend,
    cache_key,
)

__all__ = ["LlmResponseCache", "build_llm_cache", "llm_cache_enabled"]

_T = TypeVar("_T")
_PREFIX = "lm:llm:"


class _LoopThread:
    """One daemon thread running an event loop; coroutines are submitted to it."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _ensure(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                self._thread = threading.Thread(
                    target=loop.run_forever, name="luminamind-llm-cache", daemon=True
                )
                self._thread.start()
                self._loop = loop
            return self._loop

    def run(self, coro: Coroutine[Any, Any, _T]) -> _T:
        return asyncio.run_coroutine_threadsafe(coro, self._ensure()).result()

    async def arun(self, coro: Coroutine[Any, Any, _T]) -> _T:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._ensure()))

    def stop(self) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5)
            loop.close()


def _encode(generations: RETURN_VAL_TYPE) -> bytes:
    rows: list[dict[str, Any]] = []  # Any: JSON values
    for gen in generations:
        if isinstance(gen, ChatGeneration):
            rows.append(
                {
                    "kind": "chat",
                    "message": message_to_dict(gen.message),
                    "info": gen.generation_info,
                }
            )
        else:
            rows.append({"kind": "text", "text": gen.text, "info": gen.generation_info})
    return json.dumps(rows, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _decode(raw: bytes) -> list[Generation] | None:
    try:
        rows = json.loads(raw)
        generations: list[Generation] = []
        for row in rows:
            if row["kind"] == "chat":
                (message,) = messages_from_dict([row["message"]])
                generations.append(ChatGeneration(message=message, generation_info=row["info"]))
            else:
                generations.append(Generation(text=row["text"], generation_info=row["info"]))
    except (ValueError, KeyError, TypeError):
        return None  # a corrupt or foreign entry is a miss
    return generations


class LlmResponseCache(BaseCache):
    """Exact-match cache of model responses (see the module docstring).

    Args:
        backend: where entries live (its own instance; not shared with the tool cache).
        ttl_seconds: how long an answer is reused.
        retry_seconds: bypass time after a backend failure.
    """

    def __init__(
        self, backend: CacheBackend, *, ttl_seconds: float = 86_400.0, retry_seconds: float = 60.0
    ) -> None:
        self._backend = ResilientBackend(backend, cache="llm", retry_seconds=retry_seconds)
        self._ttl = ttl_seconds
        self._portal = _LoopThread()
        self._requests = get_metrics().cache_requests_total

    @staticmethod
    def _key(prompt: str, llm_string: str) -> str:
        return cache_key("llm", "chat", f"{llm_string}\x00{prompt}")

    async def _lookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        raw = await self._backend.aget(self._key(prompt, llm_string))
        found = _decode(raw) if isinstance(raw, bytes) else None
        result = "hit" if found is not None else "error" if raw is UNAVAILABLE else "miss"
        self._requests.labels("llm", result).inc()
        return found

    async def _update(self, prompt: str, llm_string: str, value: RETURN_VAL_TYPE) -> None:
        await self._backend.aset(
            self._key(prompt, llm_string), _encode(value), ttl_seconds=self._ttl
        )

    def lookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        """The cached generations for this prompt and model configuration, if any."""
        return self._portal.run(self._lookup(prompt, llm_string))

    def update(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        """Store the generations for this prompt and model configuration."""
        self._portal.run(self._update(prompt, llm_string, return_val))

    def clear(self, **kwargs: Any) -> None:  # Any: LangChain's signature
        """Drop every cached model response (tool results are kept)."""
        self._portal.run(self._backend.aclear(_PREFIX))

    async def alookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        """Async `lookup`."""
        return await self._portal.arun(self._lookup(prompt, llm_string))

    async def aupdate(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        """Async `update`."""
        await self._portal.arun(self._update(prompt, llm_string, return_val))

    async def aclear(self, **kwargs: Any) -> None:  # Any: LangChain's signature
        """Async `clear`."""
        await self._portal.arun(self._backend.aclear(_PREFIX))

    def close(self) -> None:
        """Close the backend and stop the cache's thread."""
        self._portal.run(self._backend.aclose())
        self._portal.stop()


def llm_cache_enabled(settings: Settings) -> bool:
    """Whether the settings turn the LLM response cache on (see the module docstring)."""
    mode = settings.cache.llm_cache
    if not settings.cache.enabled or mode == "off":
        return False
    return mode == "on" or settings.model.temperature == 0


def build_llm_cache(settings: Settings) -> LlmResponseCache | None:
    """The LLM response cache for ``settings``, or None when it is off."""
    if not llm_cache_enabled(settings):
        return None
    backend = build_cache_backend(settings)
    if backend is None:
        return None
    return LlmResponseCache(
        backend,
        ttl_seconds=settings.cache.llm_ttl_seconds,
        retry_seconds=settings.cache.retry_seconds,
    )
