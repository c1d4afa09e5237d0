"""File snapshots in Redis, for replicas that share their state there.

Four hashes per thread, in the thread's hash slot (beside its checkpoints, so Redis Cluster
keeps them on one node and a pipeline over them is one slot): ``…:rw:turns`` (turn -> JSON),
``…:rw:files`` (``turn/path`` -> JSON record), ``…:rw:blobs`` (SHA-256 -> bytes) and
``…:rw:scan`` (path -> the last shell scan's entry). Hash commands and one small Lua script, as
the checkpointer uses, so it works where the checkpointer works (Redis >= 6, Valkey, managed
Redis without modules). With ``redis_ttl_seconds`` the keys expire with the thread.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import cached_property
from typing import cast

from redis.commands.core import AsyncScript

from luminamind.state.redis.keys import ThreadKeys
from luminamind.state.redis.store import RedisStore
from luminamind.state.snapshots.records import (
    FileRecord,
    ScanEntry,
    TurnRecord,
    file_record_from_json,
    file_record_to_json,
    scan_entry_from_json,
    scan_entry_to_json,
)

__all__ = ["RedisSnapshotStore"]

# KEYS: turns; ARGV: ttl_ms value -> the new turn's number (one more than the highest). Every
# run starts a turn: one round trip instead of two or three (HKEYS, HSET, PEXPIRE).
_BEGIN_TURN = """
local top = 0
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  local number = tonumber(field)
  if number > top then top = number end
