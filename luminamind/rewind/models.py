"""What the surfaces show of turns and rewinds (pydantic: JSON for ``--json``, MCP and LSP)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

if TYPE_CHECKING:  # the store (and LangGraph under it) stays out of the MCP server's start-up
    from luminamind.state.snapshots import TurnRecord

__all__ = [
    "EditorEdit",
    "ProblemKind",
    "RestoreAction",
    "RewindFile",
    "RewindPlan",
    "RewindResult",
    "TurnFile",
    "TurnView",
    "turn_view",
]

RestoreAction = Literal["write", "delete", "mkdir"]
ProblemKind = Literal["conflict", "not_stored", "not_a_file"]


@dataclass(frozen=True, slots=True)
class EditorEdit:
    """A file an editor changed in its own buffers for the agent (LuminaMind wrote nothing).

    Attributes:
        path: workspace-relative, POSIX style.
        before: the text the edit was applied to (None: the file did not exist).
        after: the text it left (None: the editor deleted the file).
    """

    path: str
    before: str | None
    after: str | None


class TurnFile(BaseModel):
    """A file one turn changed."""

    path: str
    change: Literal["created", "deleted", "modified"]
    tool: str = Field(description="The tool that changed it first in the turn")
    restorable: bool = Field(description="Its content before the turn is stored")
    note: str | None = Field(default=None, description="Why it is not restorable")


class TurnView(BaseModel):
    """One turn of a thread and the files it changed."""

    turn: int
    message: str
    started_at: datetime
    files: list[TurnFile]


def turn_view(record: TurnRecord) -> TurnView:
    """The view of a stored turn."""
    return TurnView(
        turn=record.turn,
        message=record.message,
        started_at=record.started_at,
        files=[
            TurnFile(
                path=f.path,
                change=f.change,
                tool=f.tool,
                restorable=f.before.kind != "listed",
                note=f.before.note,
            )
            for f in record.files
        ],
    )


class RewindFile(BaseModel):
    """One file a rewind restores, or cannot restore as things are.

    ``problem`` None: the file is restored by ``action``. ``conflict``: it changed after the
    agent's last edit (restored only when overwriting is asked for explicitly). ``not_stored``:
    its content before the turn was not kept (binary, over the cap, pruned). ``not_a_file``: a
    directory (or other non-file) is where the file was; never replaced.
    """

    path: str
    action: RestoreAction
    problem: ProblemKind | None = None
    reason: str | None = None
    diff: str | None = Field(
        default=None, description="Unified diff from the file now to what it is restored to"
    )


class RewindPlan(BaseModel):
    """What rewinding a thread to a turn does, computed before anything changes."""

    thread_id: str
    turn: int = Field(description="The turn gone back to: it and every later turn are undone")
    message: str = Field(description="That turn's message (to send again, or change)")
    turns_undone: list[int]
    files: list[RewindFile]

    @property
    def restorable(self) -> list[RewindFile]:
        """The files restored without asking more."""
        return [f for f in self.files if f.problem is None]

    @property
    def problems(self) -> list[RewindFile]:
        """The files that are conflicts or cannot be restored."""
        return [f for f in self.files if f.problem is not None]


class RewindResult(BaseModel):
    """What a rewind did."""

    thread_id: str
    turn: int
    message: str
    restored: list[str] = Field(description="Files restored to their state before the turn")
    left: list[RewindFile] = Field(description="Files left as they are (conflicts, not stored)")
    conversation: Literal["forked", "cleared"] = Field(
        description="forked: the thread continues from the checkpoint before the turn; "
        "cleared: the turn was the thread's first"
    )
