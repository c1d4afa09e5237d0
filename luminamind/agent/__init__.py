"""The agent: graph building, approvals, the event contract, the run driver and `AgentService`.

Surfaces use three things from here:

- `luminamind.agent.service.AgentService`, the one façade (``stream``, ``resume``, ``state``,
  ``threads``, ``delete``, ``cancel``). Import it from its module: it pulls in LangGraph and the
  providers, which MCP's ``tools/list`` and the language server's ``initialize`` must not wait
  for, so this package does not import it.
- `run_turn` / `resume_run` (``runs``), the one run driver: a surface supplies ``decide`` and
  ``on_event`` and gets a `RunOutcome`.
- The events and records (``events``) every surface renders: `AgentEvent` and its members,
  `ActionRequest`, `Decision`, `ThreadInfo`, `ThreadState`.
"""

from luminamind.agent.events import (
    ActionRequest,
    AgentEvent,
    ApprovalRequested,
    Decision,
    DecisionType,
    ErrorEvent,
    FinalAnswer,
    MessageView,
    ReasoningDelta,
    RunStarted,
    SubagentFinished,
    SubagentStarted,
    TextDelta,
    ThreadInfo,
    ThreadState,
    ThreadStatus,
    Todo,
    TodosChanged,
    ToolFinished,
    ToolStarted,
)
from luminamind.agent.runs import (
    Answers,
    Decide,
    OnEvent,
    RunOutcome,
    RunStatus,
    complete_decisions,
    resume_run,
    run_turn,
)

__all__ = [
    "ActionRequest",
    "AgentEvent",
    "Answers",
    "ApprovalRequested",
    "Decide",
    "Decision",
    "DecisionType",
    "ErrorEvent",
    "FinalAnswer",
    "MessageView",
    "OnEvent",
    "ReasoningDelta",
    "RunOutcome",
    "RunStarted",
    "RunStatus",
    "SubagentFinished",
    "SubagentStarted",
    "TextDelta",
    "ThreadInfo",
    "ThreadState",
    "ThreadStatus",
    "Todo",
    "TodosChanged",
    "ToolFinished",
    "ToolStarted",
    "complete_decisions",
    "resume_run",
    "run_turn",
]
