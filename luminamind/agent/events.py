"""The typed events and records `AgentService` exchanges with every surface.

Events are pydantic models with a ``type`` discriminator so the CLI can render them, the MCP server
can send them as progress notifications and the language server as ``$/progress`` reports, all
from the same JSON.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from luminamind.review.decisions import HunkDecision
from luminamind.review.hunks import Hunk
from luminamind.rewind.models import TurnView
from luminamind.state.records import ThreadInfo, ThreadStatus
from luminamind.tools.preview import FileChange

__all__ = [
    "ActionRequest",
    "AgentEvent",
    "ApprovalRequested",
    "Decision",
    "ErrorEvent",
    "FileChange",
    "FinalAnswer",
    "Hunk",
    "HunkDecision",
    "MessageView",
    "ReasoningDelta",
    "RunStarted",
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
]


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    thread_id: str


class Todo(BaseModel):
    """One item of the agent's plan."""

    content: str
    status: Literal["pending", "in_progress", "completed"] = "pending"


# "respond" answers on the tool's behalf without running it: the language server uses it when the
# user applied the proposed edit in the editor, so the change is done and must not be written twice.
# "review" answers a file change hunk by hunk (``Decision.hunks``); the service writes what was kept
# and turns it into one of the other four before the graph sees it.
DecisionType = Literal["approve", "edit", "reject", "respond", "review"]


def _all_decisions() -> list[DecisionType]:
    return ["approve", "edit", "reject"]


class ActionRequest(BaseModel):
    """A tool call waiting for a human decision.

    For file changes (write_file, multi_replace_in_file, apply_patch, copy_file over a file,
    delete_file) ``diff`` holds the unified diff and ``new_text`` the whole new content of ``path``
    (None when the file is deleted), so an editor can show it as a diff. ``hunks`` splits the
    change into the pieces a ``review`` decision answers one by one, and ``proposal``
    fingerprints what was shown (a decision naming an older one is asked again). ``notice``
    says why a request is shown again (a file changed on disk since the last proposal).
    """

    id: str
    tool: str
    arguments: dict[str, Any]  # Any: the tool's own JSON arguments
    description: str = ""
    allowed_decisions: list[DecisionType] = Field(default_factory=_all_decisions)
    path: str | None = None
    diff: str | None = None
    new_text: str | None = None
    files: list[FileChange] = Field(default_factory=list)
    hunks: list[Hunk] = Field(default_factory=list)
    proposal: str | None = None
    notice: str | None = None


class Decision(BaseModel):
    """A human's answer to one `ActionRequest`.

    ``edit`` carries the changed ``arguments``; ``reject`` may carry a ``message`` the agent sees;
    ``respond`` does not run the tool and gives the agent ``message`` as the tool's successful
    result; ``review`` carries one `HunkDecision` per hunk of the request and the ``proposal``
    it answers. ``action_id`` (the request's ``id``), when given, must be the pending action's.
    """

    type: DecisionType
    arguments: dict[str, Any] | None = None  # Any: the tool's own JSON arguments
    message: str | None = None
    hunks: list[HunkDecision] | None = None
    proposal: str | None = None
    action_id: str | None = None


class RunStarted(_Event):
    """A run (a new message or a resume) began."""

    type: Literal["run_started"] = "run_started"
    run_id: str


class TextDelta(_Event):
    """A chunk of the model's streamed answer."""

    type: Literal["text_delta"] = "text_delta"
    text: str
    agent: str = "main"


class ReasoningDelta(_Event):
    """A chunk of the model's reasoning, when the provider streams it apart from the answer.

    OpenAI-compatible servers that think aloud (DeepSeek, GLM, vLLM, ...) send it as
    ``reasoning_content`` deltas, Ollama as ``thinking``; it is never part of the answer.
    Surfaces may show it as thinking (ACP's ``agent_thought_chunk``) or ignore it.
    """

    type: Literal["reasoning_delta"] = "reasoning_delta"
    text: str
    agent: str = "main"


class ToolStarted(_Event):
    """A tool call began."""

    type: Literal["tool_started"] = "tool_started"
    call_id: str
    tool: str
    arguments: dict[str, Any]  # Any: the tool's own JSON arguments
    agent: str = "main"


class ToolFinished(_Event):
    """A tool call ended; ``content`` is what the model sees (bounded)."""

    type: Literal["tool_finished"] = "tool_finished"
    call_id: str
    tool: str
    status: Literal["ok", "error"]
    content: str
    duration_ms: float | None = None
    agent: str = "main"


class TodosChanged(_Event):
    """The plan changed."""

    type: Literal["todos_changed"] = "todos_changed"
    todos: list[Todo]


class SubagentStarted(_Event):
    """The main agent delegated a task."""

    type: Literal["subagent_started"] = "subagent_started"
    call_id: str
    subagent: str
    task: str


class SubagentFinished(_Event):
    """A subagent returned its report."""

    type: Literal["subagent_finished"] = "subagent_finished"
    call_id: str
    subagent: str
    result: str
    status: Literal["ok", "error"] = "ok"


class ApprovalRequested(_Event):
    """The run paused: these tool calls wait for `AgentService.resume` with decisions."""

    type: Literal["approval_requested"] = "approval_requested"
    requests: list[ActionRequest]


class FinalAnswer(_Event):
    """The run finished with this answer."""

    type: Literal["final_answer"] = "final_answer"
    text: str


class ErrorEvent(_Event):
    """The run stopped on an error; ``resumable`` says whether the thread can go on."""

    type: Literal["error"] = "error"
    code: str
    message: str
    resumable: bool = True


AgentEvent = Annotated[
    RunStarted
    | TextDelta
    | ReasoningDelta
    | ToolStarted
    | ToolFinished
    | TodosChanged
    | SubagentStarted
    | SubagentFinished
    | ApprovalRequested
    | FinalAnswer
    | ErrorEvent,
    Field(discriminator="type"),
]


class MessageView(BaseModel):
    """One message of a thread, as surfaces show it."""

    role: Literal["user", "assistant", "tool", "system"]
    content: str
    name: str | None = None
    tool_calls: list[dict[str, Any]] = Field(default_factory=list)  # Any: JSON arguments
    tool_call_id: str | None = None
    reasoning: str = Field(
        default="",
        description="An assistant message's reasoning, apart from its content (ReasoningDelta)",
    )


class ThreadState(BaseModel):
    """Everything a surface needs to show a thread."""

    info: ThreadInfo
    messages: list[MessageView]
    todos: list[Todo]
    pending_approvals: list[ActionRequest]
    turns: list[TurnView] = Field(
        default_factory=list,
        description="Recorded turns with the files each changed (what rewind can undo)",
    )


ActionRequest.model_rebuild()
