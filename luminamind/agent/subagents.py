"""Subagents and the ``task`` delegation tool.

The design follows deepagents' ``task`` tool: the main agent calls ``task(description,
subagent_type)``; the subagent starts from that description alone (it does not see the main
conversation), works with its own prompt and tools, and its final message comes back as the
tool's result, so the main agent's context only grows by the report.

Each subagent is its own ``create_agent`` graph compiled without a checkpointer of its own: run
inside the ``task`` tool it inherits the main graph's checkpointer under its own checkpoint
namespace. That is what lets an approval inside a subagent (``write_file`` in code-executor)
pause the whole run and resume exactly there: the interrupt bubbles up through the tool, the
thread is checkpointed, and on resume LangGraph re-enters the tool and the subagent picks up
from its own checkpoint instead of starting over.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import structlog
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool, InjectedToolCallId, StructuredTool
from pydantic import BaseModel, Field

from luminamind.agent.middleware import message_text
from luminamind.agent.prompts import (
    CODE_EXECUTOR_PROMPT,
    GREETER_PROMPT,
    WEB_RESEARCHER_PROMPT,
)
from luminamind.agent.tools import emit
from luminamind.config import Settings
from luminamind.errors import ConfigError
from luminamind.tools.registry import ToolFamily, ToolRegistry

__all__ = ["BUILTIN_SUBAGENTS", "SubagentDef", "build_task_tool", "subagent_defs"]


@dataclass(frozen=True, slots=True)
class SubagentDef:
    """What a subagent is: its name, what the main agent is told about it, its prompt and tools.

    Attributes:
        families: tool families it gets (all their non-denied tools).
        tools: extra tool names it gets (user-defined subagents list tools by name).
        model: ``provider:model`` for this subagent (the main model when None).
    """

    name: str
    description: str
    prompt: str
    families: tuple[ToolFamily, ...] = ()
    tools: tuple[str, ...] = ()
    model: str | None = None

    def tool_names(self, registry: ToolRegistry) -> list[str]:
        """The registry tools this subagent may use, in registry order."""
        wanted = set(self.tools)
        return [s.name for s in registry if s.family in self.families or s.name in wanted]


BUILTIN_SUBAGENTS = (
    SubagentDef(
        name="web-researcher",
        description="searches the web and reads pages; returns facts with their sources.",
        prompt=WEB_RESEARCHER_PROMPT,
        families=("web",),
    ),
    SubagentDef(
        name="code-executor",
        description=(
            "reads, searches, edits and runs code in the workspace (file, code and shell tools)."
        ),
        prompt=CODE_EXECUTOR_PROMPT,
        families=("files", "code", "shell"),
    ),
    SubagentDef(
        name="greeter",
        description="greets the user and explains what LuminaMind can do (no tools).",
        prompt=GREETER_PROMPT,
    ),
)


def subagent_defs(settings: Settings, registry: ToolRegistry) -> list[SubagentDef]:
    """The built-in subagents plus the user's (``[[subagents]]`` in the config).

    Raises:
        ConfigError: a user subagent reuses a name or lists a tool that does not exist.
    """
    defs = {d.name: d for d in BUILTIN_SUBAGENTS}
    for user in settings.subagents:
        unknown = [t for t in user.tools if t not in registry]
        if unknown:
            raise ConfigError(
                f"subagent '{user.name}' lists unknown tool(s) {', '.join(unknown)}; "
                f"known tools: {', '.join(registry.names())}"
            )
        if user.name in defs and user.name not in {d.name for d in BUILTIN_SUBAGENTS}:
            raise ConfigError(f"two subagents are named '{user.name}'; rename one in the config")
        # A user subagent named like a built-in one replaces it (prompt, tools, model).
        defs[user.name] = SubagentDef(
            name=user.name,
            description=user.description,
            prompt=user.prompt,
            tools=tuple(user.tools),
            model=user.model,
        )
    return list(defs.values())


class _TaskArgs(BaseModel):
    description: str = Field(
        min_length=1,
        description=(
            "The complete task for the subagent: what to do, where, and what to report back. "
            "It does not see this conversation."
        ),
    )
    subagent_type: str = Field(description="Which subagent runs the task (see the list).")
    tool_call_id: Annotated[str, InjectedToolCallId]


def build_task_tool(
    subagents: Mapping[str, tuple[SubagentDef, Runnable[Any, Any]]],
) -> BaseTool:
    """The ``task`` tool delegating to ``subagents`` (name -> definition and compiled graph)."""
    names = sorted(subagents)
    listing = "\n".join(f"- {n}: {subagents[n][0].description}" for n in names)

    async def task(description: str, subagent_type: str, tool_call_id: str) -> str:
        entry = subagents.get(subagent_type)
        if entry is None:
            # Returned, not raised: the model reads it and picks a real subagent.
            return (
                f"Error (unknown_subagent): there is no subagent '{subagent_type}'; "
                f"choose one of: {', '.join(names)}"
            )
        definition, graph = entry
        emit(
            {
                "kind": "subagent_started",
                "call_id": tool_call_id,
                "subagent": definition.name,
                "task": description,
            }
        )
        # No config passed: the tool's own config (thread, checkpointer, callbacks) is inherited
        # from the context, so the subagent checkpoints under this tool call's namespace.
        # The subagent's log lines (model calls, tools) say which subagent made them.
        with structlog.contextvars.bound_contextvars(subagent=definition.name):
            result = await graph.ainvoke(
                {"messages": [HumanMessage(content=description)]},
                config={"metadata": {"luminamind_agent": definition.name}},
            )
        report = _final_text(result.get("messages", []) if isinstance(result, dict) else [])
        emit(
            {
                "kind": "subagent_finished",
                "call_id": tool_call_id,
                "subagent": definition.name,
                "result": report,
            }
        )
        return report or f"({definition.name} finished without a report)"

    return StructuredTool(
        name="task",
        description=(
            "Delegate a self-contained task to a specialised subagent and get its report back. "
            "Use it for focused work (research, code changes) so this conversation stays short."
            f"\n\nSubagents:\n{listing}"
        ),
        args_schema=_TaskArgs,
        coroutine=task,
    )


def _final_text(messages: Sequence[Any]) -> str:  # Any: LangChain messages
    for message in reversed(messages):
        if isinstance(message, AIMessage):
            text = message_text(message.content).strip()
            if text:
                return text
    return ""
