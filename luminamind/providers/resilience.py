"""Retries, a circuit breaker per endpoint, and one clear error for every provider failure.

`ProviderGuard` runs one model call: it fails fast while the endpoint's circuit is open, retries
429 / 5xx / timeouts / connection errors with exponential backoff and jitter (a ``Retry-After``
header wins over the backoff), records metrics, and turns the SDKs' exceptions (openai, httpx,
ollama) into `ProviderTimeoutError`, `ProviderRateLimitError`, `ProviderUnavailableError`,
`ProviderError` or `ConfigError` whose message names the endpoint and what to do.

The breaker counts failures that say "the endpoint is unwell" (timeouts, connection errors, 5xx).
A 429 is the endpoint working as designed, and a 4xx is our request's fault; neither opens it.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

import httpx
import structlog

from luminamind.config import ModelSettings
from luminamind.errors import (
    ConfigError,
    LuminaError,
    ProviderError,
    ProviderRateLimitError,
    ProviderTimeoutError,
    ProviderUnavailableError,
)
from luminamind.observability.metrics import get_metrics
from luminamind.providers.circuit import CircuitBreaker, CircuitBreakers, Endpoint

__all__ = [
    "FailureKind",
    "ProviderGuard",
    "RetryPolicy",
    "classify_failure",
    "retry_after_seconds",
    "translate_failure",
]

T = TypeVar("T")
_log = structlog.get_logger(__name__)

FailureKind = Literal["timeout", "rate_limit", "unavailable", "server", "auth", "not_found", "bad"]
_RETRYABLE: frozenset[FailureKind] = frozenset({"timeout", "rate_limit", "unavailable", "server"})
_TRIPS_BREAKER: frozenset[FailureKind] = frozenset({"timeout", "unavailable", "server"})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry.

    Attributes:
        max_retries: retries after the first attempt.
        initial_delay: the first backoff, doubled each retry.
        max_delay: the backoff's cap, and the longest ``Retry-After`` honoured: a provider that
            asks for a longer wait fails at once with `ProviderRateLimitError` saying so.
        jitter: +-25 % random spread so many clients do not retry in step.
    """

    max_retries: int = 3
    initial_delay: float = 1.0
    max_delay: float = 30.0
    jitter: bool = True

    @classmethod
    def from_settings(cls, model: ModelSettings) -> RetryPolicy:
        return cls(model.max_retries, model.retry_initial_delay, model.retry_max_delay)

    def backoff(self, retry: int) -> float:
        """Seconds before retry number ``retry`` (0-based)."""
        delay: float = min(self.max_delay, self.initial_delay * (2**retry))
        if self.jitter and delay > 0:
            delay *= random.uniform(0.75, 1.25)  # noqa: S311 - jitter, not cryptography
        return min(delay, self.max_delay)


# --- classification and translation ------------------------------------------------------


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and status > 0:
        return status
    response = getattr(exc, "response", None)
    code = getattr(response, "status_code", None)
    return code if isinstance(code, int) else None


def classify_failure(exc: BaseException) -> FailureKind | None:
    """What kind of provider failure ``exc`` is; None when it is no provider failure at all."""
    import ollama
    import openai

    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException | TimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError | httpx.TransportError | ConnectionError):
        return "unavailable"
    if isinstance(exc, openai.APIStatusError | ollama.ResponseError | httpx.HTTPStatusError):
        status = _status(exc)
        if status == 429:
            return "rate_limit"
        if status in (401, 403):
            return "auth"
        if status == 404:
            return "not_found"
        if status is not None and status >= 500:
            return "server"
        return "bad"
    if isinstance(exc, openai.OpenAIError | json.JSONDecodeError):
        return "bad"  # malformed responses: retrying the same request would not help
    return None


