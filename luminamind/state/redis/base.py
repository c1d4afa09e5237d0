"""What the sync and async Redis savers share: identifiers, script arguments, decoding, errors,
and the control flow of every operation.

Nothing here does I/O. Each operation is written once as a *plan*: a generator that yields the
Redis calls to make (zero-argument callables: a command, a script or a pipeline's ``execute``)
and receives their replies, as httpx writes its auth flow once for both of its clients.
`RedisSaver` runs plans with `plan.run_plan` (calling each step), `AsyncRedisSaver` with
`plan.arun_plan` (awaiting each step): the two cannot drift apart in what they store or in the
order they do it.
A failing step is thrown back into the plan, so its `BaseRedisSaver._guard` turns it into a
`CheckpointError` the same way for both.
"""

from __future__ import annotations

import random
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, Self

import redis.exceptions
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
    PendingWrite,
    get_checkpoint_id,
    get_checkpoint_metadata,
    writes_sort_key,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from luminamind.config import Settings
from luminamind.errors import CheckpointError
from luminamind.state.redis.conn import RedisClient, RedisOptions
from luminamind.state.redis.keys import (
    DELTA_SCRIPT,
    GET_SCRIPT,
    PRUNE_SCRIPT,
    PUT_SCRIPT,
    PUT_WRITES_SCRIPT,
    SEP,
    ThreadKeys,
    check_id,
    join_netstrings,
    pack_typed,
    split_netstrings,
    unpack_typed,
)
from luminamind.state.redis.plan import Listing, Plan

__all__ = ["BaseRedisSaver", "Target", "check_server_version"]


_MIN_VERSION = (6, 0)
_EMPTY = ("empty", b"")  # a channel with no value at this version (as InMemorySaver stores it)
_MS = 1000


def check_server_version(info: dict[str, Any], url: str) -> None:  # Any: INFO values
    """Refuse servers older than 6.0 (the scripts use multi-field HSET and lexical ranges)."""
    raw = str(info.get("valkey_version") or info.get("redis_version") or "0")
    version = tuple(int(p) for p in raw.split(".")[:2] if p.isdigit())
    if version < _MIN_VERSION:
        raise CheckpointError(f"Redis at {url} is version {raw}; the checkpointer needs >= 6.0")


@dataclass(frozen=True)
class Target:
    """Where a call reads or writes: the thread's keys, its namespace and checkpoint id."""

    thread_id: str
    keys: ThreadKeys
    ns: str
    checkpoint_id: str | None


