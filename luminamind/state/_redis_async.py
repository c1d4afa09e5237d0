"""`AsyncRedisSaver`: the asyncio twin of `RedisSaver` (same layout, scripts and codec).

Its blocking methods exist for LangGraph's sync paths (``graph.get_state``) called from another
thread: they run the coroutine on the saver's loop, as ``AsyncSqliteSaver`` does. Called on the
loop itself they would deadlock, so they refuse with a clear error instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine, Iterator, Sequence
from types import TracebackType
from typing import Any, TypeVar

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
from luminamind.state._redis_codec import RedisSaverCore, check_server_version
from luminamind.state._redis_conn import (
    RedisClient,
    RedisOptions,
    aclose_client,
    connect_async,
)
from luminamind.state._redis_keys import GET_SCRIPT, PRUNE_SCRIPT, PUT_SCRIPT, PUT_WRITES_SCRIPT

__all__ = ["AsyncRedisSaver"]

_T = TypeVar("_T")


class AsyncRedisSaver(RedisSaverCore):
    """The asyncio saver (``graph.ainvoke`` / ``astream``). Create it inside the running loop."""

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
        self.client = client if client is not None else connect_async(options)
        try:
            self.loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self.loop = None
        self._put = self.client.register_script(PUT_SCRIPT)
        self._put_writes = self.client.register_script(PUT_WRITES_SCRIPT)
        self._get = self.client.register_script(GET_SCRIPT)
        self._prune = self.client.register_script(PRUNE_SCRIPT)

    @classmethod
    def from_settings(cls, settings: Settings) -> AsyncRedisSaver:
        """A saver for ``LUMINAMIND_REDIS_URL`` (not yet connected: await `asetup`)."""
        return cls(
            RedisOptions.from_settings(settings),
            ttl_seconds=settings.redis_ttl_seconds,
            prefix=settings.redis_key_prefix,
        )

    async def asetup(self) -> None:
        """Connect, check the server version; a dead or wrong URL fails here, at start."""
        self.loop = asyncio.get_running_loop()
        with self._guard("connect"):
            info = await self.client.info("server")
            if isinstance(info, dict) and "redis_version" not in info and self.options.cluster:
                info = next(iter(info.values()))  # cluster: one INFO per node
        check_server_version(info, self.options.safe_url)

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
        target = self._target(config)
        with self._guard("read a checkpoint"):
            reply = await self._get(
                target.keys.thread_keys, [target.ns, target.checkpoint_id or ""]
            )
        return self._decode(target.thread_id, target.ns, reply)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,  # Any: metadata values
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        before_id = get_checkpoint_id(before) if before else None
        if config is None:
            with self._guard("list threads"):
                if self.ttl_seconds:  # expired threads leave the index here, lazily
                    await self.client.zremrangebyscore(
                        self._threads_key, "-inf", self._live_since()
                    )
                raw = await self.client.zrevrangebyscore(
                    self._threads_key, "+inf", self._live_since()
                )
            threads, ns, cid = [t.decode() for t in raw], None, None
        else:
            target = self._target(config)
            threads, cid = [target.thread_id], target.checkpoint_id
            ns = config["configurable"].get("checkpoint_ns")
        remaining = limit
        for thread_id in threads:
            keys = self._keys(thread_id)
            low, high = self._list_window(ns, before_id)
            with self._guard("list checkpoints"):
                members = await self.client.zrangebylex(keys.idx, low, high)
            for m_ns, m_cid in self._candidates(members, ns, cid, before_id):
                if remaining is not None and remaining <= 0:
                    return
                with self._guard("read a checkpoint"):
                    reply = await self._get(keys.thread_keys, [m_ns, m_cid])
                found = self._decode(thread_id, m_ns, reply, filter=filter)
                if found is not None:
                    if remaining is not None:
                        remaining -= 1
                    yield found

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        target, args, saved = self._put_args(config, checkpoint, metadata, new_versions)
        with self._guard("save a checkpoint"):
            await self._put(self._script_keys(target.keys, with_index=True), args)
            if self.options.cluster:
                await self.client.zadd(target.keys.threads, {target.thread_id: args[4]})
        return saved

    async def aput_writes(
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
            await self._put_writes(target.keys.thread_keys, args)

    async def adelete_thread(self, thread_id: str) -> None:
        keys = self._keys(thread_id)
        with self._guard("delete a thread"):
            await self.client.delete(*keys.thread_keys)
            await self.client.zrem(keys.threads, str(thread_id))

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        src, dst = self._keys(source_thread_id), self._keys(target_thread_id)
        with self._guard("copy a thread"):
            pipe = self.client.pipeline(transaction=not self.options.cluster)
            pipe.hgetall(src.cp).zrange(src.idx, 0, -1).hgetall(src.blob).hgetall(src.wk)
            cp, idx, blob, wk = await pipe.execute()
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
            await pipe.execute()
            await self.client.zadd(dst.threads, {str(target_thread_id): self._now_ms()})

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        if strategy not in {"keep_latest", "delete"}:
            raise CheckpointError(f"unknown prune strategy {strategy!r}: keep_latest or delete")
        for thread_id in thread_ids:
            if strategy == "delete":
                await self.adelete_thread(thread_id)
                continue
            with self._guard("prune a thread"):
                await self._prune(self._keys(thread_id).thread_keys, [])

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