def retry_after_seconds(exc: BaseException) -> float | None:
    """The wait a 429/503 asked for (``retry-after-ms``, ``Retry-After`` seconds or date)."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if "," in value else None
        return None if parsed is None else max(0.0, parsed.timestamp() - time.time())


def _detail(exc: BaseException) -> str:
    import ollama
    import openai

    if isinstance(exc, openai.APIStatusError):
        # `body` is the error object ({"message": ...}); `message` prefixes "Error code: 429 -".
        body = exc.body
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            return str(body["message"])
        return exc.message
    if isinstance(exc, ollama.ResponseError):
        return str(exc.error)
    return str(exc) or type(exc).__name__


def translate_failure(
    exc: BaseException, endpoint: Endpoint, *, attempts: int, timeout: float
) -> LuminaError:
    """The `LuminaError` a user sees for ``exc``: what failed, where, and what to do."""
    where = f"{endpoint.provider} model {endpoint.model!r} at {endpoint.base_url}"
    tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
    kind = classify_failure(exc)
    status = _status(exc)
    if kind == "timeout":
        return ProviderTimeoutError(
            f"{where} did not answer within {timeout:g}s ({tries}). Check that the endpoint is "
            "up, or raise model.timeout_seconds (LUMINAMIND_MODEL__TIMEOUT_SECONDS)."
        )
    if kind == "rate_limit":
        return ProviderRateLimitError(
            f"{where} is rate limiting (HTTP 429 after {tries}): {_detail(exc)}. Wait a moment, "
            "lower concurrency, or set model.fallback_model to a second model."
        )
    if kind == "unavailable":
        hint = (
            "Is Ollama running (ollama serve)? Check OLLAMA_BASE_URL."
            if endpoint.provider == "ollama"
            else "Check OPENAI_BASE_URL and your network or proxy."
        )
        return ProviderUnavailableError(f"cannot reach {where} ({tries}): {_detail(exc)}. {hint}")
    if kind == "server":
        return ProviderUnavailableError(
            f"{where} failed with HTTP {status} ({tries}): {_detail(exc)}. The provider is "
            "having trouble; try again later or set model.fallback_model."
        )
    if kind == "auth":
        variable = (
            "the Ollama proxy's credentials"
            if endpoint.provider == "ollama"
            else ("GLM_API_KEY or OPENAI_API_KEY")
        )
        return ConfigError(
            f"{where} refused the credentials (HTTP {status}): {_detail(exc)}. Set {variable} "
            "to a valid key (luminamind doctor shows the current set-up)."
        )
    if kind == "not_found":
        hint = (
            f"Pull it (ollama pull {endpoint.model}) or set OLLAMA_MODEL."
            if endpoint.provider == "ollama"
            else "Set model.model (LUMINAMIND_MODEL) to a model this endpoint serves, or "
            "check OPENAI_BASE_URL."
        )
        return ConfigError(f"{where} does not exist (HTTP 404): {_detail(exc)}. {hint}")
    code = f"HTTP {status}" if status else type(exc).__name__
    return ProviderError(f"{where} rejected the request ({code}): {_detail(exc)}")


# --- the guard -----------------------------------------------------------------------------


class ProviderGuard:
    """Runs model calls through the breaker, the retry policy, translation and metrics.

    Args:
        policy: retries and backoff.
        breakers: the shared circuit breakers.
        timeout: the per-call timeout the clients use (quoted in timeout messages).
        sleep / asleep: injectable waits (tests pass recording fakes to measure backoff).
    """

    def __init__(
        self,
        *,
        policy: RetryPolicy,
        breakers: CircuitBreakers,
        timeout: float,
        sleep: Callable[[float], None] = time.sleep,
        asleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.policy, self.breakers, self.timeout = policy, breakers, timeout
        self._sleep, self._asleep = sleep, asleep

    def call(self, endpoint: Endpoint, fn: Callable[[], T]) -> T:
        """Run ``fn`` (sync) with retries; raise a `LuminaError` when it cannot succeed."""
        breaker = self.breakers.get(endpoint)
        for attempt in range(self.policy.max_retries + 1):
            breaker.before_call()
            started = time.perf_counter()
            try:
                result = fn()
            except BaseException as exc:
                wait = self._after_failure(exc, endpoint, breaker, attempt, started)
                self._sleep(wait)
                continue
            self._after_success(endpoint, breaker, started)
            return result
        raise AssertionError("unreachable: the last attempt raises")  # pragma: no cover

    async def acall(self, endpoint: Endpoint, fn: Callable[[], Awaitable[T]]) -> T:
        """Run ``fn`` (async) with retries; raise a `LuminaError` when it cannot succeed."""
        breaker = self.breakers.get(endpoint)
        for attempt in range(self.policy.max_retries + 1):
            breaker.before_call()
            started = time.perf_counter()
            try:
                result = await fn()
            except BaseException as exc:
                wait = self._after_failure(exc, endpoint, breaker, attempt, started)
                await self._asleep(wait)
                continue
            self._after_success(endpoint, breaker, started)
            return result
        raise AssertionError("unreachable: the last attempt raises")  # pragma: no cover

    @staticmethod
    def _after_success(endpoint: Endpoint, breaker: CircuitBreaker, started: float) -> None:
        breaker.record_success()
        metrics = get_metrics()
        metrics.llm_duration_seconds.labels(endpoint.model).observe(time.perf_counter() - started)
        metrics.llm_requests_total.labels(endpoint.model, "ok").inc()

    def _after_failure(
        self,
        exc: BaseException,
        endpoint: Endpoint,
        breaker: CircuitBreaker,
        attempt: int,
        started: float,
    ) -> float:
        """Record the failure; return how long to wait before retrying, or raise."""
        kind = classify_failure(exc)
        metrics = get_metrics()
        metrics.llm_duration_seconds.labels(endpoint.model).observe(time.perf_counter() - started)
        if kind is None:
            # Cancellation, interrupts (GraphBubbleUp) and our own bugs are no provider's fault.
            breaker.release_probe()
            outcome = "cancelled" if isinstance(exc, asyncio.CancelledError) else "error"
            metrics.llm_requests_total.labels(endpoint.model, outcome).inc()
            raise exc
        metrics.llm_requests_total.labels(endpoint.model, kind).inc()
        if kind in _TRIPS_BREAKER:
            breaker.record_failure()
        else:
            breaker.release_probe()
        attempts = attempt + 1
        _log.warning(
            "llm_call_failed",
            provider=endpoint.provider,
            model=endpoint.model,
            kind=kind,
            attempt=attempts,
            error=type(exc).__name__,
        )
        error = translate_failure(exc, endpoint, attempts=attempts, timeout=self.timeout)
        if kind not in _RETRYABLE or attempt >= self.policy.max_retries:
            raise error from exc
        if breaker.state == "open":
            raise error from exc  # the breaker just opened: stop hammering the endpoint
        asked = retry_after_seconds(exc)
        if asked is None:
            return self.policy.backoff(attempt)
        if asked > self.policy.max_delay:
            raise ProviderRateLimitError(
                f"{error.message} The provider asked to wait {asked:g}s, longer than "
                f"model.retry_max_delay ({self.policy.max_delay:g}s)."
            ) from exc
        return asked
