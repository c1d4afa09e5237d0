"""What a new run needs to know about a thread's latest checkpoint, without loading the thread.

Before a new message runs, `AgentService` checks that the thread is not waiting for approvals
and notes the checkpoint the turn starts from (for rewind). LangGraph answers both only through
``aget_state``, which rebuilds every channel: a 1,000-message thread decoded in full, and then
decoded again by the run itself (bench/agent_overhead.py, "Loading a 1000-message thread").
`ThreadHeads` remembers, per thread, the answer of the last ``aget_state`` this process made,
keyed by the checkpoint's id and its number of pending writes (the only two things that change
what ``aget_state`` says about interrupts: a checkpoint never changes once written, and its
pending writes only grow). Reading that key is one small ``aget_tuple``; the full state is
rebuilt only when the key moved (another process, or a replica, ran the thread since).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver, CheckpointTuple
from langgraph.types import Interrupt, StateSnapshot

__all__ = ["Head", "ThreadHeads"]

# Threads remembered (least recently used dropped): a record is a few ids and the interrupts.
_KEEP = 1024

Key = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Head:
    """The parts of a thread's latest `StateSnapshot` a new run starts from."""

    checkpoint_id: str | None  # None: the thread has no checkpoint yet
    interrupts: tuple[Interrupt, ...]


def _key(saved: CheckpointTuple | None) -> Key | None:
    if saved is None:
        return None
    checkpoint_id = saved.config.get("configurable", {}).get("checkpoint_id")
    if not isinstance(checkpoint_id, str):
        return None
    return checkpoint_id, len(saved.pending_writes or ())


class ThreadHeads:
    """Per thread: the last head this process saw, and the checkpoint key it was seen at."""

    def __init__(self, saver: BaseCheckpointSaver[Any]) -> None:  # Any: the saver's versions
        self._saver = saver
        self._seen: OrderedDict[str, tuple[Key, Head]] = OrderedDict()

    async def key(self, config: RunnableConfig) -> Key | None:
        """The latest checkpoint's key (one ``aget_tuple``; no channel is rebuilt)."""
        return _key(await self._saver.aget_tuple(config))

    def get(self, thread_id: str, key: Key | None) -> Head | None:
        """The remembered head if it was seen at ``key``, else None (rebuild the state)."""
        seen = self._seen.get(thread_id)
        if key is None or seen is None or seen[0] != key:
            return None
        self._seen.move_to_end(thread_id)
        return seen[1]

    def remember(self, thread_id: str, key: Key | None, snapshot: StateSnapshot) -> Head:
        """Record what ``snapshot`` says, if it was built from the checkpoint ``key`` names.

        ``key`` must have been read before ``aget_state`` built ``snapshot``: pending writes
        added in between make the next key differ, so they are never missed.
        """
        at = snapshot.config.get("configurable", {}).get("checkpoint_id")
        head = Head(
            checkpoint_id=at if snapshot.created_at else None,
            interrupts=tuple(snapshot.interrupts),
        )
        if key is not None and key[0] == at:
            self._seen[thread_id] = (key, head)
            self._seen.move_to_end(thread_id)
            while len(self._seen) > _KEEP:
                self._seen.popitem(last=False)
        else:
            self._seen.pop(thread_id, None)
        return head

    def forget(self, thread_id: str) -> None:
        self._seen.pop(thread_id, None)
