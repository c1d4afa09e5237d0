"""Redis connections for the checkpointer, thread store and cache: URLs, pools, timeouts, retries.

URLs:

- ``redis://[[user]:password@]host[:port][/db]`` and ``rediss://`` (TLS; ``?ssl_cert_reqs=...``
  and the other redis-py query options work), ``unix:///path/redis.sock``.
- ``redis+sentinel://[[user]:password@]host:port[,host:port...]/service_name[/db]`` (and
  ``rediss+sentinel://`` for TLS): the sentinels are asked for the master of ``service_name``;
  the password is the master's (add ``?sentinel_password=...`` when the sentinels have one).
- cluster mode (``settings.redis_cluster``) takes a ``redis://`` or ``rediss://`` URL of any node.

Every client gets a bounded pool, socket and connect timeouts, and retries with exponential
backoff on connection errors and timeouts (redis-py's ``Retry``). Callers turn
``redis.exceptions.RedisError`` into `CheckpointError` with `redact_url`, which hides passwords.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.asyncio.retry
import redis.asyncio.sentinel
import redis.cluster
import redis.retry
import redis.sentinel
from redis.backoff import ExponentialBackoff

from luminamind.config import Settings
from luminamind.errors import ConfigError
from luminamind.security.redaction import REDACTED, redact_text

__all__ = [
    "RedisClient",
    "RedisOptions",
    "aclose_client",
    "close_client",
    "connect_async",
    "connect_sync",
    "redact_url",
]

# Any: redis-py types every command as ``Awaitable[Any] | Any`` on sync and async clients alike
# (and cluster clients are a separate class), so a precise type would only add casts at call sites.
RedisClient = Any

_SCHEMES = {"redis", "rediss", "unix", "redis+sentinel", "rediss+sentinel"}


@dataclass(frozen=True)
class RedisOptions:
    """How to reach Redis.

    Attributes:
        url: a ``redis://``, ``rediss://``, ``unix://`` or ``redis+sentinel://`` URL.
        cluster: use the Redis Cluster client (keys are hash-tagged per thread).
        socket_timeout: seconds a command may take before it fails (and is retried).
        connect_timeout: seconds to open a connection.
        retries: retries after a connection error or timeout, with exponential backoff.
        max_connections: pool size per process.
    """

    url: str
    cluster: bool = False
    socket_timeout: float = 5.0
    connect_timeout: float = 2.0
    retries: int = 3
    backoff_base: float = 0.05
    backoff_cap: float = 1.0
    max_connections: int = 64
    health_check_interval: float = 30.0

    def __post_init__(self) -> None:
        scheme = urlsplit(self.url).scheme.lower()
        if scheme not in _SCHEMES:
            raise ConfigError(
                f"Redis URL {redact_url(self.url)!r} has scheme {scheme!r}; use redis://, "
                "rediss://, unix:// or redis+sentinel://service (LUMINAMIND_REDIS_URL)"
            )
        if self.cluster and scheme not in {"redis", "rediss"}:
            raise ConfigError(
                "redis_cluster needs a redis:// or rediss:// URL of one cluster node, "
                f"not {redact_url(self.url)!r}"
            )

    @property
    def safe_url(self) -> str:
        """The URL with its password replaced, for messages and logs."""
        return redact_url(self.url)

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisOptions:
        """Options from ``LUMINAMIND_REDIS_URL`` and friends."""
        if settings.redis_url is None:
            raise ConfigError("no Redis URL: set LUMINAMIND_REDIS_URL=redis://host:6379/0")
        return cls(
            url=settings.redis_url.get_secret_value(),
            cluster=settings.redis_cluster,
            socket_timeout=settings.redis_timeout_seconds,
        )


def redact_url(url: str) -> str:
    """``url`` with the password (userinfo and ``password=`` query options) replaced."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, hosts = netloc.rpartition("@")
            user, has_password, _ = userinfo.partition(":")
            netloc = f"{user}:{REDACTED}@{hosts}" if has_password else f"{REDACTED}@{hosts}"
        query = "&".join(
            f"{name}={REDACTED}" if "password" in name.lower() else f"{name}={value}"
            for name, values in parse_qs(parts.query, keep_blank_values=True).items()
            for value in values
        )
        return redact_text(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))
    except ValueError:
        return "<unparsable Redis URL>"


def _common_kwargs(opts: RedisOptions) -> dict[str, Any]:  # Any: redis-py keyword values
    return {
        "socket_timeout": opts.socket_timeout,
        "socket_connect_timeout": opts.connect_timeout,
        "max_connections": opts.max_connections,
        "decode_responses": False,
    }


def _standalone_kwargs(opts: RedisOptions, retry: Any) -> dict[str, Any]:  # Any: Retry kinds
    return {
        **_common_kwargs(opts),
        "retry": retry,
        "health_check_interval": opts.health_check_interval,
        "socket_keepalive": True,
    }


