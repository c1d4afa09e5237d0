"""LangGraph checkpointers on plain Redis commands: `RedisSaver` (sync) and `AsyncRedisSaver`.

They need no Redis modules (RedisJSON, RediSearch), so they run on Redis >= 6, Valkey, managed
Redis and Redis Cluster. The layout is in ``_redis_keys``: five keys per thread sharing the hash
tag ``{thread id}``; every step's write is one Lua script, so it is atomic (all or nothing, even
if Redis dies mid-call) and costs one round trip. Reads of a checkpoint (record, channel values,
pending writes) are one script call too. Threads are listed from an index sorted set, never by
KEYS or SCAN. Optional TTL: each write refreshes the expiry of all of the thread's keys.

Failures are `CheckpointError`s naming the URL (password redacted); connection errors and
timeouts are first retried with exponential backoff by redis-py.
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncIterator, Iterator, Sequence
from types import TracebackType
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_checkpoint_id,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from luminamind.config import Settings
from luminamind.errors import CheckpointError
from luminamind.state._redis_async import AsyncRedisSaver
from luminamind.state._redis_codec import RedisSaverCore, check_server_version
from luminamind.state._redis_conn import RedisClient, RedisOptions, close_client, connect_sync
from luminamind.state._redis_keys import GET_SCRIPT, PRUNE_SCRIPT, PUT_SCRIPT, PUT_WRITES_SCRIPT

__all__ = ["AsyncRedisSaver", "RedisSaver"]


class RedisSaver(RedisSaverCore):
    """The blocking saver (``graph.invoke``); its ``a*`` methods run it in a worker thread."""

    def __init__(
        self,
        options: RedisOptions,
        *,
        client: RedisClient | None = None,
        ttl_seconds: float | None = None,
        prefix: str = "lm",
        serde: SerializerProtocol | None = None,
    ) -> None:
        super().__init__(options, ttl_seconds=ttl_seconds, prefix=prefix, serde=serde)
        self.client = client if client is not None else connect_sync(options)
        self._put = self.client.register_script(PUT_SCRIPT)
        self._put_writes = self.client.register_script(PUT_WRITES_SCRIPT)
        self._get = self.client.register_script(GET_SCRIPT)
        self._prune = self.client.register_script(PRUNE_SCRIPT)

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisSaver:
        """A saver for ``LUMINAMIND_REDIS_URL`` (not yet connected: call `setup`)."""
        return cls(
            RedisOptions.from_settings(settings),
            ttl_seconds=settings.redis_ttl_seconds,
            prefix=settings.redis_key_prefix,
        )

    def setup(self) -> None:
        """Connect, check the server version; a dead or wrong URL fails here, at start."""
        with self._guard("connect"):
            info = self.client.info("server")
            if isinstance(info, dict) and "redis_version" not in info and self.options.cluster:
                info = next(iter(info.values()))  # cluster: one INFO per node
        check_server_version(info, self.options.safe_url)

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
        target = self._target(config)
        with self._guard("read a checkpoint"):
            reply = self._get(target.keys.thread_keys, [target.ns, target.checkpoint_id or ""])
        return self._decode(target.thread_id, target.ns, reply)

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,  # Any: metadata values
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        before_id = get_checkpoint_id(before) if before else None
        if config is None:
            with self._guard("list threads"):
                if self.ttl_seconds:  # expired threads leave the index here, lazily
                    self.client.zremrangebyscore(self._threads_key, "-inf", self._live_since())
                threads = [
                    t.decode()
                    for t in self.client.zrevrangebyscore(
                        self._threads_key, "+inf", self._live_since()
                    )
                ]
            ns, cid = None, None
        else:
            target = self._target(config)
            threads, cid = [target.thread_id], target.checkpoint_id
            ns = config["configurable"].get("checkpoint_ns")
        remaining = limit
        for thread_id in threads:
            keys = self._keys(thread_id)
            low, high = self._list_window(ns, before_id)
            with self._guard("list checkpoints"):
                members = self.client.zrangebylex(keys.idx, low, high)
            for m_ns, m_cid in self._candidates(members, ns, cid, before_id):
                if remaining is not None and remaining <= 0:
                    return
                with self._guard("read a checkpoint"):
                    reply = self._get(keys.thread_keys, [m_ns, m_cid])
                found = self._decode(thread_id, m_ns, reply, filter=filter)
                if found is not None:
                    if remaining is not None:
                        remaining -= 1
                    yield found

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        target, args, saved = self._put_args(config, checkpoint, metadata, new_versions)
        with self._guard("save a checkpoint"):
            self._put(self._script_keys(target.keys, with_index=True), args)
            if self.options.cluster:
                self.client.zadd(target.keys.threads, {target.thread_id: args[4]})
        return saved

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],  # Any: channel values
        task_id: str,
        task_path: str = "",
    ) -> None:
        if not writes:
            return
        target, args = self._writes_args(config, writes, task_id, task_path)
        with self._guard("save pending writes"):
            self._put_writes(target.keys.thread_keys, args)

    def delete_thread(self, thread_id: str) -> None:
        keys = self._keys(thread_id)
        with self._guard("delete a thread"):
            self.client.delete(*keys.thread_keys)
            self.client.zrem(keys.threads, str(thread_id))

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        src, dst = self._keys(source_thread_id), self._keys(target_thread_id)
        with self._guard("copy a thread"):
            pipe = self.client.pipeline(transaction=not self.options.cluster)
            pipe.hgetall(src.cp).zrange(src.idx, 0, -1).hgetall(src.blob)
            cp, idx, blob, wk = pipe.hgetall(src.wk).execute()
            if not idx:
                return
            pipe = self.client.pipeline(transaction=not self.options.cluster)
            pipe.hset(dst.cp, mapping=cp).zadd(dst.idx, dict.fromkeys(idx, 0))
            if blob:
                pipe.hset(dst.blob, mapping=blob)
            if wk:
                pipe.hset(dst.wk, mapping=wk).zadd(dst.wz, dict.fromkeys(wk, 0))
            if self._ttl_ms:
                for key in dst.thread_keys:
                    pipe.pexpire(key, self._ttl_ms)
            pipe.execute()
            self.client.zadd(dst.threads, {str(target_thread_id): self._now_ms()})

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        if strategy not in {"keep_latest", "delete"}:
            raise CheckpointError(f"unknown prune strategy {strategy!r}: keep_latest or delete")
        for thread_id in thread_ids:
            if strategy == "delete":
                self.delete_thread(thread_id)
                continue
            with self._guard("prune a thread"):
                self._prune(self._keys(thread_id).thread_keys, [])

    # -- async twins: the blocking client runs in a worker thread ----------------------------

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await asyncio.to_thread(self.get_tuple, config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,  # Any: metadata values
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        found = await asyncio.to_thread(
            lambda: builtins.list(self.list(config, filter=filter, before=before, limit=limit))
        )
        for item in found:
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return await asyncio.to_thread(self.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],  # Any: channel values
        task_id: str,
        task_path: str = "",
    ) -> None:
        await asyncio.to_thread(self.put_writes, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        await asyncio.to_thread(self.delete_thread, thread_id)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await asyncio.to_thread(self.copy_thread, source_thread_id, target_thread_id)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        await asyncio.to_thread(lambda: self.prune(thread_ids, strategy=strategy))
