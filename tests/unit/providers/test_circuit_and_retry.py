"""The circuit breaker's state machine, backoff bounds, Retry-After parsing, classification."""

from __future__ import annotations

import email.utils
import json
import time
from typing import Any, cast

import httpx
import ollama
import openai
import pytest

from luminamind.errors import ProviderUnavailableError
from luminamind.providers import (
    CircuitBreaker,
    CircuitBreakers,
    Endpoint,
    RetryPolicy,
    classify_failure,
    retry_after_seconds,
)

ENDPOINT = Endpoint("openai", "glm-4.5-flash", "https://api.z.ai/api/paas/v4/")


class Clock:
    """A clock the test moves by hand, so cool-downs take no real time."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _breaker(clock: Clock, threshold: int = 3) -> CircuitBreaker:
    return CircuitBreaker(ENDPOINT, threshold=threshold, reset_after=30, clock=clock)


def _state(breaker: CircuitBreaker) -> str:
    """The state, read afresh (mypy would keep a narrowing across the calls that change it)."""
    return breaker.state


def test_opens_after_consecutive_failures_and_fails_fast() -> None:
    clock = Clock()
    breaker = _breaker(clock)
    for _ in range(2):
        breaker.before_call()
        breaker.record_failure()
    assert breaker.state == "closed"
    breaker.before_call()
    breaker.record_failure()
    assert _state(breaker) == "open"
    clock.now += 10
    with pytest.raises(ProviderUnavailableError) as caught:
        breaker.before_call()
    assert caught.value.message.startswith(
        "circuit open for openai at https://api.z.ai/api/paas/v4/ after 3 failures; "
        "retrying in 20s."
    )


def test_a_success_resets_the_count() -> None:
    breaker = _breaker(Clock())
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    breaker.record_failure()
    assert (breaker.state, breaker.failures) == ("closed", 2)


def test_half_open_lets_exactly_one_probe_through() -> None:
    clock = Clock()
    breaker = _breaker(clock, threshold=1)
    breaker.record_failure()
    clock.now += 30
    assert breaker.state == "half_open"
    breaker.before_call()  # the probe
    with pytest.raises(ProviderUnavailableError, match="a probe call is in flight"):
        breaker.before_call()
    breaker.record_success()
    assert _state(breaker) == "closed"
    breaker.before_call()


def test_a_failed_probe_reopens_for_a_full_cool_down() -> None:
    clock = Clock()
    breaker = _breaker(clock, threshold=5)
    for _ in range(5):
        breaker.record_failure()
    clock.now += 31
    breaker.before_call()
    breaker.record_failure()
    assert breaker.state == "open"
    clock.now += 29
    with pytest.raises(ProviderUnavailableError, match="retrying in 1s"):
        breaker.before_call()


def test_a_probe_without_verdict_frees_the_next_call() -> None:
    clock = Clock()
    breaker = _breaker(clock, threshold=1)
    breaker.record_failure()
    clock.now += 30
    breaker.before_call()
    breaker.release_probe()  # cancelled, or a 4xx that says nothing about health
    breaker.before_call()


def test_breakers_are_per_endpoint_not_per_model() -> None:
    breakers = CircuitBreakers(threshold=1, reset_after=30)
    breakers.get(ENDPOINT).record_failure()
    same_url_other_model = Endpoint("openai", "glm-4.6", "https://api.z.ai/api/paas/v4")
    assert breakers.get(same_url_other_model).state == "open"
    assert breakers.get(Endpoint("ollama", "qwen3", "http://localhost:11434")).state == "closed"
    assert breakers.states() == {
        "openai https://api.z.ai/api/paas/v4": "open",
        "ollama http://localhost:11434": "closed",
    }


def test_backoff_grows_is_capped_and_jittered() -> None:
    policy = RetryPolicy(max_retries=10, initial_delay=1.0, max_delay=8.0)
    for retry, base in [(0, 1.0), (1, 2.0), (2, 4.0)]:
        delays = {policy.backoff(retry) for _ in range(50)}
        assert min(delays) >= base * 0.75
        assert max(delays) <= base * 1.25
        assert len(delays) > 1
    assert all(policy.backoff(9) <= 8.0 for _ in range(50))
    steady = RetryPolicy(initial_delay=0.5, jitter=False)
    assert [steady.backoff(n) for n in range(3)] == [0.5, 1.0, 2.0]


def _status_error(status: int, headers: dict[str, str] | None = None) -> openai.APIStatusError:
    request = httpx.Request("POST", "https://api.z.ai/api/paas/v4/chat/completions")
    response = httpx.Response(status, headers=headers or {}, request=request, json={})
    cls = {429: openai.RateLimitError, 500: openai.InternalServerError}.get(
        status, openai.APIStatusError
    )
    # openai types its errors with httpx2 (its fork of httpx); the fields read are the same.
    return cls("boom", response=cast(Any, response), body={"message": "boom"})


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "2"}, 2.0),
        ({"retry-after": "0.25"}, 0.25),
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_header_forms(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_seconds(_status_error(429, headers)) == expected


def test_retry_after_http_date() -> None:
    when = email.utils.formatdate(time.time() + 5, usegmt=True)
    wait = retry_after_seconds(_status_error(429, {"retry-after": when}))
    assert wait is not None
    assert 3 <= wait <= 5


def test_retry_after_absent_on_errors_without_a_response() -> None:
    assert retry_after_seconds(TimeoutError()) is None
    assert retry_after_seconds(ollama.ResponseError("busy", 429)) is None


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (_status_error(429), "rate_limit"),
        (_status_error(500), "server"),
        (_status_error(401), "auth"),
        (_status_error(404), "not_found"),
        (_status_error(400), "bad"),
        (openai.APITimeoutError(cast(Any, httpx.Request("POST", "http://x"))), "timeout"),
        (
            openai.APIConnectionError(request=cast(Any, httpx.Request("POST", "http://x"))),
            "unavailable",
        ),
        (httpx.ReadTimeout("slow"), "timeout"),
        (httpx.ConnectError("refused"), "unavailable"),
        (ConnectionError("Failed to connect to Ollama"), "unavailable"),
        (ollama.ResponseError("overloaded", 503), "server"),
        (ollama.ResponseError("model 'x' not found", 404), "not_found"),
        (json.JSONDecodeError("bad", "{", 0), "bad"),
        (ValueError("a bug"), None),
        (KeyboardInterrupt(), None),
    ],
)
def test_classification(exc: BaseException, kind: str | None) -> None:
    assert classify_failure(exc) == kind
