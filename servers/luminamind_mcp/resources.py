"""Thread resources: ``luminamind://threads`` and ``luminamind://threads/{thread_id}``.

Both are JSON documents read through the agent service, so a thread started in the CLI or an
editor can be opened from any MCP client.
"""

from __future__ import annotations

import json
import re
from urllib.parse import unquote

import mcp_types as types
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

from luminamind.errors import LuminaError, ThreadNotFoundError
from luminamind_mcp.agent_tools import AgentTools

__all__ = ["THREADS_URI", "THREAD_TEMPLATE", "ThreadResources"]

THREADS_URI = "luminamind://threads"
THREAD_TEMPLATE = "luminamind://threads/{thread_id}"
_THREAD_URI = re.compile(r"^luminamind://threads/(?P<id>[^/?#]+)$")
_JSON = "application/json"


class ThreadResources:
    """Resources backed by the agent's threads."""

    def __init__(self, agent: AgentTools) -> None:
        self._agent = agent

    def templates(self) -> list[types.ResourceTemplate]:
        """The per-thread template."""
        return [
            types.ResourceTemplate(
                uri_template=THREAD_TEMPLATE,
                name="thread",
                title="LuminaMind thread",
                description="A thread's messages, TODO list and pending approvals (JSON).",
                mime_type=_JSON,
            )
        ]

    def list(self) -> list[types.Resource]:
        """The thread list (threads themselves come from the template).

        Listing stays static so that clients listing resources at connect time do not load
        the agent stack.
        """
        return [
            types.Resource(
                uri=THREADS_URI,
                name="threads",
                title="LuminaMind threads",
                description="Every thread, most recently updated first (JSON).",
                mime_type=_JSON,
            )
        ]

    async def aread(self, uri: str) -> types.ReadResourceResult:
        """Read one resource.

        Raises:
            MCPError: ``INVALID_PARAMS`` for an unknown URI or thread.
        """
        try:
            service = await self._agent.service()
            if uri == THREADS_URI:
                threads = await service.threads()
                data: object = [t.model_dump(mode="json") for t in threads]
            else:
                match = _THREAD_URI.match(uri)
                if match is None:
                    raise MCPError(
                        code=INVALID_PARAMS,
                        message=f"unknown resource {uri!r}; try {THREADS_URI} or {THREAD_TEMPLATE}",
                    )
                state = await service.state(unquote(match["id"]))
                data = state.model_dump(mode="json")
        except ThreadNotFoundError as exc:
            raise MCPError(code=INVALID_PARAMS, message=exc.message) from None
        except LuminaError as exc:
            raise MCPError(code=types.INTERNAL_ERROR, message=exc.message) from None
        text = json.dumps(data, ensure_ascii=False, indent=2)
        return types.ReadResourceResult(
            contents=[types.TextResourceContents(uri=uri, mime_type=_JSON, text=text)]
        )
