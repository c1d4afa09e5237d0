"""What the sync and async Redis savers share: identifiers, script arguments, decoding, errors.

Nothing here does I/O, so the two savers cannot drift apart in how they store a checkpoint.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import redis.exceptions
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    PendingWrite,
    get_checkpoint_id,
    get_checkpoint_metadata,
    writes_sort_key,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from luminamind.errors import CheckpointError
from luminamind.state._redis_conn import RedisOptions
from luminamind.state._redis_keys import (
    SEP,
    ThreadKeys,
    check_id,
    join_netstrings,
    pack_typed,
    split_netstrings,
    unpack_typed,
)

__all__ = ["RedisSaverCore", "Target", "check_server_version"]

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


class RedisSaverCore(BaseCheckpointSaver[str]):
    """Codec and bookkeeping shared by `RedisSaver` and `AsyncRedisSaver`.

    Args:
        options: the connection options (URL, cluster flag, timeouts, retries).
        ttl_seconds: expire a thread this long after its last write (None keeps it forever).
        prefix: the first part of every key, so several deployments can share a database.
        serde: LangGraph's serializer (default: JsonPlusSerializer).
    """

    def __init__(
        self,
        options: RedisOptions,
        *,
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

    def _decode_writes(self, raw: Sequence[bytes | None]) -> list[PendingWrite]:
        decoded: list[tuple[tuple[str, str, int], PendingWrite]] = []
        for item in raw:
            if item is None:
                continue  # removed between the index read and the fetch (cannot happen in Lua)
            task_id, position, task_path, channel, kind, data = split_netstrings(item)
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

    def get_next_version(self, current: str | None, channel: None) -> str:
        """Versions as the SQLite saver makes them: a zero-padded counter and a random suffix."""
        if current is None:
            current_v = 0
        elif isinstance(current, int):
            current_v = current
        else:
            current_v = int(current.split(".")[0])
        return f"{current_v + 1:032}.{random.random():016}"  # noqa: S311 - not security
