"""Admission control for the MCP HTTP endpoint: Host/Origin, bearer token, rate limit.

One ASGI middleware runs the checks in order, before a request reaches the SDK:

1. Host and Origin (DNS rebinding): a browser page on another site, or one reached through a
   hostname that resolves to 127.0.0.1, must not drive a local server. Refused with 403.
   (The SDK's own check answers 421 for a bad Host and covers only its endpoint; this one
   answers 403 for both, the way the issue and most proxies expect.)
2. Bearer token, when one is configured: 401 with ``WWW-Authenticate``.
3. A token bucket per token (per client address without one): 429 with ``Retry-After``.

Request size is enforced by the SDK's session manager (413), configured from
``server.max_request_bytes``.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import math
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from luminamind.config import ServerSettings
from luminamind.observability.metrics import get_metrics

__all__ = ["Admission", "HostOriginPolicy", "RateLimiter", "is_loopback"]

_log = structlog.get_logger(__name__)

_MAX_BUCKETS = 10_000


def is_loopback(host: str) -> bool:
    """True for a bind address only this machine can reach, judged from its text alone.

    An address literal in 127.0.0.0/8 or ``::1`` (brackets, a zone or the IPv4-mapped form
    allowed), or the name ``localhost``. Any other name is not loopback, however it resolves or
    looks: ``127.wild.test`` is a DNS name anyone can point anywhere, and ``127.1`` or
    ``0x7f.1`` are inet_aton spellings this check does not try to read. Those need a token.
    """
    text = host.strip()
    if text.lower() == "localhost":
        return True
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def _matches(value: str, patterns: Sequence[str]) -> bool:
    """Exact match, ``*`` for anything, or ``base:*`` for any port of ``base``."""
    for pattern in patterns:
        if pattern in ("*", value):
            return True
        if pattern.endswith(":*") and value.startswith(pattern[:-1]):
            return True
    return False


@dataclass(frozen=True, slots=True)
class HostOriginPolicy:
    """Which ``Host`` and ``Origin`` headers the MCP endpoint accepts.

    Attributes:
        hosts: allowed Host values; empty means any (a server bound to a public address
            behind an ingress cannot know every name it is reached by).
        origins: allowed Origin values; a request without Origin (not from a browser) passes.
    """

    hosts: tuple[str, ...]
    origins: tuple[str, ...]

    @classmethod
    def for_server(cls, server: ServerSettings) -> HostOriginPolicy:
        """Loopback binds accept only loopback names; others what the settings list."""
        hosts = list(server.allowed_hosts)
        origins = list(server.allowed_origins)
        if is_loopback(server.host):
            hosts += ["127.0.0.1", "127.0.0.1:*", "localhost", "localhost:*", "[::1]", "[::1]:*"]
            origins += ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
            origins += ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        return cls(hosts=tuple(hosts), origins=tuple(origins))

    def refusal(self, headers: Headers) -> str | None:
        """Why a request is refused, or None to let it through."""
        host = headers.get("host", "")
        if self.hosts and not _matches(host, self.hosts):
            return f"Host header {host!r} is not allowed (add it to server.allowed_hosts)"
        origin = headers.get("origin")
        if origin is not None and not _matches(origin, self.origins):
            return f"Origin {origin!r} is not allowed (add it to server.allowed_origins)"
        return None


class RateLimiter:
    """A token bucket per client key: ``per_minute`` requests, refilled continuously.

    A client may spend a whole minute's allowance at once; after that it gets one request
    every ``60 / per_minute`` seconds.
    """

    def __init__(self, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def acquire(self, key: str, *, now: float | None = None) -> float:
        """Spend one request; returns 0 when allowed, else the seconds until one is."""
        now = time.monotonic() if now is None else now
        tokens, stamp = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - stamp) * self.rate)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.rate
        self._buckets[key] = (tokens, now)
        self._buckets.move_to_end(key)
        while len(self._buckets) > _MAX_BUCKETS:
            self._buckets.popitem(last=False)
        return wait


class Admission:
    """ASGI middleware applying Host/Origin, token and rate checks to paths under ``prefix``.

    Args:
        app: the application behind the checks.
        prefix: the path the checks guard (the MCP endpoint); health and metrics stay open
            for probes and scrapers.
        policy: Host and Origin rules.
        token: the bearer token clients must present, or None for no authentication.
        limiter: the per-client rate limit.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        prefix: str,
        policy: HostOriginPolicy,
        token: str | None,
        limiter: RateLimiter,
    ) -> None:
        self.app = app
        self.prefix = prefix
        self.policy = policy
        self._token = token.encode() if token else None
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == self.prefix or path.startswith(self.prefix)):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refusal = self.policy.refusal(headers)
        if refusal is not None:
            await _reject(send, 403, "forbidden", refusal)
            return
        presented = _bearer(headers)
        if self._token is not None:
            if presented is None:
                await _reject(
                    send,
                    401,
                    "unauthorized",
                    "missing bearer token: send 'Authorization: Bearer <LUMINAMIND_MCP_TOKEN>'",
                    extra=[(b"www-authenticate", b'Bearer realm="luminamind"')],
                )
                return
            if not hmac.compare_digest(presented.encode(), self._token):
                await _reject(
                    send,
                    401,
                    "unauthorized",
                    "invalid bearer token",
                    extra=[
                        (
                            b"www-authenticate",
                            b'Bearer realm="luminamind", error="invalid_token"',
                        )
                    ],
                )
                return
        wait = self.limiter.acquire(_client_key(scope, presented if self._token else None))
        if wait > 0:
            retry = max(1, math.ceil(wait))
            await _reject(
                send,
                429,
                "rate_limited",
                f"rate limit exceeded; retry in {retry} s",
                extra=[(b"retry-after", str(retry).encode())],
            )
            return
        await self.app(scope, receive, send)


def _bearer(headers: Headers) -> str | None:
    value = headers.get("authorization", "")
    scheme, _, credentials = value.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


def _client_key(scope: Scope, token: str | None) -> str:
    if token is not None:
        # Keyed by a digest, so the token itself never sits in memory twice.
        return "token:" + hashlib.sha256(token.encode()).hexdigest()[:16]
    client = scope.get("client")
    return f"addr:{client[0]}" if client else "addr:unknown"


async def _reject(
    send: Send,
    status: int,
    outcome: str,
    message: str,
    *,
    extra: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    get_metrics().requests_total.labels("mcp", outcome).inc()
    _log.info("mcp_request_refused", status=status, outcome=outcome, reason=message)
    body = json.dumps({"error": outcome, "message": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
