"""Asking the user before a tool runs, through MCP elicitation.

MCP has one way for a server to ask the human at the other end a question: an
``elicitation/create`` request (form mode). A client that declared the ``elicitation``
capability shows the message and answers ``accept``, ``decline`` or ``cancel``. Clients
without it (and connections that cannot carry server-initiated requests, such as stateless
HTTP) cannot be asked; the caller then applies ``server.unattended_approval``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import mcp_types as types
import structlog
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp.shared.message import ServerMessageMetadata

from luminamind.tools.preview import FileChange

__all__ = ["Answer", "Asker", "approval_message", "shorten_arguments"]

_log = structlog.get_logger(__name__)

Answer = Literal["accept", "decline", "cancel"]

# What the user sees must stay readable in a dialog: long values and diffs are cut.
_MAX_VALUE_CHARS = 400
_MAX_DIFF_CHARS = 20_000

# Form mode needs an object schema; approving a call asks for nothing but the decision,
# which the elicitation's own accept / decline / cancel buttons carry.
_CONFIRM_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}  # Any: JSON Schema


@dataclass(frozen=True, slots=True)
class Asker:
    """Asks the user of the client behind one request.

    Attributes:
        ctx: the request being served; elicitations ride its response stream.
    """

    ctx: ServerRequestContext[Any, Any]  # Any: the lifespan and transport request types

    @property
    def available(self) -> bool:
        """True when this client can be asked right now (capability and a back-channel)."""
        caps = self.ctx.session.client_capabilities
        if caps is None or caps.elicitation is None:
            return False
        # An empty ``elicitation: {}`` (clients before 2025-11-25) means form mode.
        elicitation = caps.elicitation
        supports_form = elicitation.form is not None or elicitation.url is None
        return supports_form and self.ctx.session.can_send_request

    async def aconfirm(self, message: str) -> Answer:
        """Ask a yes/no question; returns the user's action."""
        result = await self.aform(message, _CONFIRM_SCHEMA)
        return result.action

    async def aform(self, message: str, schema: dict[str, Any]) -> types.ElicitResult:
        """Ask with a form (``schema`` is a flat JSON Schema object).

        Raises:
            MCPError: the client refused or failed the elicitation request.
        """
        request = types.ElicitRequest(
            params=types.ElicitRequestFormParams(message=message, requested_schema=schema)
        )
        try:
            return await self.ctx.session.send_request(
                request,
                types.ElicitResult,
                metadata=ServerMessageMetadata(related_request_id=self.ctx.request_id),
            )
        except MCPError as exc:
            _log.warning("elicitation_failed", error=exc.message)
            raise


def shorten_arguments(arguments: dict[str, Any]) -> str:
    """Arguments as indented JSON, with long strings cut so a dialog stays readable."""

    def cut(value: Any) -> Any:  # Any: JSON values
        if isinstance(value, str) and len(value) > _MAX_VALUE_CHARS:
            return f"{value[:_MAX_VALUE_CHARS]}… ({len(value)} characters)"
        if isinstance(value, dict):
            return {k: cut(v) for k, v in value.items()}
        if isinstance(value, list):
            return [cut(v) for v in value]
        return value

    return json.dumps(cut(arguments), indent=2, ensure_ascii=False)


def approval_message(
    tool: str, arguments: dict[str, Any], changes: list[FileChange], *, note: str | None = None
) -> str:
    """The text of an approval request: what will run and, for file changes, the diff.

    ``note`` is a warning shown first (a ``shell`` command that is "not sandboxed").
    """
    lines = [f"LuminaMind wants to run `{tool}`.", "", "Arguments:", shorten_arguments(arguments)]
    if note:
        lines[1:1] = ["", f"Warning: {note}."]
    diff = "".join(change.diff for change in changes)
    if diff:
        if len(diff) > _MAX_DIFF_CHARS:
            diff = diff[:_MAX_DIFF_CHARS] + f"\n… (diff cut at {_MAX_DIFF_CHARS} characters)\n"
        lines += ["", "Changes:", "```diff", diff.rstrip("\n"), "```"]
    lines += ["", "Accept to run it, decline to refuse."]
    return "\n".join(lines)