end
redis.call('HSET', KEYS[1], tostring(top + 1), ARGV[2])
if tonumber(ARGV[1]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return top + 1
"""


class RedisSnapshotStore(RedisStore):
    """The `SnapshotStore` protocol on Redis (one writer per thread: one run at a time).

    Arguments: `RedisStore`.
    """

    kind = "snapshot store"

    @cached_property
    def _begin_turn(self) -> AsyncScript:
        # Registered on first use: the store keeps RedisStore's constructor as it is.
        # redis-py types register_script on its cluster client as Any.
        return cast(AsyncScript, self.client.register_script(_BEGIN_TURN))

    def _keys(self, thread_id: str) -> tuple[str, str, str, str]:
        base = ThreadKeys.of(self._prefix, thread_id).cp.removesuffix(":cp") + ":rw"
        return f"{base}:turns", f"{base}:files", f"{base}:blobs", f"{base}:scan"

    async def _expire(self, *keys: str) -> None:
        if self._ttl_ms:
            pipe = self.client.pipeline(transaction=False)
            for key in keys:
                pipe.pexpire(key, self._ttl_ms)
            await pipe.execute()

    async def begin_turn(self, thread_id: str, *, checkpoint_id: str | None, message: str) -> int:
        turns, *_ = self._keys(thread_id)
        value = {
            "checkpoint_id": checkpoint_id,
            "message": message,
            "started_at": datetime.now(UTC).isoformat(),
        }
        with self._guard("start a turn"):
            turn = await self._begin_turn([turns], [self._ttl_ms, json.dumps(value)])
        return int(turn)

    async def latest_turn(self, thread_id: str) -> int | None:
        turns, *_ = self._keys(thread_id)
        with self._guard("read the turns"):
            numbers = [int(t) for t in await self.client.hkeys(turns)]
        return max(numbers) if numbers else None

    async def record(
        self,
        thread_id: str,
        turn: int | None,
        files: Sequence[FileRecord],
        blobs: Mapping[str, bytes],
    ) -> int | None:
        _, files_key, blobs_key, _ = self._keys(thread_id)
        if turn is None:
            turn = await self.latest_turn(thread_id)
            if turn is None:
                return None  # not an agent turn (a tool called outside a run)
        fields = [f"{turn}/{r.path}" for r in files]
        with self._guard("record a turn's files"):
            known = await self.client.hmget(files_key, fields) if fields else []
            merged: dict[str, str] = {}
            for field, record, old in zip(fields, files, known, strict=True):
                if old is not None:  # the turn changed it before: keep what it was before that
                    first = file_record_from_json(old)
                    record = FileRecord(record.path, first.tool, first.before, record.after)
                merged[field] = file_record_to_json(record)
            pipe = self.client.pipeline(transaction=True)
            if blobs:
                pipe.hset(blobs_key, mapping=dict(blobs))
            if merged:
                pipe.hset(files_key, mapping=merged)
            await pipe.execute()
            await self._expire(files_key, blobs_key)
        return turn

    async def turns(self, thread_id: str) -> list[TurnRecord]:
        turns_key, files_key, _, _ = self._keys(thread_id)
        with self._guard("read the turns"):
            raw_turns = await self.client.hgetall(turns_key)
            raw_files = await self.client.hgetall(files_key)
        files: dict[int, list[FileRecord]] = {}
        for field, value in raw_files.items():
            number = int(field.decode().split("/", 1)[0])
            files.setdefault(number, []).append(file_record_from_json(value))
        records = []
        for field, value in raw_turns.items():
            number, data = int(field), json.loads(value)
            records.append(
                TurnRecord(
                    turn=number,
                    checkpoint_id=data["checkpoint_id"],
                    message=data["message"],
                    started_at=datetime.fromisoformat(data["started_at"]),
                    files=tuple(sorted(files.get(number, ()), key=lambda r: r.path)),
                )
            )
        return sorted(records, key=lambda t: t.turn)

    async def blobs(self, thread_id: str, shas: Iterable[str]) -> dict[str, bytes]:
        _, _, blobs_key, _ = self._keys(thread_id)
        wanted = sorted(set(shas))
        if not wanted:
            return {}
        with self._guard("read snapshots"):
            values = await self.client.hmget(blobs_key, wanted)
        return {sha: bytes(v) for sha, v in zip(wanted, values, strict=True) if v is not None}

    async def _forget(self, thread_id: str, doomed: Iterable[int]) -> None:
        turns_key, files_key, blobs_key, scan_key = self._keys(thread_id)
        doomed = set(doomed)
        if not doomed:
            return
        kept_before: set[str] = set()
        dropped: list[str] = []
        for field in await self.client.hkeys(files_key):
            name = field.decode()
            if int(name.split("/", 1)[0]) in doomed:
                dropped.append(name)
            else:
                kept_before.add(name)
        needed: set[str] = set()
        if kept_before:
            for value in await self.client.hmget(files_key, sorted(kept_before)):
                if value is not None:
                    before = file_record_from_json(value).before
                    if before.kind == "file" and before.sha256:
                        needed.add(before.sha256)
        for value in (await self.client.hgetall(scan_key)).values():
            state = scan_entry_from_json(value).state
            if state.kind == "file" and state.sha256:
                needed.add(state.sha256)
        unused = [
            s.decode() for s in await self.client.hkeys(blobs_key) if s.decode() not in needed
        ]
        pipe = self.client.pipeline(transaction=True)
        pipe.hdel(turns_key, *[str(t) for t in doomed])
        if dropped:
            pipe.hdel(files_key, *dropped)
        if unused:
            pipe.hdel(blobs_key, *unused)
        await pipe.execute()

    async def drop_turns(self, thread_id: str, first_turn: int) -> None:
        turns_key, *_ = self._keys(thread_id)
        with self._guard("drop turns"):
            numbers = [int(t) for t in await self.client.hkeys(turns_key)]
            await self._forget(thread_id, [t for t in numbers if t >= first_turn])

    async def prune(self, thread_id: str, *, keep: int) -> list[int]:
        turns_key, *_ = self._keys(thread_id)
        with self._guard("prune turns"):
            numbers = sorted(int(t) for t in await self.client.hkeys(turns_key))
            old = numbers[: max(0, len(numbers) - keep)]
            await self._forget(thread_id, old)
        return old

    async def scan_baseline(self, thread_id: str) -> dict[str, ScanEntry]:
        *_, scan_key = self._keys(thread_id)
        with self._guard("read the scan"):
            raw = await self.client.hgetall(scan_key)
        return {k.decode(): scan_entry_from_json(v) for k, v in raw.items()}

    async def update_baseline(
        self,
        thread_id: str,
        entries: Mapping[str, ScanEntry | None],
        blobs: Mapping[str, bytes],
    ) -> None:
        _, _, blobs_key, scan_key = self._keys(thread_id)
        gone = [p for p, e in entries.items() if e is None]
        kept = {p: scan_entry_to_json(e) for p, e in entries.items() if e is not None}
        with self._guard("record the scan"):
            pipe = self.client.pipeline(transaction=True)
            if blobs:
                pipe.hset(blobs_key, mapping=dict(blobs))
            if gone:
                pipe.hdel(scan_key, *gone)
            if kept:
                pipe.hset(scan_key, mapping=kept)
            await pipe.execute()
            await self._expire(blobs_key, scan_key)

    async def delete_thread(self, thread_id: str) -> None:
        with self._guard("delete snapshots"):
            await self.client.delete(*self._keys(thread_id))
