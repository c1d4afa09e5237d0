"""`AsyncRedisSaver`: the asyncio twin of `RedisSaver` (same layout, scripts, codec and control
flow: both run the plans of `luminamind.state.redis.base`).

Its blocking methods exist for LangGraph's sync paths (``graph.get_state``) called from another
thread: they run the coroutine on the saver's loop, as ``AsyncSqliteSaver`` does. Called on the
loop itself they would deadlock, so they refuse with a clear error instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
)

from luminamind.errors import CheckpointError
from luminamind.state.redis.base import BaseRedisSaver
from luminamind.state.redis.conn import aclose_client, connect_async
from luminamind.state.redis.plan import aiterate_plan, arun_plan

__all__ = ["AsyncRedisSaver"]

_T = TypeVar("_T")


class AsyncRedisSaver(BaseRedisSaver):
    """The asyncio saver (``graph.ainvoke`` / ``astream``). Create it inside the running loop."""

    _connect = staticmethod(connect_async)
    # The loop the client belongs to: the blocking twins hand their calls to it.
    loop: asyncio.AbstractEventLoop | None = None

    async def asetup(self) -> None:
        """Connect, check the server version; a dead or wrong URL fails here, at start.

        The saver belongs to the running loop from then on (create and enter it there).
        """
        self.loop = asyncio.get_running_loop()
        await arun_plan(self._setup_plan())

    async def aclose(self) -> None:
        """Close the connection pool."""
        await aclose_client(self.client)

    async def __aenter__(self) -> AsyncRedisSaver:
        try:
            await self.asetup()
        except BaseException:
            await self.aclose()  # __aexit__ will not run: do not leak the pool
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- the BaseCheckpointSaver API ---------------------------------------------------------

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await arun_plan(self._get_tuple_plan(config))

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        return await arun_plan(self._delta_history_plan(config, channels))

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,  # Any: metadata values
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        plan = self._list_plan(config, filter=filter, before=before, limit=limit)
        async for item in aiterate_plan(plan):
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return await arun_plan(self._put_plan(config, checkpoint, metadata, new_versions))

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],  # Any: channel values
        task_id: str,
        task_path: str = "",
    ) -> None:
        await arun_plan(self._put_writes_plan(config, writes, task_id, task_path))

    async def adelete_thread(self, thread_id: str) -> None:
        await arun_plan(self._delete_thread_plan(thread_id))

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await arun_plan(self._copy_thread_plan(source_thread_id, target_thread_id))

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        await arun_plan(self._prune_plan(thread_ids, strategy))

    # -- blocking twins, for LangGraph's sync paths called from other threads ---------------

    def _sync(self, coro: Coroutine[Any, Any, _T]) -> _T:  # Any: coroutine send/yield types
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if self.loop is None or running is self.loop:
            coro.close()
            raise CheckpointError(
                "AsyncRedisSaver's blocking methods only work from another thread than its event "
                "loop; use the async methods (ainvoke, aget_state) or RedisSaver"
            )
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self._sync(self.aget_tuple(config))

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        return self._sync(self.aget_delta_channel_history(config=config, channels=channels))

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,  # Any: metadata values
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        async def collect() -> list[CheckpointTuple]:
            found = self.alist(config, filter=filter, before=before, limit=limit)
            return [item async for item in found]

        yield from self._sync(collect())

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return self._sync(self.aput(config, checkpoint, metadata, new_versions))

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],  # Any: channel values
        task_id: str,
        task_path: str = "",
    ) -> None:
        self._sync(self.aput_writes(config, writes, task_id, task_path))

    def delete_thread(self, thread_id: str) -> None:
        self._sync(self.adelete_thread(thread_id))
