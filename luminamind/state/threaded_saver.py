"""Async twins of a synchronous LangGraph saver: each call runs whole in a worker thread.

LangGraph's synchronous savers raise ``NotImplementedError`` from their ``a*`` methods. Put
`ThreadedAsyncSaver` before such a saver in the bases and its async methods run the synchronous
ones, one worker-thread trip per call: `luminamind.state.redis.saver.RedisSaver` on asyncio's
default threads, `luminamind.state.sqlite_saver.SqliteCheckpointer` on a thread of its own (it
overrides `_call`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, TypeVar

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
)

__all__ = ["ThreadedAsyncSaver"]

_T = TypeVar("_T")


class ThreadedAsyncSaver(BaseCheckpointSaver[str]):
    """The async half of the saver interface, each method its synchronous twin in a thread."""

    async def _call(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> _T:
        """Run one synchronous call in a worker thread (subclasses may pick the thread)."""
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await self._call(self.get_tuple, config)

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        return await self._call(self.get_delta_channel_history, config=config, channels=channels)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,  # Any: metadata values
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        # Read whole in one trip: a synchronous generator may hold the saver's lock while it is
        # suspended, so handing it out row by row would block every other call until the
        # caller finished iterating (or deadlock a single worker, that other call's thread).
        def read() -> list[CheckpointTuple]:
            return list(self.list(config, filter=filter, before=before, limit=limit))

        for item in await self._call(read):
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return await self._call(self.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],  # Any: channel values
        task_id: str,
        task_path: str = "",
    ) -> None:
        await self._call(self.put_writes, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        await self._call(self.delete_thread, thread_id)
