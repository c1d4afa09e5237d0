"""The records the state layer stores and every layer above reads: a thread and its status.

They live here, at the bottom, as LangGraph keeps `CheckpointTuple` in its checkpoint base
package: storage never imports upward; `luminamind.agent.events` re-exports `ThreadInfo`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

from pydantic import BaseModel

__all__ = ["THREAD_STATUSES", "ThreadInfo", "ThreadStatus"]

ThreadStatus = Literal["idle", "running", "awaiting_approval", "error"]
"""Where a thread stands between runs (``running`` while a run holds it)."""

THREAD_STATUSES: tuple[ThreadStatus, ...] = get_args(ThreadStatus)


class ThreadInfo(BaseModel):
    """A thread's metadata, shared by every surface."""

    thread_id: str
    title: str
    surface: str
    workspace: str
    created_at: datetime
    updated_at: datetime
    status: ThreadStatus = "idle"
