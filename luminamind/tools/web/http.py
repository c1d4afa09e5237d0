"""The web tools' HTTP client: every hop checked by the URL guard and pinned to its address.

Pinning (why a custom network backend): httpx resolves host names itself when it connects, so a
check that resolved the name a moment earlier proves nothing: a DNS server with a zero TTL can
answer "a public address" to the check and "127.0.0.1" to the connect (DNS rebinding). Here the
guard resolves and checks the addresses, `_PinnedBackend` records them for that host and port,
and the connection pool's network backend connects to those recorded addresses only, never
asking DNS again. The URL, the ``Host`` header and the TLS SNI/certificate check still use the
original host name, so virtual hosts and HTTPS work as usual. A host that was not checked has no
pin, and connecting to it fails closed.

Redirects are followed here, not by httpx, so each hop goes through the guard before any byte is
sent to it. Environment proxies are ignored (``trust_env=False``): a proxy would do its own DNS.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import json
import random
import ssl
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import httpcore
import httpx
import structlog

from luminamind.config import WebSettings
from luminamind.errors import ToolExecutionError, ToolNotConfiguredError
from luminamind.security.url_guard import GuardedUrl, IPAddress, UrlGuard

__all__ = ["FetchedBody", "WebClient", "retry_after_seconds"]

_log = structlog.get_logger(__name__)
_REDIRECTS = {301, 302, 303, 307, 308}
_RETRY_STATUSES = {429, 503}
_SOCKET_OPTION = Any  # Any: httpcore's socket-option tuples are loosely typed upstream


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses the URL guard checked for that exact host and port."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._pins: dict[tuple[str, int], tuple[IPAddress, ...]] = {}

    def pin(self, guarded: GuardedUrl) -> None:
        self._pins[(guarded.host, guarded.port)] = guarded.addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's backend signature)
        local_address: str | None = None,
        socket_options: Iterable[_SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = self._pins.get((host, port))
        if not addresses:
            raise httpcore.ConnectError(f"{host}:{port} was not checked by the URL guard; refused")
        error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's backend signature)
        socket_options: Iterable[_SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not reachable from the web tools")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


@functools.lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle takes tens of milliseconds; one context serves every client.
    return httpx.create_ssl_context(trust_env=False)


class _PinnedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, backend: _PinnedBackend, *, max_connections: int) -> None:
        super().__init__(verify=_ssl_context(), trust_env=False, http2=True)
        # httpx has no public hook for the network backend: replace the (still unused) pool it
        # built with an identical one on our backend. httpx is pinned below 1.0 in pyproject.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=_ssl_context(),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            http1=True,
            http2=True,
            network_backend=backend,
        )


@dataclass(slots=True)
class FetchedBody:
    """A response body read with a byte cap, and where it came from."""

    url: str
    final_url: str
    status_code: int
    content_type: str
    charset: str | None
    body: bytes
    truncated: bool
    content_length: int | None
    redirects: list[str] = field(default_factory=list)


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Parse a ``Retry-After`` header (delta seconds or an HTTP date) into seconds from now."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class WebClient:
    """An async HTTP client for the web tools; use ``async with WebClient(settings) as client``.

    Args:
        settings: the ``web`` settings (timeouts, caps, allowlist, user agent, retries).
        guard: the URL guard (one is built from ``settings.allowed_hosts`` by default).
    """

    def __init__(self, settings: WebSettings, *, guard: UrlGuard | None = None) -> None:
        self.settings = settings
        self.guard = guard or UrlGuard(
            settings.allowed_hosts, resolve_timeout=settings.timeout_seconds
        )
        self._backend = _PinnedBackend()
        self._client = httpx.AsyncClient(
            transport=_PinnedTransport(self._backend, max_connections=settings.crawl_concurrency),
            timeout=httpx.Timeout(settings.timeout_seconds),
            headers={"User-Agent": settings.user_agent},
            follow_redirects=False,
            trust_env=False,
        )

    async def __aenter__(self) -> WebClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._client.aclose()

    @asynccontextmanager
    async def _open(
        self, method: str, url: str, **kwargs: Any
    ) -> AsyncIterator[tuple[httpx.Response, list[str]]]:
        """Send ``method url``, following redirects; each hop is checked, pinned, then sent."""
        redirects: list[str] = []
        current = url
        while True:
            guarded = await self.guard.check(current)
            self._backend.pin(guarded)
            request = self._client.build_request(method, guarded.url, **kwargs)
            response = await self._client.send(request, stream=True)
            location = response.headers.get("location")
            if response.status_code not in _REDIRECTS or not location:
                try:
                    yield response, redirects
                finally:
                    await response.aclose()
                return
            await response.aclose()
            if len(redirects) >= self.settings.max_redirects:
                raise ToolExecutionError(
                    f"{url}: more than {self.settings.max_redirects} redirects "
                    f"(last to {location}); fetch the final URL directly"
                )
            current = urljoin(guarded.url, location)
            redirects.append(current)
            if response.status_code == 303 or (
                response.status_code in (301, 302) and method == "POST"
            ):
                method, kwargs = "GET", {k: v for k, v in kwargs.items() if k == "headers"}
            _log.debug("web_redirect_followed", status=response.status_code, to=current)

    async def fetch(
        self,
        url: str,
        *,
        max_bytes: int,
        refuse: Callable[[FetchedBody], None] | None = None,
        headers: Mapping[str, str] | None = None,
        raise_for_status: bool = True,
    ) -> FetchedBody:
        """GET ``url`` and read at most ``max_bytes`` of its (decoded) body.

        Args:
            url: the URL (checked, like every redirect hop).
            max_bytes: body cap; the rest is not downloaded and ``truncated`` is set.
            refuse: called with the headers (empty body) before the body is read; raise to stop.
            headers: extra request headers.
            raise_for_status: raise on HTTP 4xx/5xx (else return the status and body).

        Raises:
            UrlBlockedError, ToolExecutionError: with the URL and what to do.
        """
        try:
            async with asyncio.timeout(self.settings.timeout_seconds):
                return await self._fetch(
                    url,
                    max_bytes=max_bytes,
                    refuse=refuse,
                    headers=headers,
                    raise_for_status=raise_for_status,
                )
        except TimeoutError:
            raise ToolExecutionError(
                f"{url}: no complete answer within {self.settings.timeout_seconds:g} s "
                "(web.timeout_seconds); the server is slow or unreachable"
            ) from None
        except httpx.HTTPError as exc:
            raise ToolExecutionError(f"{url}: {_describe(exc)}") from None

    async def _fetch(
        self,
        url: str,
        *,
        max_bytes: int,
        refuse: Callable[[FetchedBody], None] | None,
        headers: Mapping[str, str] | None,
        raise_for_status: bool,
    ) -> FetchedBody:
        async with self._open("GET", url, headers=dict(headers or {})) as (response, redirects):
            content_type, charset = _content_type(response.headers.get("content-type", ""))
            length = response.headers.get("content-length")
            fetched = FetchedBody(
                url=url,
                final_url=str(response.url),
                status_code=response.status_code,
                content_type=content_type,
                charset=charset,
                body=b"",
                truncated=False,
                content_length=int(length) if length and length.isdigit() else None,
                redirects=redirects,
            )
            if response.status_code >= 400 and raise_for_status:
                raise ToolExecutionError(
                    f"{fetched.final_url} answered HTTP {response.status_code} "
                    f"{response.reason_phrase}; check the URL"
                )
            if refuse is not None:
                refuse(fetched)
            chunks: list[bytes] = []
            size = 0
            # aiter_bytes decodes gzip/br, so the cap bounds what we hold, not what was sent.
            async for chunk in response.aiter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size > max_bytes:
                    fetched.truncated = True
                    break
            fetched.body = b"".join(chunks)[:max_bytes]
            return fetched

    async def request_json(
        self,
        method: str,
        url: str,
        *,
        provider: str,
        key_hint: str | None = None,
        params: Mapping[str, str | int | float] | None = None,
        json_body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:  # Any: the providers' JSON documents, validated by each adapter
        """Call a provider's JSON API, retrying 429/503 (honouring Retry-After) and network errors.

        Raises:
            ToolNotConfiguredError: the provider refused the key (401/403); ``key_hint`` names it.
            ToolExecutionError: rate-limited after every attempt, other HTTP errors, bad JSON.
        """
        attempts = self.settings.retry_attempts
        last = ""
        for attempt in range(1, attempts + 1):
            delay = self.settings.retry_backoff_seconds * 2 ** (attempt - 1)
            try:
                async with asyncio.timeout(self.settings.timeout_seconds):
                    status, reason, retry_after, text = await self._call(
                        method, url, params=params, json_body=json_body, headers=headers
                    )
            except (TimeoutError, httpx.TransportError) as exc:
                last = "timed out" if isinstance(exc, TimeoutError) else _describe(exc)
                if attempt < attempts:
                    await asyncio.sleep(delay * (0.5 + random.random()))  # noqa: S311 (jitter)
                    continue
                raise ToolExecutionError(
                    f"{provider}: {last} after {attempts} attempts; try again later"
                ) from None
            if status in _RETRY_STATUSES:
                wait = retry_after_seconds(retry_after)
                last = f"HTTP {status} {reason}" + (f" (Retry-After: {retry_after})" * bool(wait))
                if wait is not None and wait > self.settings.retry_max_delay_seconds:
                    raise ToolExecutionError(
                        f"{provider} is rate-limiting us ({last}); that is longer than "
                        f"web.retry_max_delay_seconds={self.settings.retry_max_delay_seconds:g}, "
                        "so try again later or choose another provider (web.search_provider)"
                    )
                if attempt < attempts:
                    _log.info("web_provider_retry", provider=provider, status=status, wait=wait)
                    await asyncio.sleep(delay if wait is None else wait)
                    continue
                raise ToolExecutionError(
                    f"{provider} answered {last} on all {attempts} attempts; wait a minute and "
                    "try again, or choose another provider (web.search_provider)"
                )
            if status in (401, 403):
                hint = f"; check {key_hint}" if key_hint else ""
                raise ToolNotConfiguredError(
                    f"{provider} refused the request (HTTP {status} {reason}){hint}"
                )
            if status >= 400:
                raise ToolExecutionError(
                    f"{provider} answered HTTP {status} {reason}: {text[:200]!r}"
                )
            try:
                return json.loads(text)
            except ValueError:
                raise ToolExecutionError(
                    f"{provider} answered with invalid JSON: {text[:200]!r}"
                ) from None
        raise ToolExecutionError(f"{provider}: {last}")  # unreachable: attempts >= 1

    async def _call(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str | int | float] | None,
        json_body: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
    ) -> tuple[int, str, str | None, str]:
        kwargs: dict[str, Any] = {"headers": {"Accept": "application/json", **(headers or {})}}
        if params is not None:
            kwargs["params"] = dict(params)
        if json_body is not None:
            kwargs["json"] = dict(json_body)
        async with self._open(method, url, **kwargs) as (response, _redirects):
            body = b""
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > self.settings.max_bytes:
                    raise ToolExecutionError(
                        f"{url}: answer larger than web.max_bytes={self.settings.max_bytes}"
                    )
            return (
                response.status_code,
                response.reason_phrase,
                response.headers.get("retry-after"),
                body.decode(response.encoding or "utf-8", errors="replace"),
            )


def _content_type(header: str) -> tuple[str, str | None]:
    main, _, rest = header.partition(";")
    charset = None
    for param in rest.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip("\"'").lower()
    return main.strip().lower(), charset


def _describe(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {exc}"
    return f"{type(exc).__name__}: {exc}"