@dataclass(frozen=True)
class _SentinelTarget:
    hosts: list[tuple[str, int]]
    service: str
    db: int
    username: str | None
    password: str | None
    sentinel_password: str | None
    ssl: bool


def _parse_sentinel(url: str) -> _SentinelTarget:
    parts = urlsplit(url)
    netloc = parts.netloc
    username = password = None
    if "@" in netloc:
        userinfo, _, netloc = netloc.rpartition("@")
        user, _, pw = userinfo.partition(":")
        username, password = unquote(user) or None, unquote(pw) or None
    hosts: list[tuple[str, int]] = []
    for item in filter(None, netloc.split(",")):
        host, _, port = item.rpartition(":") if ":" in item else (item, "", "26379")
        try:
            hosts.append((host.strip("[]"), int(port)))
        except ValueError:
            raise ConfigError(f"bad sentinel address {item!r} in {redact_url(url)!r}") from None
    segments = [s for s in parts.path.split("/") if s]
    if not hosts or not segments:
        raise ConfigError(
            f"sentinel URL {redact_url(url)!r} needs hosts and a service name: "
            "redis+sentinel://host:26379[,host:26379]/mymaster[/db]"
        )
    try:
        db = int(segments[1]) if len(segments) > 1 else 0
    except ValueError:
        raise ConfigError(f"bad database number in {redact_url(url)!r}") from None
    query = parse_qs(parts.query)
    return _SentinelTarget(
        hosts=hosts,
        service=unquote(segments[0]),
        db=db,
        username=username,
        password=password,
        sentinel_password=next(iter(query.get("sentinel_password", [])), None),
        ssl=parts.scheme.lower().startswith("rediss"),
    )


def _sentinel_kwargs(opts: RedisOptions, target: _SentinelTarget) -> dict[str, Any]:
    sentinel: dict[str, Any] = {  # Any: redis-py keyword values
        "socket_timeout": opts.socket_timeout,
        "socket_connect_timeout": opts.connect_timeout,
    }
    if target.sentinel_password:
        sentinel["password"] = target.sentinel_password
    if target.ssl:
        sentinel["ssl"] = True
    return sentinel


def connect_sync(opts: RedisOptions) -> RedisClient:
    """A blocking client (standalone, sentinel-managed master or cluster) for ``opts``."""
    backoff = ExponentialBackoff(cap=opts.backoff_cap, base=opts.backoff_base)
    if opts.cluster:
        return redis.cluster.RedisCluster.from_url(
            opts.url,
            **_common_kwargs(opts),
            retry=redis.retry.Retry(backoff, opts.retries),
        )
    retry = redis.retry.Retry(backoff, opts.retries)
    if urlsplit(opts.url).scheme.lower().endswith("+sentinel"):
        target = _parse_sentinel(opts.url)
        sentinel = redis.sentinel.Sentinel(
            target.hosts, sentinel_kwargs=_sentinel_kwargs(opts, target)
        )
        return sentinel.master_for(
            target.service,
            db=target.db,
            username=target.username,
            password=target.password,
            ssl=target.ssl,
            **_standalone_kwargs(opts, retry),
        )
    return redis.Redis.from_url(opts.url, **_standalone_kwargs(opts, retry))


def connect_async(opts: RedisOptions) -> RedisClient:
    """An asyncio client (standalone, sentinel-managed master or cluster) for ``opts``."""
    backoff = ExponentialBackoff(cap=opts.backoff_cap, base=opts.backoff_base)
    # The asyncio clients take the asyncio Retry (redis-py 8.2 warns on the blocking one).
    retry = redis.asyncio.retry.Retry(backoff, opts.retries)
    if opts.cluster:
        return redis.asyncio.cluster.RedisCluster.from_url(
            opts.url, **_common_kwargs(opts), retry=retry
        )
    if urlsplit(opts.url).scheme.lower().endswith("+sentinel"):
        target = _parse_sentinel(opts.url)
        sentinel = redis.asyncio.sentinel.Sentinel(
            target.hosts, sentinel_kwargs=_sentinel_kwargs(opts, target)
        )
        return sentinel.master_for(
            target.service,
            db=target.db,
            username=target.username,
            password=target.password,
            ssl=target.ssl,
            **_standalone_kwargs(opts, retry),
        )
    return redis.asyncio.Redis.from_url(opts.url, **_standalone_kwargs(opts, retry))


def close_client(client: RedisClient) -> None:
    """Close a blocking client's pool, and the sentinel clients that found its master."""
    manager = getattr(getattr(client, "connection_pool", None), "sentinel_manager", None)
    client.close()
    if manager is not None:
        manager.close()


async def aclose_client(client: RedisClient) -> None:
    """Close an asyncio client's pool, and the sentinel clients that found its master."""
    manager = getattr(getattr(client, "connection_pool", None), "sentinel_manager", None)
    await client.aclose()
    if manager is not None:
        await manager.aclose()