class BaseRedisSaver(BaseCheckpointSaver[str]):
    """Codec, bookkeeping and control flow shared by `RedisSaver` and `AsyncRedisSaver`.

    Args:
        options: the connection options (URL, cluster flag, timeouts, retries).
        client: a client to use (blocking or asyncio, as the subclass); by default the
            subclass's `_connect` makes one from ``options``.
        ttl_seconds: expire a thread this long after its last write (None keeps it forever).
        prefix: the first part of every key, so several deployments can share a database.
        serde: LangGraph's serializer (default: JsonPlusSerializer).
    """

    def __init__(
        self,
        options: RedisOptions,
        *,
        client: RedisClient | None = None,
        ttl_seconds: float | None = None,
        prefix: str = "lm",
        serde: SerializerProtocol | None = None,
    ) -> None:
        super().__init__(serde=serde)
        if not prefix or "{" in prefix or "}" in prefix:
            raise CheckpointError(f"Redis key prefix {prefix!r} must be non-empty, without braces")
        self.options = options
        self.ttl_seconds = ttl_seconds
        self.prefix = prefix
        self.client = client if client is not None else self._connect(options)
        self._put = self.client.register_script(PUT_SCRIPT)
        self._put_writes = self.client.register_script(PUT_WRITES_SCRIPT)
        self._get = self.client.register_script(GET_SCRIPT)
        self._delta = self.client.register_script(DELTA_SCRIPT)
        self._prune = self.client.register_script(PRUNE_SCRIPT)

    @staticmethod
    def _connect(opts: RedisOptions) -> RedisClient:
        """A client for ``opts``: blocking in `RedisSaver`, asyncio in `AsyncRedisSaver`."""
        raise NotImplementedError

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """A saver for ``LUMINAMIND_REDIS_URL``, not yet connected: enter it (``with`` or
        ``async with``), or call ``setup`` / await ``asetup``."""
        return cls(
            RedisOptions.from_settings(settings),
            ttl_seconds=settings.redis_ttl_seconds,
            prefix=settings.redis_key_prefix,
        )

    @property
    def _ttl_ms(self) -> int:
        return int(self.ttl_seconds * _MS) if self.ttl_seconds else 0

    def _keys(self, thread_id: object) -> ThreadKeys:
        return ThreadKeys.of(self.prefix, str(thread_id))

    def _target(self, config: RunnableConfig) -> Target:
        configurable = config.get("configurable") or {}
        if configurable.get("thread_id") is None:
            raise CheckpointError("the config has no configurable.thread_id")
        thread_id = str(configurable["thread_id"])
        ns = check_id(str(configurable.get("checkpoint_ns") or ""), "checkpoint namespace")
        cid = get_checkpoint_id(config)
        return Target(
            thread_id, self._keys(thread_id), ns, check_id(cid, "checkpoint id") if cid else None
        )

    def _script_keys(self, keys: ThreadKeys, *, with_index: bool) -> list[str]:
        # On a single node the put script also stamps the thread index (one round trip, atomic);
        # on a cluster the index lives in another slot and is updated by a separate command.
        if with_index and not self.options.cluster:
            return [*keys.thread_keys, keys.threads]
        return keys.thread_keys

    @contextmanager
    def _guard(self, operation: str) -> Iterator[None]:
        """Turn redis-py failures into one `CheckpointError` naming the (redacted) URL."""
        try:
            yield
        except redis.exceptions.RedisError as exc:
            detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise CheckpointError(
                f"Redis checkpointer at {self.options.safe_url} failed to {operation}: {detail}. "
                "Nothing was half-written; check that Redis is reachable and retry "
                "(the thread resumes from its last saved checkpoint)."
            ) from exc

    # -- writing ---------------------------------------------------------------------------

    def _put_args(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> tuple[Target, list[Any], RunnableConfig]:  # Any: bytes, str and int script arguments
        target = self._target(config)
        cid = check_id(str(checkpoint["id"]), "checkpoint id")
        stored: dict[str, Any] = dict(checkpoint)  # Any: checkpoint fields
        values: dict[str, Any] = stored.pop("channel_values", None) or {}  # Any: channel values
        cp_type, cp_bytes = self.serde.dumps_typed(stored)
        md_type, md_bytes = self.serde.dumps_typed(get_checkpoint_metadata(config, metadata))
        parts = [cp_type.encode(), cp_bytes, md_type.encode(), md_bytes]
        parts.append((target.checkpoint_id or "").encode())
        for channel, version in checkpoint["channel_versions"].items():
            parts += [check_id(channel, "channel").encode(), str(version).encode()]
        field = f"{target.ns}{SEP}{cid}"
        args: list[Any] = [  # Any: bytes, str and int script arguments
            field,
            join_netstrings(parts),
            self._ttl_ms,
            target.thread_id,
            self._now_ms(),
        ]
        for channel, version in new_versions.items():
            typed = self.serde.dumps_typed(values[channel]) if channel in values else _EMPTY
            args += [
                f"{target.ns}{SEP}{check_id(channel, 'channel')}{SEP}{version}",
                pack_typed(typed),
            ]
        saved: RunnableConfig = {
            "configurable": {
                "thread_id": target.thread_id,
                "checkpoint_ns": target.ns,
                "checkpoint_id": cid,
            }
        }
        return target, args, saved

    def _writes_args(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],  # Any: channel values
        task_id: str,
        task_path: str,
    ) -> tuple[Target, list[Any]]:  # Any: bytes, str and int script arguments
        target = self._target(config)
        if target.checkpoint_id is None:
            raise CheckpointError("put_writes needs configurable.checkpoint_id")
        check_id(task_id, "task id")
        upsert = all(channel in WRITES_IDX_MAP for channel, _ in writes)
        args: list[Any] = [b"1" if upsert else b"0", self._ttl_ms]  # Any: script arguments
        base = f"{target.ns}{SEP}{target.checkpoint_id}{SEP}{task_id}{SEP}"
        for idx, (channel, value) in enumerate(writes):
            position = WRITES_IDX_MAP.get(channel, idx)
            kind, data = self.serde.dumps_typed(value)
            record = [task_id, str(position), task_path, channel, kind]
            args += [f"{base}{position}", join_netstrings([p.encode() for p in record] + [data])]
        return target, args

    # -- reading ---------------------------------------------------------------------------

    def _decode(
        self, thread_id: str, ns: str, reply: Any, *, filter: dict[str, Any] | None = None
    ) -> CheckpointTuple | None:  # Any: the raw script reply and metadata values
        """Build the tuple from a GET script reply; None if it is absent or ``filter`` fails."""
        if not reply:
            return None
        raw_cid, record, blobs, writes = reply
        parts = split_netstrings(record)
        metadata: CheckpointMetadata = self.serde.loads_typed((parts[2].decode(), parts[3]))
        if filter and any(metadata.get(k) != v for k, v in filter.items()):
            return None
        checkpoint: Checkpoint = self.serde.loads_typed((parts[0].decode(), parts[1]))
        values: dict[str, Any] = {}  # Any: channel values
        for channel, blob in zip(parts[5::2], blobs, strict=True):
            if blob is not None:
                kind, data = unpack_typed(blob)
                if kind != _EMPTY[0]:
                    values[channel.decode()] = self.serde.loads_typed((kind, data))
        checkpoint["channel_values"] = values
        cid = raw_cid.decode()
        parent = parts[4].decode()
        return CheckpointTuple(
            config=self._config(thread_id, ns, cid),
            checkpoint=checkpoint,
            metadata=metadata,
            parent_config=self._config(thread_id, ns, parent) if parent else None,
            pending_writes=self._decode_writes(writes),
        )

    def _decode_writes(
        self, raw: Sequence[bytes | None], *, channels: Collection[str] | None = None
    ) -> list[PendingWrite]:
        """The pending writes in ``raw`` (of ``channels`` only, if given), in LangGraph's order."""
        decoded: list[tuple[tuple[str, str, int], PendingWrite]] = []
        for item in raw:
            if item is None:
                continue  # removed between the index read and the fetch (cannot happen in Lua)
            task_id, position, task_path, channel, kind, data = split_netstrings(item)
            if channels is not None and channel.decode() not in channels:
                continue
            value = self.serde.loads_typed((kind.decode(), data))
            key = writes_sort_key(task_path.decode(), task_id.decode(), int(position))
            decoded.append((key, (task_id.decode(), channel.decode(), value)))
        decoded.sort(key=lambda pair: pair[0])
        return [write for _, write in decoded]

    @staticmethod
    def _config(thread_id: str, ns: str, checkpoint_id: str) -> RunnableConfig:
        return {
            "configurable": {
                "thread_id": thread_id,
                "checkpoint_ns": ns,
                "checkpoint_id": checkpoint_id,
            }
        }

    @staticmethod
    def _candidates(
        members: Sequence[bytes], ns: str | None, cid: str | None, before: str | None
    ) -> list[tuple[str, str]]:
        """(ns, checkpoint id) pairs from index members, newest checkpoint first."""
        out: list[tuple[str, str]] = []
        for member in members:
            m_ns, _, m_cid = member.decode().partition(SEP)
            if ns is not None and m_ns != ns:
                continue
            if (cid and m_cid != cid) or (before is not None and m_cid >= before):
                continue
            out.append((m_ns, m_cid))
        out.sort(key=lambda pair: (pair[1], pair[0]), reverse=True)
        return out

    def _list_window(self, ns: str | None, before: str | None) -> tuple[bytes, bytes]:
        """ZRANGEBYLEX bounds covering ``ns`` (everything when None), below ``before``."""
        if ns is None:
            return b"-", b"+"
        low = b"[" + ns.encode() + b"\x00"
        high = b"(" + (ns.encode() + b"\x00" + before.encode() if before else ns.encode() + b"\x01")
        return low, high

    @property
    def _threads_key(self) -> str:
        return f"{self.prefix}:threads"

    @staticmethod
    def _now_ms() -> int:
        return int(time.time() * _MS)

    def _live_since(self) -> float:
        """The oldest thread-index score still alive under the TTL (-inf without one)."""
        if not self.ttl_seconds:
            return float("-inf")
        return time.time() * _MS - self._ttl_ms

    # -- the operations, written once (see the module docstring) ------------------------------

    def _setup_plan(self) -> Plan[None]:
        """Connect and check the server version; a dead or wrong URL fails here, at start."""
        with self._guard("connect"):
            info = yield partial(self.client.info, "server")
            if isinstance(info, dict) and "redis_version" not in info and self.options.cluster:
                info = next(iter(info.values()))  # cluster: one INFO per node
        check_server_version(info, self.options.safe_url)

    def _get_tuple_plan(self, config: RunnableConfig) -> Plan[CheckpointTuple | None]:
        target = self._target(config)
        with self._guard("read a checkpoint"):
            reply = yield partial(
                self._get, target.keys.thread_keys, [target.ns, target.checkpoint_id or ""]
            )
        return self._decode(target.thread_id, target.ns, reply)

    def _delta_history_plan(
        self, config: RunnableConfig, channels: Sequence[str]
    ) -> Plan[Mapping[str, DeltaChannelHistory]]:
        """What LangGraph's default ``get_delta_channel_history`` returns, in one round trip.

        The default walks the parent chain with one ``get_tuple`` per ancestor (a round trip
        and every channel value decoded, per step of the thread); `DELTA_SCRIPT` walks it inside
        Redis, and only the wanted channels' writes and seeds are decoded here. Same contract:
        per channel, its writes from the nearest ancestor holding a value (the seed, whose own
        pending writes are included) onwards, oldest first; no seed when the walk reaches the
        root.
        """
        if not channels:
            return {}
        target = self._target(config)
        with self._guard("read a thread's message history"):
            reply = yield partial(
                self._delta,
                target.keys.thread_keys,
                [target.ns, target.checkpoint_id or "", *channels],
            )
        collected: dict[str, list[PendingWrite]] = {c: [] for c in channels}
        seeds: dict[str, Any] = {}  # Any: channel values
        if reply:
            steps, raw_seeds = reply
            seeded: dict[int, list[tuple[str, bytes]]] = {}
            for i in range(0, len(raw_seeds), 3):
                step, channel, blob = raw_seeds[i : i + 3]
                seeded.setdefault(int(step), []).append((channel.decode(), blob))
            remaining = set(channels)
            for number, raw in enumerate(steps, start=1):  # newest ancestor first
                writes = self._decode_writes(raw, channels=remaining)
                for write in reversed(writes):
                    collected[write[1]].append(write)
                for channel, blob in seeded.get(number, ()):
                    seeds[channel] = self.serde.loads_typed(unpack_typed(blob))
                    remaining.discard(channel)
        result: dict[str, DeltaChannelHistory] = {}
        for channel in channels:
            entry: DeltaChannelHistory = {"writes": list(reversed(collected[channel]))}
            if channel in seeds:
                entry["seed"] = seeds[channel]
            result[channel] = entry
        return result

    def _list_plan(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None,  # Any: metadata values
        before: RunnableConfig | None,
        limit: int | None,
    ) -> Listing:
        """Yields steps and, as they are found, the checkpoint tuples to list."""
        before_id = get_checkpoint_id(before) if before else None
        if config is None:
            with self._guard("list threads"):
                if self.ttl_seconds:  # expired threads leave the index here, lazily
                    yield partial(
                        self.client.zremrangebyscore, self._threads_key, "-inf", self._live_since()
                    )
                raw = yield partial(
                    self.client.zrevrangebyscore, self._threads_key, "+inf", self._live_since()
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
                members = yield partial(self.client.zrangebylex, keys.idx, low, high)
            for m_ns, m_cid in self._candidates(members, ns, cid, before_id):
                if remaining is not None and remaining <= 0:
                    return
                with self._guard("read a checkpoint"):
                    reply = yield partial(self._get, keys.thread_keys, [m_ns, m_cid])
                found = self._decode(thread_id, m_ns, reply, filter=filter)
                if found is not None:
                    if remaining is not None:
                        remaining -= 1
                    yield found

    def _put_plan(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> Plan[RunnableConfig]:
        target, args, saved = self._put_args(config, checkpoint, metadata, new_versions)
        with self._guard("save a checkpoint"):
            yield partial(self._put, self._script_keys(target.keys, with_index=True), args)
            if self.options.cluster:
                yield partial(self.client.zadd, target.keys.threads, {target.thread_id: args[4]})
        return saved

    def _put_writes_plan(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],  # Any: channel values
        task_id: str,
        task_path: str,
    ) -> Plan[None]:
        if not writes:
            return
        target, args = self._writes_args(config, writes, task_id, task_path)
        with self._guard("save pending writes"):
            yield partial(self._put_writes, target.keys.thread_keys, args)

    def _delete_thread_plan(self, thread_id: str) -> Plan[None]:
        keys = self._keys(thread_id)
        with self._guard("delete a thread"):
            yield partial(self.client.delete, *keys.thread_keys)
            yield partial(self.client.zrem, keys.threads, str(thread_id))

    def _copy_thread_plan(self, source_thread_id: str, target_thread_id: str) -> Plan[None]:
        src, dst = self._keys(source_thread_id), self._keys(target_thread_id)
        with self._guard("copy a thread"):
            pipe = self.client.pipeline(transaction=not self.options.cluster)
            pipe.hgetall(src.cp).zrange(src.idx, 0, -1).hgetall(src.blob).hgetall(src.wk)
            cp, idx, blob, wk = yield pipe.execute
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
            yield pipe.execute
            yield partial(self.client.zadd, dst.threads, {str(target_thread_id): self._now_ms()})

    def _prune_plan(self, thread_ids: Sequence[str], strategy: str) -> Plan[None]:
        """``keep_latest``: the newest checkpoint of every namespace, its blobs and writes.

        Not for threads with a `DeltaChannel` (LuminaMind's ``messages``): their latest
        checkpoint holds only the newest messages and the rest is rebuilt from the ancestors
        this drops. LuminaMind never prunes its threads (they expire with the TTL, or go whole
        with ``delete_thread``); the strategy is LangGraph's API, kept for other graphs.
        """
        if strategy not in {"keep_latest", "delete"}:
            raise CheckpointError(f"unknown prune strategy {strategy!r}: keep_latest or delete")
        for thread_id in thread_ids:
            if strategy == "delete":
                yield from self._delete_thread_plan(thread_id)
                continue
            with self._guard("prune a thread"):
                yield partial(self._prune, self._keys(thread_id).thread_keys, [])

    def get_next_version(self, current: str | None, channel: None) -> str:
        """Versions as the SQLite saver makes them: a zero-padded counter and a random suffix."""
        if current is None:
            current_v = 0
        elif isinstance(current, int):
            current_v = current
        else:
            current_v = int(current.split(".")[0])
        return f"{current_v + 1:032}.{random.random():016}"  # noqa: S311 - not security
