"""The streamable HTTP server: the MCP endpoint behind admission checks, plus health and metrics.

Routes:
    ``/mcp``      the MCP endpoint (streamable HTTP; stateless with ``--stateless``).
    ``/healthz``  liveness: the process answers.
    ``/readyz``   readiness: every registered check passes (workspace, later the checkpointer).
    ``/metrics``  Prometheus exposition.

The health and metrics routes skip the token so probes and scrapers work as in
``deploy/k8s``; they reveal no workspace data.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Sequence
from typing import Any

import anyio
import structlog
import uvicorn
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from mcp.server.transport_security import TransportSecuritySettings
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from luminamind.config import Settings
from luminamind.config_problems import SettingProblem
from luminamind.errors import ConfigError
from luminamind.startup import paused_gc
from luminamind_mcp.agent_tools import warm_up
from luminamind_mcp.event_store import EventLog, MemoryEventLog, RedisEventLog
from luminamind_mcp.guards import Admission, HostOriginPolicy, RateLimiter, is_loopback
from luminamind_mcp.resume import ResumableSessionManager, ResumeGate
from luminamind_mcp.server import McpApp, build_app, event_loop_options

__all__ = ["MCP_PATH", "create_http_app", "serve_http"]

_log = structlog.get_logger(__name__)

MCP_PATH = "/mcp"
# A readiness check that hangs must not hang the probe.
_CHECK_TIMEOUT_SECONDS = 5.0


def check_bind(settings: Settings) -> None:
    """Refuse to listen beyond this machine without a bearer token.

    Raises:
        ConfigError: ``server.host`` is not loopback and no token is configured.
    """
    server = settings.server
    if not is_loopback(server.host) and server.token is None:
        raise ConfigError(
            f"refusing to listen on {server.host} without a bearer token: anyone who can reach "
            "it could run tools in the workspace. Set LUMINAMIND_MCP_TOKEN (or server.token), "
            "or bind to 127.0.0.1"
        )


def create_http_app(app: McpApp) -> Starlette:
    """The ASGI application serving ``app`` (the MCP endpoint, health and metrics)."""
    server = app.settings.server
    events = event_log(app.settings)
    manager = ResumableSessionManager(
        app.server,
        events=events,
        stateless=server.stateless,
        max_request_body_size=server.max_request_bytes,
        # Host and Origin are checked by `Admission` (403 for both); the SDK still checks
        # Content-Type.
        security_settings=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    if app.tasks is not None:
        # A task's creating session is "live" while this process serves it; after that its
        # principal (same token) may reach the task from a new session.
        app.tasks.live = lambda key: key.startswith("http:") and manager.serves(key[5:])
    endpoint = ResumeGate(
        StreamableHTTPASGIApp(manager), manager, shared=isinstance(events, RedisEventLog)
    )
    token = server.token.get_secret_value() if server.token is not None else None

    async def healthz(request: Request) -> Response:
        del request
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        del request
        results = await _run_checks(app)
        ready = all(value == "ok" for value in results.values())
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "checks": results},
            status_code=200 if ready else 503,
        )

    async def metrics(request: Request) -> Response:
        del request
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with manager.run(), anyio.create_task_group() as tg:
            if app.agent is not None:
                tg.start_soon(_warm_agent)
            yield
            tg.cancel_scope.cancel()
        await events.aclose()

    starlette = Starlette(
        routes=[
            Route(MCP_PATH, endpoint=endpoint),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    starlette.add_middleware(
        Admission,
        prefix=MCP_PATH,
        policy=HostOriginPolicy.for_server(server),
        token=token,
        limiter=RateLimiter(server.rate_limit_per_minute),
    )
    return starlette


def event_log(settings: Settings) -> EventLog:
    """Where SSE events are kept for reconnecting clients: Redis when configured (shared by
    every replica), else this process's memory."""
    max_events = settings.server.stream_events_max
    ttl_seconds = settings.server.stream_events_ttl_seconds
    if settings.redis_url is None:
        return MemoryEventLog(max_events=max_events, ttl_seconds=ttl_seconds)
    # Imported here: only Redis deployments pay for redis-py.
    from luminamind.state.redis.conn import RedisOptions, connect_async

    client = connect_async(RedisOptions.from_settings(settings))
    return RedisEventLog(
        client, prefix=settings.redis_key_prefix, max_events=max_events, ttl_seconds=ttl_seconds
    )


async def _warm_agent() -> None:
    """Load the agent stack soon after start (off the event loop), not on the first run_task."""
    await anyio.sleep(1.0)
    try:
        await warm_up()
    except Exception as exc:  # the tools keep working; run_task will report the problem
        _log.warning("agent_warm_up_failed", error=f"{type(exc).__name__}: {exc}")


async def _run_checks(app: McpApp) -> dict[str, str]:
    async def one(check: Any) -> str:  # Any: a ReadinessCheck
        try:
            await asyncio.wait_for(check(), timeout=_CHECK_TIMEOUT_SECONDS)
        except TimeoutError:
            return f"timed out after {_CHECK_TIMEOUT_SECONDS:g} s"
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        return "ok"

    names = list(app.readiness)
    outcomes = await asyncio.gather(*(one(app.readiness[n]) for n in names))
    return dict(zip(names, outcomes, strict=True))


async def aserve_http(app: McpApp) -> None:
    """Serve ``app`` over HTTP until interrupted."""
    server = app.settings.server
    config = uvicorn.Config(
        create_http_app(app),
        host=server.host,
        port=server.port,
        # Our own structlog lines on stderr; uvicorn's loggers propagate to the root logger.
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
        # The body limit lives in the app (413); these bound slow or huge headers.
        h11_max_incomplete_event_size=64 * 1024,
        # h11, named: "auto" would switch to httptools if installed, which lacks the bound above.
        http="h11",
    )
    await _AnnouncingServer(config, app).serve()


class _AnnouncingServer(uvicorn.Server):
    """uvicorn's server, logging the address it bound once it listens (port 0 picks one)."""

    def __init__(self, config: uvicorn.Config, app: McpApp) -> None:
        super().__init__(config)
        self._app = app

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        server = self._app.settings.server
        for sock in (s for srv in self.servers for s in srv.sockets):
            host, port = sock.getsockname()[:2]
            _log.info(
                "mcp_server_started",
                transport="http",
                url=f"http://{host}:{port}{MCP_PATH}",
                stateless=server.stateless,
                auth=server.token is not None,
                event_loop=type(asyncio.get_running_loop()).__module__.partition(".")[0],
                workspace=str(self._app.resolver.base.root),
            )


def serve_http(settings: Settings, problems: Sequence[SettingProblem] = ()) -> None:
    """``luminamind mcp --http``: check the bind, then serve (reporting ``problems``)."""
    check_bind(settings)
    # Building imports the tools and their schemas; freezing keeps later collections off it all.
    with paused_gc(freeze=True):
        app = build_app(settings, transport="http", problems=problems)
    anyio.run(aserve_http, app, backend_options=event_loop_options())
