"""LangGraph checkpointers on plain Redis commands: `RedisSaver` (sync; `AsyncRedisSaver` in `aio`).

Both run the operations written once in `luminamind.state.redis.base`; this module only supplies
the blocking client and LangGraph's sync/async method pairs.

They need no Redis modules (RedisJSON, RediSearch), so they run on Redis >= 6, Valkey, managed
Redis and Redis Cluster. The layout is in `luminamind.state.redis.keys`: five keys per thread
sharing the hash tag ``{thread id}``; every step's write is one Lua script, so it is atomic (all
or nothing, even if Redis dies mid-call) and costs one round trip. Reads of a checkpoint (record,
channel values, pending writes) are one script call too. Threads are listed from an index sorted
set, never by KEYS or SCAN. Optional TTL: each write refreshes the expiry of all the thread's keys.

Failures are `CheckpointError`s naming the URL (password redacted); connection errors and
timeouts are first retried with exponential backoff by redis-py.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
)

from luminamind.state.redis.base import BaseRedisSaver
from luminamind.state.redis.conn import close_client, connect_sync
from luminamind.state.redis.plan import iterate_plan, run_plan
from luminamind.state.threaded_saver import ThreadedAsyncSaver

__all__ = ["RedisSaver"]


class RedisSaver(ThreadedAsyncSaver, BaseRedisSaver):
    """The blocking saver (``graph.invoke``); its ``a*`` methods run it in a worker thread."""

    _connect = staticmethod(connect_sync)

    def setup(self) -> None:
        """Connect, check the server version; a dead or wrong URL fails here, at start."""
        run_plan(self._setup_plan())

    def close(self) -> None:
        """Close the connection pool."""
        close_client(self.client)

    def __enter__(self) -> RedisSaver:
        try:
            self.setup()
        except BaseException:
            self.close()  # __exit__ will not run: do not leak the pool
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the BaseCheckpointSaver API ---------------------------------------------------------

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return run_plan(self._get_tuple_plan(config))

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        return run_plan(self._delta_history_plan(config, channels))

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,  # Any: metadata values
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        return iterate_plan(self._list_plan(config, filter=filter, before=before, limit=limit))

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return run_plan(self._put_plan(config, checkpoint, metadata, new_versions))

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],  # Any: channel values
        task_id: str,
        task_path: str = "",
    ) -> None:
        run_plan(self._put_writes_plan(config, writes, task_id, task_path))

    def delete_thread(self, thread_id: str) -> None:
        run_plan(self._delete_thread_plan(thread_id))

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        run_plan(self._copy_thread_plan(source_thread_id, target_thread_id))

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        run_plan(self._prune_plan(thread_ids, strategy))

    # -- async twins beyond ThreadedAsyncSaver's: the blocking client in a worker thread ------

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await self._call(self.copy_thread, source_thread_id, target_thread_id)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        await self._call(self.prune, thread_ids, strategy=strategy)
