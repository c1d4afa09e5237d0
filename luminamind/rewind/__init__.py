"""Rewind: record what each agent turn changed in the workspace, and restore it (docs/rewind.md).

``luminamind.rewind.recorder.TurnRecorder`` records around file-changing tool calls;
``luminamind.rewind.restore`` plans and applies a rewind of files; `luminamind.agent.rewind` adds
the conversation and is what `AgentService` exposes. This package itself exports only the
views the surfaces show (light: the MCP server imports them at start-up).
"""

from luminamind.rewind.models import (
    RewindFile,
    RewindPlan,
    RewindResult,
    TurnFile,
    TurnView,
)

__all__ = ["RewindFile", "RewindPlan", "RewindResult", "TurnFile", "TurnView"]
