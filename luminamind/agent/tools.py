"""Registry tools as LangChain tools: one adapter, no tool logic.

Each `ToolSpec` becomes a `StructuredTool` whose schema is the spec's own argument model, so the
model sees exactly the JSON Schema the MCP server and the CLI publish. The call goes through
`ToolExecutor.acall` (validation, policy, cache, audit) with ``approved=True``: by the time a tool
runs inside the graph, `HumanInTheLoopMiddleware` has already asked the human when the policy
says ``ask``. A `LuminaError` becomes an error ``ToolMessage`` the model reads and can act on;
it never ends the run.
"""

from __future__ import annotations

import json
from typing import Any

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, StructuredTool, ToolException
from langgraph.config import get_stream_writer
from pydantic import BaseModel

from luminamind.agent.payloads import CustomPayload
from luminamind.errors import LuminaError
from luminamind.tools.context import ToolContext
from luminamind.tools.executor import ToolExecutor
from luminamind.tools.registry import ToolSpec

__all__ = ["build_langchain_tools", "compact_json", "emit", "langchain_tool", "thread_id_of"]

# What the model sees of a result is bounded; the tools bound themselves, this is a last guard.
_MAX_RESULT_CHARS = 100_000


def compact_json(result: BaseModel) -> str:
    """A result as compact JSON (no spaces, None fields dropped) for the model's context."""
    text = json.dumps(
        result.model_dump(mode="json", exclude_none=True),
        ensure_ascii=False,
        separators=(",", ":"),
    )
    if len(text) > _MAX_RESULT_CHARS:
        text = text[:_MAX_RESULT_CHARS] + "…(truncated)"
    return text


def thread_id_of(config: RunnableConfig | None) -> str | None:
    """The LangGraph thread id of a run's config, if any."""
    configurable = (config or {}).get("configurable") or {}
    value = configurable.get("thread_id")
    return str(value) if value is not None else None


def emit(event: CustomPayload) -> None:
    """Write ``event`` to the graph's custom stream; a no-op outside a streamed run."""
    try:
        writer = get_stream_writer()
    except RuntimeError:  # not inside a graph run (direct tool calls in tests)
        return
    writer(event)


def langchain_tool(spec: ToolSpec, executor: ToolExecutor, context: ToolContext) -> BaseTool:
    """Wrap one registry tool; `LuminaError` becomes an error ToolMessage, not an exception."""

    async def call(config: RunnableConfig, **kwargs: Any) -> str:
        call_context = ToolContext(
            workspace=context.workspace,
            settings=context.settings,
            thread_id=thread_id_of(config),
            surface=context.surface,
            progress=context.progress,
            editors=context.editors,
        )
        try:
            result = await executor.acall(spec.name, kwargs, context=call_context, approved=True)
        except LuminaError as exc:
            # ToolException + handle_tool_error: LangChain answers the model with an error
            # ToolMessage carrying this text, bound to the right tool call id; the run goes on.
            raise ToolException(f"Error ({exc.code}): {exc.message}") from exc
        return compact_json(result)

    return StructuredTool(
        name=spec.name,
        description=spec.description or spec.name,
        args_schema=spec.args_model,
        coroutine=call,
        handle_tool_error=True,
    )


def build_langchain_tools(
    specs: list[ToolSpec],
    executor: ToolExecutor,
    context: ToolContext,
) -> list[BaseTool]:
    """`langchain_tool` for each spec, in order."""
    return [langchain_tool(s, executor, context) for s in specs]
