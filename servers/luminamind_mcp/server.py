"""The MCP server: registry tools (and the agent, when asked for) on the low-level SDK server.

`mcp.server.lowlevel.Server` is used rather than `MCPServer`: MCPServer builds each tool's
schema from a Python signature and validates arguments itself, while LuminaMind's tools are
already described, validated and run by the registry. The low-level handlers publish the
registry's schemas exactly and hand every call to `ToolExecutor` (see docs/decisions.md).
"""

from __future__ import annotations

import asyncio
import importlib.util
import itertools
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Literal, cast

import anyio
import mcp_types as types
import structlog
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from luminamind import __version__
from luminamind.config import Settings
from luminamind.config_problems import SettingProblem, blocking_problems, problems_message
from luminamind.observability.metrics import get_metrics
from luminamind.observability.tracing import tracing_enabled
from luminamind.runtime import ToolRuntime, build_tool_runtime
from luminamind.security.workspace import Workspace
from luminamind.startup import paused_gc
from luminamind.tools.context import ToolContext
from luminamind_mcp import prompts
from luminamind_mcp.agent_tools import AgentTools
from luminamind_mcp.approval import Asker
from luminamind_mcp.client_log import ClientLog, LogLevels, check_level
from luminamind_mcp.completion import Completer
from luminamind_mcp.resources import THREAD_TEMPLATE, ThreadResources
from luminamind_mcp.roots import RootsPolicy, WorkspaceResolver
from luminamind_mcp.stdio import AnsweringReadStream, pipe_stdio
from luminamind_mcp.tasks import McpTasks, TaskRun, tasks_capability
from luminamind_mcp.tools import RegistryTools, error_result

__all__ = [
    "INSTRUCTIONS",
    "McpApp",
    "ReadinessCheck",
    "build_app",
    "event_loop_options",
    "serve_stdio",
]

_log = structlog.get_logger(__name__)

Transport = Literal["stdio", "http"]
Ctx = ServerRequestContext[Any, Any]  # Any: no lifespan state; the transport's request object
# Awaited by /readyz; raises (any exception, with a message) when the dependency is not ready.
ReadinessCheck = Callable[[], Awaitable[None]]

INSTRUCTIONS = (
    "LuminaMind: file, code, shell, web and system tools confined to the workspace (the "
    "client's roots when it offers them). Tools that change files or run commands ask the "
    "user for approval through elicitation. Results are structured JSON, bounded, with a "
    "'truncated' flag and how to get the rest. run_task hands a whole task to LuminaMind's "
    "own agent (progress notifications, approvals, resumable threads)."
)


