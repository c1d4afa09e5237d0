"""Rewind: record what each agent turn changed in the workspace, and restore it (docs/rewind.md).

`TurnRecorder` records around file-changing tool calls; `restore` plans and applies a rewind of
files; `luminamind.agent.rewind` adds the conversation and is what `AgentService` exposes.
"""

from luminamind.rewind.models import (
    RewindFile,
    RewindPlan,
    RewindResult,
    TurnFile,
    TurnView,
)
from luminamind.rewind.recorder import TurnRecorder

__all__ = ["RewindFile", "RewindPlan", "RewindResult", "TurnFile", "TurnRecorder", "TurnView"]
