"""Registry tools as MCP tools: the registry's schemas and annotations, one call path.

Nothing here describes a tool: names, descriptions, input and output JSON Schemas and
annotations all come from `ToolSpec`. Calls go through `ToolExecutor.acall` (validation,
approval policy, cache, audit, metrics). This module adds only what MCP needs on top:
the approval dialog (elicitation) and the translation of results and errors.
"""

from __future__ import annotations

from typing import Any, Literal

import mcp_types as types
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS
from pydantic import BaseModel

from luminamind.errors import (
    LuminaError,
    ToolArgumentsError,
    UnknownToolError,
)
from luminamind.observability.metrics import get_metrics
from luminamind.runtime import ToolRuntime
from luminamind.tools.context import ToolContext
from luminamind.tools.registry import ToolSpec
from luminamind.tools.shell import sandbox_note
from luminamind_mcp.approval import Asker, approval_message

__all__ = ["RegistryTools", "error_result", "json_result"]

UnattendedApproval = Literal["deny", "approve"]


def json_result(result: BaseModel) -> types.CallToolResult:
    """A successful call: the model as structured content, and as JSON text for older clients."""
    text = result.model_dump_json(by_alias=True)
    # Dumped again rather than parsed back from `text`: for a 10 KB file the Rust dump takes a
    # tenth of json.loads's time. The SDK writes both with pydantic-core, so the wire is the same.
    data = result.model_dump(mode="json", by_alias=True)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)], structured_content=data
    )


def error_result(message: str) -> types.CallToolResult:
    """A failed call the model can read and act on (never a protocol error)."""
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=message)], is_error=True
    )


class RegistryTools:
    """The registry published over MCP.

    Args:
        runtime: the registry, executor and base context (``surface="mcp"``).
        unattended: what an "ask" tool does when the client cannot be asked.
    """

    def __init__(self, runtime: ToolRuntime, *, unattended: UnattendedApproval = "deny") -> None:
        self._runtime = runtime
        self._unattended: UnattendedApproval = unattended
        self._tools = [self._describe(spec) for spec in runtime.registry]

    def list(self) -> list[types.Tool]:
        """Every registry tool as an MCP ``Tool`` (built once; the registry is immutable)."""
        return list(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._runtime.registry

    def _describe(self, spec: ToolSpec) -> types.Tool:
        ann = spec.annotations
        return types.Tool(
            name=spec.name,
            description=spec.description + self._approval_note(spec),
            input_schema=spec.input_schema(),
            output_schema=spec.output_schema(),
            annotations=types.ToolAnnotations(
                read_only_hint=ann.read_only,
                # MCP assumes destructive and open-world when a hint is absent: always send them.
                destructive_hint=ann.destructive,
                idempotent_hint=ann.idempotent,
                open_world_hint=ann.open_world,
            ),
        )

    def _approval_note(self, spec: ToolSpec) -> str:
        mode = self._runtime.executor.policy.mode_for(spec)
        if mode == "deny":
            return (
                "\n\nDisabled on this server: its approval policy sets "
                f'approvals.{spec.name} = "deny".'
            )
        fallback = (
            'the call is refused (server.unattended_approval = "deny")'
            if self._unattended == "deny"
            else 'the call runs without asking (server.unattended_approval = "approve")'
        )
        if mode == "ask":
            return (
                "\n\nNeeds approval: the server asks the user through MCP elicitation, showing the "
                f"diff for file changes. With clients that cannot be asked, {fallback}."
            )
        if self._runtime.executor.policy.may_ask(spec):
            return (
                "\n\nAsks for approval the same way when a call would overwrite an existing file; "
                f"with clients that cannot be asked, {fallback}."
            )
        return ""

    async def acall(
        self,
        name: str,
        arguments: dict[str, Any] | None,  # Any: the client's JSON arguments
        *,
        context: ToolContext,
        asker: Asker,
    ) -> types.CallToolResult:
        """Run one call for an MCP client.

        Raises:
            MCPError: ``INVALID_PARAMS`` for an unknown tool name (a protocol error, as the
                MCP spec asks); every other failure is an ``isError`` result.
        """
        executor = self._runtime.executor
        try:
            spec = self._runtime.registry.get(name)
        except UnknownToolError as exc:
            raise MCPError(code=INVALID_PARAMS, message=exc.message) from None
        approved = False
        try:
            mode = self._mode_for_call(spec, arguments, context)
            if mode == "ask":
                decision = await self._ask(spec, arguments or {}, context, asker)
                if isinstance(decision, types.CallToolResult):
                    return decision
                approved = decision
            result = await executor.acall(name, arguments, context=context, approved=approved)
        except LuminaError as exc:
            return error_result(exc.message)
        return json_result(result)

    def _mode_for_call(
        self, spec: ToolSpec, arguments: dict[str, Any] | None, context: ToolContext
    ) -> str:
        executor = self._runtime.executor
        if not executor.policy.may_ask(spec):
            # Only a tool that may ask needs its arguments looked at here; skip validating
            # them twice for the rest (the executor validates them).
            return executor.policy.mode_for(spec)
        try:
            args = executor.validate(spec.name, arguments)
        except ToolArgumentsError:
            # Let the executor raise it again, so the failed call is audited and counted once.
            return "auto"
        return executor.policy.mode_for_call(spec, args.model_dump(), context.workspace)

    async def _ask(
        self,
        spec: ToolSpec,
        arguments: dict[str, Any],
        context: ToolContext,
        asker: Asker,
    ) -> bool | types.CallToolResult:
        """True to run approved, or the result to return instead of running."""
        approvals = get_metrics().approvals_total
        approvals.labels(spec.name, "requested").inc()
        if not asker.available:
            if self._unattended == "approve":
                approvals.labels(spec.name, "approved").inc()
                return True
            return await self._refuse(
                spec,
                arguments,
                context,
                f"{spec.name} needs approval and this connection cannot ask the user (the "
                "client lacks MCP elicitation, or the server runs stateless), so the policy "
                'server.unattended_approval = "deny" refused it; nothing ran. Use a client that '
                f'supports elicitation, or configure approvals.{spec.name} = "auto" or '
                'server.unattended_approval = "approve" on the server.',
            )
        changes = await self._runtime.executor.apreview(spec.name, arguments, context=context)
        try:
            note = sandbox_note(context.settings.shell) if spec.name == "shell" else None
            answer = await asker.aconfirm(
                approval_message(spec.name, arguments, changes, note=note)
            )
        except MCPError as exc:
            return await self._refuse(
                spec,
                arguments,
                context,
                f"{spec.name} needs approval and asking the user failed ({exc.message}); "
                "nothing ran.",
            )
        if answer == "accept":
            approvals.labels(spec.name, "approved").inc()
            return True
        how = "declined" if answer == "decline" else "dismissed the approval dialog"
        return await self._refuse(
            spec,
            arguments,
            context,
            f"{spec.name}: rejected by the user (they {how}); nothing ran. Ask the user what "
            "they want instead before trying again.",
        )

    async def _refuse(
        self, spec: ToolSpec, arguments: dict[str, Any], context: ToolContext, message: str
    ) -> types.CallToolResult:
        # Through the executor like every call (it does not run): audited and counted once.
        try:
            await self._runtime.executor.acall(
                spec.name, arguments, context=context, rejected=message
            )
        except LuminaError as exc:
            return error_result(exc.message)
        raise AssertionError("a rejected call cannot succeed")  # pragma: no cover