@dataclass
class McpApp:
    """One MCP server and what it serves, shared by every connection of a process.

    Attributes:
        settings: the configuration the server was built from.
        runtime: registry, executor and the base tool context (``surface="mcp"``).
        tools: the registry published as MCP tools.
        resolver: each connection's workspace (client roots or ``--workspace``).
        agent: the agent's tools, or None when this installation has no agent.
        server: the SDK server the transports run.
        readiness: named checks ``/readyz`` runs (the agent adds its checkpointer's).
        problems: what is wrong with the configuration; calls that need a broken setting
            return an error result naming it, the rest serve as usual.
    """

    settings: Settings
    runtime: ToolRuntime
    tools: RegistryTools
    resolver: WorkspaceResolver
    agent: AgentTools | None = None
    server: Server[Any] = field(init=False)  # Any: no lifespan state
    readiness: dict[str, ReadinessCheck] = field(default_factory=dict)
    problems: Sequence[SettingProblem] = ()
    log_levels: LogLevels = field(default_factory=LogLevels)
    tasks: McpTasks | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if self.agent is not None:
            clash = {t.name for t in self.agent.list()} & set(self.runtime.registry.names())
            if clash:
                raise ValueError(f"agent tools clash with registry tools: {sorted(clash)}")
        resources = ThreadResources(self.agent) if self.agent is not None else None
        self.server = _Server(
            "luminamind",
            version=__version__,
            title="LuminaMind",
            instructions=INSTRUCTIONS + _problems_note(self.problems),
            lifespan=self._lifespan,
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
            on_list_prompts=self._list_prompts,
            on_get_prompt=self._get_prompt,
            on_completion=self._complete,
        )
        # Registered directly: the constructor's on_set_logging_level warns (logging is
        # deprecated in the 2026-07-28 protocol) but handshake-era clients use it.
        self.server.add_request_handler(
            "logging/setLevel", types.SetLevelRequestParams, self.log_levels.set_level
        )
        if resources is not None:
            for method, params_type, handler in (
                ("resources/list", types.PaginatedRequestParams, self._list_resources),
                (
                    "resources/templates/list",
                    types.PaginatedRequestParams,
                    self._list_resource_templates,
                ),
                ("resources/read", types.ReadResourceRequestParams, self._read_resource),
            ):
                self.server.add_request_handler(method, params_type, handler)  # type: ignore[arg-type]
        self._resources = resources
        # Registered directly: the constructor's on_roots_list_changed warns (roots are
        # deprecated in the 2026-07-28 protocol) but handshake-era clients still send it.
        self.server.add_notification_handler(
            "notifications/roots/list_changed", types.NotificationParams, self._roots_changed
        )
        if not tracing_enabled():
            # The SDK wraps every message in an OpenTelemetry span even with no exporter
            # installed; without tracing that is pure per-call overhead.
            self.server.middleware[:] = [
                m for m in self.server.middleware if type(m).__name__ != "OpenTelemetryMiddleware"
            ]
        self.server.middleware.append(_count_requests)
        if self.agent is not None:
            # MCP tasks: run_task / resume_task in the background, polled with tasks/*.
            self.tasks = McpTasks(self.settings, self._prepare_task)
            self.tasks.register(self.server)
            self.server.tasks = tasks_capability()
        self.readiness.setdefault("workspace", self._workspace_ready)
        if self.agent is not None:
            self.readiness.setdefault("checkpointer", self.agent.ready)

    @asynccontextmanager
    async def _lifespan(self, server: Server[Any]) -> AsyncIterator[dict[str, Any]]:
        del server
        try:
            yield {}
        finally:
            if self.tasks is not None:
                await self.tasks.aclose()
            if self.agent is not None:
                await self.agent.aclose()

    async def _workspace_ready(self) -> None:
        root = self.resolver.base.root
        if not root.is_dir():
            raise RuntimeError(f"workspace {root} is not a directory any more")

    async def _list_tools(
        self, ctx: Ctx, params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        del ctx, params
        agent = self.agent.list() if self.agent is not None else []
        return types.ListToolsResult(tools=[*self.tools.list(), *agent])

    async def _call_tool(
        self, ctx: Ctx, params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        if self.problems:
            refusal = self._config_refusal(params.name)
            if refusal is not None:
                return refusal
        context = await self.tool_context(ctx)
        if self.agent is not None and params.name in self.agent:

            async def progress(step: float, message: str) -> None:
                await context.progress(step, None, message)

            # Imported here: LangChain loads with the agent, not with the server.
            from luminamind.providers.client_model import using_sampler
            from luminamind_mcp.sampling import McpSampler, client_can_sample

            # The run's model calls reach this client's model when the agent uses it.
            with using_sampler(McpSampler(ctx) if client_can_sample(ctx) else None):
                return await self.agent.acall(
                    params.name,
                    params.arguments,
                    workspace=context.workspace,
                    asker=Asker(ctx),
                    progress=progress,
                    log=self.client_log(ctx),
                )
        started = time.perf_counter()
        result = await self.tools.acall(
            params.name, params.arguments, context=context, asker=Asker(ctx)
        )
        await _log_tool_call(self.client_log(ctx), params.name, result, started)
        return result

    async def _prepare_task(
        self,
        ctx: Ctx,
        name: str,
        arguments: dict[str, Any] | None,  # Any: JSON arguments
    ) -> TaskRun:
        """The background run of one agent tool call made as an MCP task.

        The workspace is read now, while the request (and its connection's roots) is live.
        Nobody is asked during the run: approvals follow ``server.unattended_approval``, and
        with ``deny`` the task waits as ``input_required`` for ``resume_task``.
        """
        refusal = self._config_refusal(name) if self.problems else None
        context = await self.tool_context(ctx)
        agent = self.agent
        assert agent is not None

        async def run(progress: Callable[[float, str], Awaitable[None]]) -> types.CallToolResult:
            if refusal is not None:
                return refusal
            return await agent.acall(
                name, arguments, workspace=context.workspace, asker=None, progress=progress
            )

        return run

    def _config_refusal(self, name: str) -> types.CallToolResult | None:
        """An error result naming the broken settings ``name`` needs, or None to go ahead."""
        if self.agent is not None and name in self.agent:
            blocking = blocking_problems(self.problems, tool=None)
        elif name in self.runtime.registry:
            spec = self.runtime.registry.get(name)
            blocking = blocking_problems(
                self.problems, tool=name, open_world=spec.annotations.open_world
            )
        else:
            return None
        return error_result(problems_message(blocking)) if blocking else None

    async def _list_prompts(
        self, ctx: Ctx, params: types.PaginatedRequestParams | None
    ) -> types.ListPromptsResult:
        del ctx, params
        return types.ListPromptsResult(prompts=prompts.list_prompts())

    async def _get_prompt(
        self, ctx: Ctx, params: types.GetPromptRequestParams
    ) -> types.GetPromptResult:
        del ctx
        return prompts.get_prompt(params.name, params.arguments)

    async def _list_resources(
        self, ctx: Ctx, params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        del ctx, params
        assert self._resources is not None
        return types.ListResourcesResult(resources=self._resources.list())

    async def _list_resource_templates(
        self, ctx: Ctx, params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        del ctx, params
        assert self._resources is not None
        return types.ListResourceTemplatesResult(resource_templates=self._resources.templates())

    async def _read_resource(
        self, ctx: Ctx, params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        del ctx
        assert self._resources is not None
        return await self._resources.aread(str(params.uri))

    async def _complete(
        self, ctx: Ctx, params: types.CompleteRequestParams
    ) -> types.CompleteResult:
        async def workspace() -> Workspace:
            return await self.resolver.aworkspace_for(ctx)

        async def thread_ids() -> list[str]:
            assert self.agent is not None
            service = await self.agent.service()
            return [t.thread_id for t in await service.threads()]

        completer = Completer(
            workspace=workspace,
            thread_ids=thread_ids if self.agent is not None else None,
            thread_template=THREAD_TEMPLATE,
        )
        return await completer.complete(params)

    def client_log(self, ctx: Ctx) -> ClientLog:
        """Log messages for the client behind ``ctx``, at the level its connection chose."""
        return ClientLog(ctx, self.log_levels)

    async def _roots_changed(self, ctx: Ctx, params: types.NotificationParams) -> None:
        del params
        self.resolver.invalidate(ctx)

    async def tool_context(self, ctx: Ctx) -> ToolContext:
        """The tool context for one request: its connection's workspace, its progress token."""
        workspace = await self.resolver.aworkspace_for(ctx)

        async def progress(done: float, total: float | None, message: str) -> None:
            # A no-op unless the client sent a progress token with this request.
            await ctx.session.report_progress(done, total, message or None)

        return replace(self.runtime.context, workspace=workspace, progress=progress)


class _Server(Server[Any]):  # Any: no lifespan state
    """The SDK's server, declaring the ``tasks`` capability when tasks are served.

    The SDK derives capabilities from registered handlers and knows none for tasks (it has
    their types only), so the capability is added here, on handshake-era connections (tasks
    are a 2025-11-25 feature; 2026-07-28 moved them to an extension).
    """

    tasks: types.ServerTasksCapability | None = None

    def get_capabilities(
        self,
        notification_options: Any = None,  # Any: the SDK's NotificationOptions
        experimental_capabilities: dict[str, dict[str, Any]] | None = None,
        extensions: dict[str, dict[str, Any]] | None = None,
        *,
        protocol_version: str | None = None,
    ) -> types.ServerCapabilities:
        capabilities = super().get_capabilities(
            notification_options,
            experimental_capabilities,
            extensions,
            protocol_version=protocol_version,
        )
        if self.tasks is None or protocol_version in MODERN_PROTOCOL_VERSIONS:
            return capabilities
        return capabilities.model_copy(update={"tasks": self.tasks})


# Request ids: a random per-process prefix and a counter (16 hex digits), unique in the process
# and, with the prefix, across replicas; a uuid4 per request cost a system call for randomness.
_REQUEST_ID_PREFIX = secrets.token_hex(4)
_request_numbers = itertools.count()


def _next_request_id() -> str:
    return f"{_REQUEST_ID_PREFIX}{next(_request_numbers) & 0xFFFFFFFF:08x}"


async def _count_requests(ctx: Ctx, call_next: CallNext) -> HandlerResult:
    """Middleware: count and time every MCP request, and bind it to its log lines.

    Notifications pass through uncounted. It also refuses an unknown log level with the list
    of levels (`check_level`): a call rather than a middleware of its own, since every layer
    of middleware is an extra coroutine on every request.
    """
    if ctx.request_id is None:
        return await call_next(ctx)
    metrics = get_metrics()
    started = time.perf_counter()
    outcome = "error"
    name = ctx.params.get("name") if ctx.params else None
    # JSON-RPC ids repeat across sessions; request_id is unique per request in this process.
    bound: dict[str, str] = {
        "request_id": _next_request_id(),
        "rpc_id": str(ctx.request_id),
        "method": ctx.method,
    }
    if ctx.method == "tools/call" and isinstance(name, str):
        bound["tool"] = name
    # Reset by token rather than `bound_contextvars`, which copies the whole context to find
    # what to restore (about 3x the time, on every request).
    tokens = structlog.contextvars.bind_contextvars(**bound)
    try:
        try:
            check_level(ctx)
            result = await call_next(ctx)
        finally:
            structlog.contextvars.reset_contextvars(**tokens)
        outcome = "ok"
        return result
    finally:
        metrics.requests_total.labels("mcp", outcome).inc()
        metrics.request_duration_seconds.labels("mcp").observe(time.perf_counter() - started)


async def _log_tool_call(
    log: ClientLog, tool: str, result: types.CallToolResult, started: float
) -> None:
    """Tell the client's log how a direct tool call ended: failures at ``warning``, else debug."""
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    if not result.is_error:
        await log.log("debug", "tool_call_finished", tool=tool, duration_ms=duration_ms)
        return
    if log.wants("warning"):
        first = result.content[0] if result.content else None
        error = first.text[:500] if isinstance(first, types.TextContent) else ""
        await log.log(
            "warning", "tool_call_failed", tool=tool, duration_ms=duration_ms, error=error
        )


def _problems_note(problems: Sequence[SettingProblem]) -> str:
    """Tell the client up front (clients show instructions) what the configuration lacks."""
    if not problems:
        return ""
    return "\n\n" + problems_message(problems)


def build_app(
    settings: Settings,
    *,
    transport: Transport,
    runtime: ToolRuntime | None = None,
    problems: Sequence[SettingProblem] = (),
) -> McpApp:
    """Build the server for ``transport`` (stdio trusts client roots; HTTP only narrows)."""
    runtime = runtime or build_tool_runtime(settings, surface="mcp")
    policy: RootsPolicy = "replace" if transport == "stdio" else "narrow"
    unattended = settings.server.unattended_approval
    return McpApp(
        settings=settings,
        runtime=runtime,
        tools=RegistryTools(runtime, unattended=unattended),
        resolver=WorkspaceResolver(runtime.context.workspace, policy=policy),
        agent=AgentTools(settings, unattended=unattended),
        problems=problems,
    )


async def aserve_stdio(app: McpApp) -> None:
    """Serve one client over this process's stdin and stdout until it disconnects."""
    async with pipe_stdio() as pipes:
        # Pipe transports when the client spawned us (the usual case); the SDK's own
        # thread-backed streams otherwise.
        stdin, stdout = pipes if pipes is not None else (None, None)
        async with stdio_server(stdin=cast(Any, stdin), stdout=cast(Any, stdout)) as (
            read_stream,
            write_stream,
        ):
            _log.info(
                "mcp_server_started",
                transport="stdio",
                event_loop=type(asyncio.get_running_loop()).__module__.partition(".")[0],
                workspace=str(app.resolver.base.root),
            )
            options = app.server.create_initialization_options()
            readable = AnsweringReadStream(read_stream, write_stream)
            await app.server.run(readable, write_stream, options)


def serve_stdio(settings: Settings, problems: Sequence[SettingProblem] = ()) -> None:
    """``luminamind mcp``: serve over stdio (``problems``: the configuration's, reported)."""
    # Building imports the tools and their schemas; freezing keeps later collections off it all.
    with paused_gc(freeze=True):
        app = build_app(settings, transport="stdio", problems=problems)
    anyio.run(aserve_stdio, app, backend_options=event_loop_options())


def event_loop_options() -> dict[str, Any]:  # Any: anyio's backend options
    """Serve on uvloop when it is installed (a dependency, except on Windows).

    Measured: under 50 HTTP clients bench/load.py saw a fifth less replica CPU per agent task
    than on asyncio's own loop (the loop and its socket calls were a quarter of the profile).
    Over stdio each request takes about a dozen loop iterations (the SDK's memory streams, its
    task per request, the pipe transports); in C that took 2-5% off a 10 KB ``read_file`` in
    alternating runs, for 3 ms more of a cold start (uvloop's import). Without uvloop
    (Windows) asyncio's loop serves as before.
    """
    return {"use_uvloop": importlib.util.find_spec("uvloop") is not None}
