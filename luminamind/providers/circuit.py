"""Circuit breakers: one per provider endpoint, so a dead endpoint fails fast.

closed -> open after ``threshold`` consecutive failures -> half-open after ``reset_after``
seconds (one probe call goes through, others keep failing fast) -> closed on the probe's
success, open for another cool-down on its failure.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import structlog

from luminamind.config import ModelSettings
from luminamind.errors import ProviderUnavailableError

__all__ = ["CircuitBreaker", "CircuitBreakers", "Endpoint"]

_log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Endpoint:
    """Which model at which endpoint a call goes to (labels messages, circuits and metrics)."""

    provider: str
    model: str
    base_url: str

    @property
    def key(self) -> tuple[str, str]:
        """One circuit per provider endpoint: every model behind a URL shares its health."""
        return self.provider, self.base_url.rstrip("/")


class CircuitBreaker:
    """Closed -> open after ``threshold`` consecutive failures -> half-open after ``reset_after``
    seconds (one probe call) -> closed on its success, open again on its failure.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        threshold: int,
        reset_after: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.endpoint = endpoint
        self.threshold = threshold
        self.reset_after = reset_after
        self._clock = clock
        self._lock = threading.Lock()  # sync and async callers share one breaker
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> Literal["closed", "open", "half_open"]:
        with self._lock:
            if self._opened_at is None:
                return "closed"
            if self._probing or self._clock() - self._opened_at >= self.reset_after:
                return "half_open"
            return "open"

    @property
    def failures(self) -> int:
        return self._failures

    def before_call(self) -> None:
        """Let the call through, or raise `ProviderUnavailableError` while the circuit is open."""
        with self._lock:
            if self._opened_at is None:
                return
            waited = self._clock() - self._opened_at
            if waited >= self.reset_after and not self._probing:
                self._probing = True  # half-open: this call is the probe, others keep failing
                _log.info("circuit_half_opened", provider=self.endpoint.provider)
                return
            remaining = max(0.0, self.reset_after - waited)
            ep = self.endpoint
            raise ProviderUnavailableError(
                f"circuit open for {ep.provider} at {ep.base_url} after {self._failures} "
                f"failures; retrying in {remaining:.0f}s"
                + (" (a probe call is in flight)" if self._probing else "")
                + ". Check the endpoint, or set model.fallback_model."
            )

    def record_success(self) -> None:
        with self._lock:
            was_open = self._opened_at is not None
            self._failures, self._opened_at, self._probing = 0, None, False
        if was_open:
            _log.info("circuit_closed", provider=self.endpoint.provider)

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            opening = self._probing or (
                self._opened_at is None and self._failures >= self.threshold
            )
            if opening:
                self._opened_at, self._probing = self._clock(), False
        if opening:
            _log.warning(
                "circuit_opened",
                provider=self.endpoint.provider,
                base_url=self.endpoint.base_url,
                failures=self._failures,
                reset_seconds=self.reset_after,
            )

    def release_probe(self) -> None:
        """The probe ended without a verdict (cancelled, or a 4xx): let the next call probe."""
        with self._lock:
            self._probing = False


class CircuitBreakers:
    """One `CircuitBreaker` per provider endpoint, shared by every agent and subagent."""

    def __init__(
        self, *, threshold: int, reset_after: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.threshold, self.reset_after, self._clock = threshold, reset_after, clock
        self._breakers: dict[tuple[str, str], CircuitBreaker] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, model: ModelSettings) -> CircuitBreakers:
        return cls(
            threshold=model.circuit_failure_threshold, reset_after=model.circuit_reset_seconds
        )

    def get(self, endpoint: Endpoint) -> CircuitBreaker:
        with self._lock:
            breaker = self._breakers.get(endpoint.key)
            if breaker is None:
                breaker = CircuitBreaker(
                    endpoint,
                    threshold=self.threshold,
                    reset_after=self.reset_after,
                    clock=self._clock,
                )
                self._breakers[endpoint.key] = breaker
            return breaker

    def states(self) -> dict[str, str]:
        """``{"openai http://...": "closed", ...}`` for health checks and ``doctor``."""
        with self._lock:
            return {f"{p} {u}": b.state for (p, u), b in self._breakers.items()}
