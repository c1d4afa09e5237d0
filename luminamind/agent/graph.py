"""The agent graph: LangChain's ``create_agent`` with its own middleware, plus subagents.

Main agent middleware, outermost first:

1. ``TodoListMiddleware``: the ``write_todos`` tool and the plan in the state (``todos``).
2. ``HumanInTheLoopMiddleware`` (``per_call``): one interrupt per tool call the approval policy
   marks ``ask`` (``copy_file`` asks only when it would overwrite). Listed before everything that
   wraps tool calls, as LangChain asks, so a paused call reruns nothing with side effects.
3. `ThreadToolsMiddleware` when the service lends threads extra tools (an ACP session's MCP
   servers): offered on that thread only, asking by the same policy (``thread_tools.py``).
   `ToolEventsMiddleware`, `InvalidToolCallsMiddleware` (``luminamind.agent.middleware``).
4. ``SummarizationMiddleware``: long histories are summarised by the same model.
5. ``ModelCallLimitMiddleware`` (``max_steps`` model calls per run; ``end`` with a message) and
   ``ToolCallLimitMiddleware`` (``max_tool_calls`` per run; further calls get an error).
6. The providers' middleware: fallback model, retries, circuit breaker, typed errors, metrics.

Tools the policy marks ``deny`` are never given to any model. The ``before_model`` and
``after_model`` hooks of each stack run folded into one node each (`fold_model_hooks`), so a
model call costs four supersteps (and checkpoints) instead of nine.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Required

from langchain.agents import create_agent
from langchain.agents.middleware import (
    AgentMiddleware,
    HumanInTheLoopMiddleware,
    InterruptOnConfig,
    ModelCallLimitMiddleware,
    SummarizationMiddleware,
    TodoListMiddleware,
    ToolCallLimitMiddleware,
)
from langchain.agents.middleware.types import AgentState, ToolCallRequest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AnyMessage, ToolCall
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langgraph.channels.delta import DeltaChannel
from langgraph.graph.message import _messages_delta_reducer
from langgraph.runtime import Runtime
from langgraph.types import Checkpointer
from pydantic import BaseModel

from luminamind.agent.folding import fold_model_hooks
from luminamind.agent.hops import install_inline_langsmith
from luminamind.agent.middleware import InvalidToolCallsMiddleware, ToolEventsMiddleware
from luminamind.agent.prompts import main_prompt, subagent_prompt
from luminamind.agent.subagents import SubagentDef, build_task_tool, subagent_defs
from luminamind.agent.thread_tools import ThreadToolRegistry, ThreadToolsMiddleware
from luminamind.agent.tokens import cached_counter_for
from luminamind.agent.tools import build_langchain_tools
from luminamind.config import Settings
from luminamind.providers import CircuitBreakers, build_chat_model, provider_middleware
from luminamind.runtime import ToolRuntime
from luminamind.state.checkpointer import stores_message_deltas
from luminamind.tools.registry import ToolSpec

__all__ = [
    "MESSAGE_SNAPSHOT_EVERY",
    "SUMMARY_KEEP_MESSAGES",
    "SUMMARY_TRIGGER_TOKENS",
    "AgentGraph",
    "DeltaMessagesState",
    "build_agent_graph",
]

# Summarise once the history passes this many (approximate) tokens, keeping the recent messages:
# below every supported model's context window, above any ordinary task.
SUMMARY_TRIGGER_TOKENS = 60_000
SUMMARY_KEEP_MESSAGES = 20

# A delta checkpoint replays at most this many updates of `messages` (about two per model call)
# from the last snapshot; every this many it writes the whole list once. 1,000: a 500-call run
# writes one snapshot, and loading any thread replays at most a few hundred kilobytes of writes.
MESSAGE_SNAPSHOT_EVERY = 1_000

ModelFactory = Callable[[str | None], BaseChatModel]


class DeltaMessagesState(AgentState[Any]):
    """The agent's state with ``messages`` as a `DeltaChannel` (LangGraph, beta).

    A checkpoint then stores only the messages added since its parent, not the whole list, so
    a step costs the same at message 1,000 as at message 10 (bench/agent_overhead.py). The
    reducer is LangGraph's batch version of ``add_messages``; LangGraph gives every message an
    id before it is written, so replaying the writes rebuilds the same list.
    """

    messages: Required[  # type: ignore[misc]  # narrows AgentState's channel to a DeltaChannel
        Annotated[
            list[AnyMessage],
            DeltaChannel(_messages_delta_reducer, snapshot_frequency=MESSAGE_SNAPSHOT_EVERY),
        ]
    ]


# Any: LangGraph's compiled graph is generic over state types we do not narrow here.
CompiledAgent = Runnable[Any, Any]


@dataclass(frozen=True, slots=True)
class AgentGraph:
    """The compiled main agent and what the service needs to know about it."""

    graph: Any  # Any: CompiledStateGraph[AgentState, ...]; its generics vary with middleware
    subagents: tuple[str, ...]
    gated_tools: frozenset[str]


def _usable(runtime: ToolRuntime, names: list[str] | None = None) -> list[ToolSpec]:
    """Registry tools not denied by the policy (all of them, or those in ``names``)."""
    specs = list(runtime.registry) if names is None else [runtime.registry.get(n) for n in names]
    policy = runtime.executor.policy
    return [s for s in specs if policy.mode_for(s) != "deny"]


def _describe(tool_call: ToolCall, state: AgentState[Any], runtime: Runtime[Any]) -> str:
    del state, runtime
    args = json.dumps(tool_call.get("args") or {}, ensure_ascii=False)
    if len(args) > 2000:
        args = args[:2000] + "…"
    return f"{tool_call['name']} {args}"


def _approvals(specs: list[ToolSpec], runtime: ToolRuntime) -> HumanInTheLoopMiddleware[Any, Any]:
    """HITL middleware asking for every call the approval policy marks ``ask``."""
    policy = runtime.executor.policy
    workspace = runtime.context.workspace
    interrupt_on: dict[str, bool | InterruptOnConfig] = {}
    for spec in specs:
        if not policy.may_ask(spec):
            continue

        def when(request: ToolCallRequest, spec: ToolSpec = spec) -> bool:
            args = request.tool_call.get("args") or {}
            return policy.mode_for_call(spec, args, workspace) == "ask"

        interrupt_on[spec.name] = InterruptOnConfig(
            allowed_decisions=["approve", "edit", "reject", "respond"],
            description=_describe,
            when=when,
        )
    return HumanInTheLoopMiddleware(interrupt_on=interrupt_on, interrupt_mode="per_call")


def _common(agent: str) -> list[AgentMiddleware[Any, Any, Any]]:
    return [
        ToolEventsMiddleware(agent),
        InvalidToolCallsMiddleware(agent),
    ]


def _limits(settings: Settings, breakers: CircuitBreakers) -> list[AgentMiddleware[Any, Any, Any]]:
    return [
        ModelCallLimitMiddleware(run_limit=settings.max_steps, exit_behavior="end"),
        ToolCallLimitMiddleware(run_limit=settings.max_tool_calls, exit_behavior="continue"),
        *provider_middleware(settings, breakers=breakers),
    ]


def _summarization(model: BaseChatModel) -> SummarizationMiddleware[Any, Any]:
    summarization: SummarizationMiddleware[Any, Any] = SummarizationMiddleware(
        model,
        trigger=("tokens", SUMMARY_TRIGGER_TOKENS),
        keep=("messages", SUMMARY_KEEP_MESSAGES),
    )
    # The trigger counts the whole history before every model call; the cached counter gives
    # the same number while counting each message once (luminamind.agent.tokens).
    cached = cached_counter_for(summarization.token_counter)
    if cached is not None:
        summarization.token_counter = cached
    return summarization


def warm_tool_schemas(tools: list[BaseTool]) -> list[BaseTool]:
    """Build each tool's call schema now, while the graph is built, not in the first model call.

    Every provider's ``bind_tools`` (run by ``create_agent`` before each model call) reads
    ``tool.tool_call_schema`` and its JSON schema; LangChain memoizes the schema class per tool
    instance and its JSON schema per class, but builds them (a pydantic model each) on first
    use: a few milliseconds of the first message a new process sends, now paid while the graph
    is built (in a worker thread at start-up when the service prebuilds it).
    """
    for tool in tools:
        schema = tool.tool_call_schema
        if isinstance(schema, type) and issubclass(schema, BaseModel):
            schema.model_json_schema()
    return tools


def _subagent(
    definition: SubagentDef,
    *,
    settings: Settings,
    runtime: ToolRuntime,
    model: BaseChatModel,
    breakers: CircuitBreakers,
) -> CompiledAgent:
    specs = _usable(runtime, definition.tool_names(runtime.registry))
    tools = warm_tool_schemas(build_langchain_tools(specs, runtime.executor, runtime.context))
    middleware: list[AgentMiddleware[Any, Any, Any]] = [
        _approvals(specs, runtime),
        *_common(definition.name),
        *_limits(settings, breakers),
    ]
    # checkpointer=None: run inside the task tool it inherits the main graph's checkpointer
    # under its own namespace, so its interrupts pause and resume the whole thread.
    graph: CompiledAgent = create_agent(
        model,
        tools,
        system_prompt=subagent_prompt(definition.prompt, str(runtime.context.workspace.root)),
        middleware=fold_model_hooks(middleware),
        name=definition.name,
    )
    return graph


def build_agent_graph(
    settings: Settings,
    *,
    runtime: ToolRuntime,
    model: BaseChatModel,
    checkpointer: Checkpointer,
    breakers: CircuitBreakers | None = None,
    model_factory: ModelFactory | None = None,
    thread_tools: ThreadToolRegistry | None = None,
) -> AgentGraph:
    """Build the main agent with its subagents and the ``task`` tool.

    Args:
        settings: limits, approvals, subagents, model resilience.
        runtime: the registry, executor (policy, audit, cache) and tool context.
        model: the main chat model (subagents without a model of their own use it too).
        checkpointer: where threads are saved (SQLite, Redis or memory).
        breakers: circuit breakers shared by every agent of the service.
        model_factory: builds a subagent's own model from ``provider:model``.
        thread_tools: extra tools per thread (an ACP session's MCP servers), main agent only.

    Raises:
        ConfigError: a user subagent or the fallback model is misconfigured.
    """
    install_inline_langsmith()  # no thread hops per middleware hook while LangSmith is off
    breakers = breakers or CircuitBreakers.from_settings(settings.model)

    def factory(name: str | None) -> BaseChatModel:
        return build_chat_model(settings, model=name)

    make_model = model_factory or factory
    subagents: dict[str, tuple[SubagentDef, Runnable[Any, Any]]] = {}
    for definition in subagent_defs(settings, runtime.registry):
        sub_model = make_model(definition.model) if definition.model else model
        subagents[definition.name] = (
            definition,
            _subagent(
                definition,
                settings=settings,
                runtime=runtime,
                model=sub_model,
                breakers=breakers,
            ),
        )
    specs = _usable(runtime)
    tools = warm_tool_schemas(
        [
            *build_langchain_tools(specs, runtime.executor, runtime.context),
            build_task_tool(subagents),
        ]
    )
    approvals = _approvals(specs, runtime)
    lent: list[AgentMiddleware[Any, Any, Any]] = []
    if thread_tools is not None:
        lent.append(
            ThreadToolsMiddleware(
                thread_tools,
                overrides=settings.approvals,
                audit=runtime.executor.audit,
                surface=runtime.context.surface,
            )
        )
    middleware: list[AgentMiddleware[Any, Any, Any]] = [
        TodoListMiddleware(),
        approvals,
        *lent,
        *_common("main"),
        _summarization(model),
        *_limits(settings, breakers),
    ]
    prompt = main_prompt(
        str(runtime.context.workspace.root),
        [(d.name, d.description) for d, _ in subagents.values()],
    )
    graph = create_agent(
        model,
        tools,
        system_prompt=prompt,
        middleware=fold_model_hooks(middleware),
        state_schema=DeltaMessagesState if stores_message_deltas(checkpointer) else None,
        checkpointer=checkpointer,
        name="luminamind",
    )
    return AgentGraph(
        graph=graph, subagents=tuple(subagents), gated_tools=frozenset(approvals.interrupt_on)
    )
