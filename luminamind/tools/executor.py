"""The one call path of every tool: validate, check policy, cache, run, measure, audit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, TypeVar

import structlog
from prometheus_client import Counter, Histogram
from pydantic import BaseModel, ValidationError

from luminamind.errors import (
    ApprovalRequiredError,
    LuminaError,
    ToolArgumentsError,
    ToolExecutionError,
    ToolPermissionError,
    ToolRejectedError,
    format_validation_errors,
)
from luminamind.observability.audit import AuditSink, NullAuditLog
from luminamind.observability.logging import info_enabled
from luminamind.observability.metrics import get_metrics
from luminamind.observability.tracing import span
from luminamind.security.redaction import redact, redact_text
from luminamind.tools.approval import ApprovalPolicy
from luminamind.tools.arguments import argument_shape_problem, check_shape
from luminamind.tools.context import ToolContext
from luminamind.tools.preview import FileChange
from luminamind.tools.registry import ToolRegistry, ToolSpec

__all__ = ["ChangeRecorder", "ToolExecutor", "ToolResultCache"]

_log = structlog.get_logger(__name__)
_T = TypeVar("_T")
JsonDict = dict[str, Any]  # Any: JSON values


class ToolResultCache(Protocol):
    """A cache for results of cacheable tools (implemented in ``luminamind.state.cache``)."""

    async def aget_or_compute(
        self,
        tool: str,
        arguments: Mapping[str, Any],
        *,
        ttl_seconds: float,
        compute: Callable[[], Awaitable[JsonDict]],
    ) -> tuple[JsonDict, bool]:
        """Return ``(result, hit)``; concurrent identical calls compute once."""
        ...


class ChangeRecorder(Protocol):
    """Records what a call changes in the workspace, per agent turn (``luminamind.rewind``)."""

    def recording(
        self, context: ToolContext, *, tool: str, paths: Sequence[str] | None
    ) -> AbstractAsyncContextManager[None]:
        """Bracket a change of ``paths`` (workspace-relative; None: anything, scan for it)."""
        ...


class ToolExecutor:
    """Runs tools from a registry with the security, cache and audit rules applied once."""

    def __init__(
        self,
        registry: ToolRegistry,
        *,
        policy: ApprovalPolicy | None = None,
        audit: AuditSink | None = None,
        cache: ToolResultCache | None = None,
        recorder: ChangeRecorder | None = None,
    ) -> None:
        self.registry = registry
        self.policy = policy or ApprovalPolicy()
        self.audit: AuditSink = audit or NullAuditLog()
        self.cache = cache
        self.recorder = recorder
        self._metric_series: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}

    def validate(self, name: str, arguments: Mapping[str, Any] | None) -> BaseModel:
        """Parse ``arguments`` with the tool's model or raise `ToolArgumentsError`."""
        spec = self.registry.get(name)
        return _validate(spec, arguments)

    async def apreview(
        self, name: str, arguments: Mapping[str, Any] | None, *, context: ToolContext
    ) -> list[FileChange]:
        """The file changes a call would make, computed without making them.

        Returns an empty list for tools without a preview. Raises like `acall` on bad arguments
        or paths outside the workspace.
        """
        spec = self.registry.get(name)
        args = _validate(spec, arguments)
        if spec.preview is None:
            return []
        try:
            return await spec.preview(context, args)
        except LuminaError:
            raise
        except Exception as exc:
            raise ToolExecutionError(f"{name}: cannot preview the change: {exc}") from exc

    async def acall(
        self,
        name: str,
        arguments: Mapping[str, Any] | None,
        *,
        context: ToolContext,
        approved: bool = False,
        rejected: str | None = None,
        use_cache: bool = True,
    ) -> BaseModel:
        """Run one tool call.

        Args:
            name: the tool's registry name.
            arguments: raw JSON-like arguments (validated here).
            context: workspace, settings, thread and surface of the call.
            approved: a human (or an explicit ``--yes``) approved this call.
            rejected: a human (or the policy for when none can be asked) refused this call,
                for this reason: nothing runs, the refusal is audited and counted like any
                call, and `ToolRejectedError` carries the reason back.
            use_cache: set False to bypass the result cache for this call.

        Raises:
            UnknownToolError, ToolArgumentsError, ToolPermissionError (ToolRejectedError),
            SecurityError, ToolExecutionError: each with a message the caller can act on.
        """
        started = time.perf_counter()
        # Arguments come from models and clients: anything but an object is recorded, not trusted.
        raw_args: Mapping[str, Any] = (
            arguments
            if isinstance(arguments, Mapping)
            else {}
            if arguments is None
            else {"_invalid": repr(arguments)[:200]}
        )
        if (problem := argument_shape_problem(raw_args)) is not None:
            raw_args = {"_invalid": problem}  # the audit record's redaction recurses too
        outcome = "error"
        error: LuminaError | None = None
        spec: ToolSpec | None = None
        try:
            spec = self.registry.get(name)
            # The shape was checked above: only a problem makes _validate look again (and raise).
            args = _validate(spec, arguments, shape_checked=problem is None)
            if rejected is not None:
                get_metrics().approvals_total.labels(spec.name, "rejected").inc()
                raise ToolRejectedError(rejected)
            self._check_policy(spec, args, context, approved=approved)
            with span(
                f"tool {spec.name}",
                tool=spec.name,
                surface=context.surface,
                thread_id=context.thread_id,
            ):
                # The tool's own log lines (and the libraries it calls) name the tool. Bound and
                # reset by token: `bound_contextvars` copies the whole context to find what to
                # restore, about 3x the time (it runs on every call of every tool).
                tokens = structlog.contextvars.bind_contextvars(tool=spec.name)
                try:
                    result = await self._run(spec, args, context, use_cache=use_cache)
                finally:
                    structlog.contextvars.reset_contextvars(**tokens)
            outcome = "ok"
            return result
        except LuminaError as exc:
            error = exc
            outcome = exc.code
            raise
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        except Exception as exc:
            # The boundary for tool code: anything unexpected becomes one typed error.
            error = ToolExecutionError(f"{name} failed: {type(exc).__name__}: {exc}")
            outcome = error.code
            raise error from exc
        finally:
            self._record(name, raw_args, context, outcome, started, error, known=spec is not None)

    def call(
        self,
        name: str,
        arguments: Mapping[str, Any] | None,
        *,
        context: ToolContext,
        approved: bool = False,
        use_cache: bool = True,
    ) -> BaseModel:
        """Synchronous twin of `acall` (works inside and outside a running event loop)."""
        coro = self.acall(name, arguments, context=context, approved=approved, use_cache=use_cache)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(coro)
        # Inside a loop (e.g. a sync LangChain tool called from async code): run on a fresh loop
        # in a worker thread rather than deadlocking the caller's loop.
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, coro).result()

    def _check_policy(
        self, spec: ToolSpec, args: BaseModel, context: ToolContext, *, approved: bool
    ) -> None:
        policy = self.policy
        # Only a tool that may ask looks at its arguments (skip dumping them for the rest).
        mode = (
            policy.mode_for_call(spec, args.model_dump(), context.workspace)
            if policy.may_ask(spec)
            else policy.mode_for(spec)
        )
        if mode == "deny":
            raise ToolPermissionError(
                f"tool '{spec.name}' is denied by the approval policy; "
                f'set approvals.{spec.name} = "ask" or "auto" to allow it'
            )
        if mode == "ask" and not approved:
            raise ApprovalRequiredError(
                f"tool '{spec.name}' needs approval; approve the call (or pass --yes on the CLI)"
            )

    async def _run(
        self, spec: ToolSpec, args: BaseModel, context: ToolContext, *, use_cache: bool
    ) -> BaseModel:
        if (
            self.recorder is not None
            and context.thread_id is not None
            and not spec.annotations.read_only
        ):
            # A turn of an agent thread: what the call writes is recorded so it can be rewound.
            paths = await self._paths_changed(spec, args, context)
            async with self.recorder.recording(context, tool=spec.name, paths=paths):
                return await self._run_tool(spec, args, context, use_cache=use_cache)
        return await self._run_tool(spec, args, context, use_cache=use_cache)

    @staticmethod
    async def _paths_changed(
        spec: ToolSpec, args: BaseModel, context: ToolContext
    ) -> list[str] | None:
        """The paths the call may change (its preview's), or None: tools without one scan."""
        if spec.preview is None:
            return None
        try:
            return [change.path for change in await spec.preview(context, args)]
        except Exception:  # the call itself reports why it cannot run; nothing to record
            return []

    async def _run_tool(
        self, spec: ToolSpec, args: BaseModel, context: ToolContext, *, use_cache: bool
    ) -> BaseModel:
        kwargs = {name: getattr(args, name) for name in type(args).model_fields}
        if self.cache is None or not use_cache or not spec.annotations.cacheable:
            return await spec.func(context, **kwargs)

        async def compute() -> JsonDict:
            return (await spec.func(context, **kwargs)).model_dump(mode="json")

        data, _hit = await self.cache.aget_or_compute(
            spec.name,
            args.model_dump(mode="json"),
            ttl_seconds=spec.annotations.cache_ttl_seconds,
            compute=compute,
        )
        return spec.result_model.model_validate(data)

    def _series(self, tool: str, surface: str, outcome: str) -> tuple[Counter, Histogram]:
        """The call counter and duration histogram of one (tool, surface, outcome).

        Looked up once per label set: prometheus-client's ``labels()`` checks and locks on
        every call. The label sets are few (registry names, surfaces, error codes).
        """
        key = (tool, surface, outcome)
        series = self._metric_series.get(key)
        if series is None:
            metrics = get_metrics()
            series = self._metric_series[key] = (
                metrics.tool_calls_total.labels(tool, surface, outcome),
                metrics.tool_duration_seconds.labels(tool),
            )
        return series

    def _record(
        self,
        name: str,
        raw_args: Mapping[str, Any],
        context: ToolContext,
        outcome: str,
        started: float,
        error: LuminaError | None,
        *,
        known: bool,
    ) -> None:
        duration = time.perf_counter() - started
        # Unknown names never become metric labels: they are model- or user-supplied text.
        label = name if known else "unknown"
        calls, durations = self._series(label, context.surface, outcome)
        calls.inc()
        durations.observe(duration)
        message = redact_text(error.message) if error else None
        self.audit.record(
            tool=name,
            arguments=raw_args,
            outcome=outcome,
            duration_ms=duration * 1000,
            thread_id=context.thread_id,
            surface=context.surface,
            error=message,
        )
        if not info_enabled():
            return
        _log.info(
            "tool_call_finished",
            tool=label,
            outcome=outcome,
            duration_ms=round(duration * 1000, 2),
            thread_id=context.thread_id,
            surface=context.surface,
            arguments=redact(dict(raw_args)),
            error=message,
        )


def _validate(
    spec: ToolSpec, arguments: Mapping[str, Any] | None, *, shape_checked: bool = False
) -> BaseModel:
    if arguments is not None and not isinstance(arguments, Mapping):
        raise ToolArgumentsError(
            f"{spec.name}: arguments must be a JSON object, got {type(arguments).__name__}"
        )
    if not shape_checked:
        check_shape(arguments, tool=spec.name)
    try:
        return spec.args_model.model_validate(dict(arguments or {}))
    except ValidationError as exc:
        text, fields = format_validation_errors(exc.errors(include_url=False))
        raise ToolArgumentsError(f"{spec.name}: invalid arguments: {text}", fields=fields) from None
