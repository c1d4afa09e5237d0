"""`RedisThreadStore`: thread metadata in Redis, for replicas that share their state there.

One hash per thread, ``<prefix>:{<thread id>}:info``, in the same slot as the thread's
checkpoints, plus an index sorted set ``<prefix>:thread-index`` (thread id -> last update, ms)
so ``threads()`` is one ZREVRANGE and one pipelined HGETALL per page, never a KEYS scan.
Creation and updates are small Lua scripts on the thread's hash: "create unless it exists" and
"update only if it exists" stay atomic when two replicas race. With a TTL
(``redis_ttl_seconds``) the hash expires with the thread's checkpoints; index entries whose hash
is gone are dropped when ``list`` meets them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import redis.exceptions

from luminamind.state.records import ThreadInfo, ThreadStatus
from luminamind.state.redis.conn import RedisClient, RedisOptions
from luminamind.state.redis.keys import ThreadKeys
from luminamind.state.redis.store import RedisStore
from luminamind.state.run_lease import RunOwner
from luminamind.state.threads import require_thread
from luminamind.surfaces import Surface

__all__ = ["RedisThreadStore"]

_PAGE = 200
_FIELDS = ("thread_id", "title", "surface", "workspace", "created_at", "updated_at", "status")

# KEYS: info; ARGV: ttl_ms field value ... -> {1 if created else 0, the hash as HGETALL gives it}.
# The hash comes back with the answer: every run starts here, one round trip instead of two.
_CREATE = """
local created = 0
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 2))
  if tonumber(ARGV[1]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
  created = 1
end
return {created, redis.call('HGETALL', KEYS[1])}
"""
# KEYS: info; ARGV: ttl_ms field value ... -> 1 if updated, 0 if there is no such thread.
_UPDATE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
if tonumber(ARGV[1]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return 1
"""
# KEYS: info; ARGV: owner beat -> renew the heartbeat only while running for that owner.
_BEAT = """
local held = redis.call('HMGET', KEYS[1], 'status', 'run_owner')
if held[1] ~= 'running' or held[2] ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'run_beat', ARGV[2])
return 1
"""


def _now() -> datetime:
    return datetime.now(UTC)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class RedisThreadStore(RedisStore):
    """The `luminamind.state.threads.ThreadStore` protocol on Redis (arguments: `RedisStore`)."""

    kind = "thread store"

    def __init__(
        self,
        options: RedisOptions,
        *,
        prefix: str = "lm",
        ttl_seconds: float | None = None,
        client: RedisClient | None = None,
    ) -> None:
        super().__init__(options, prefix=prefix, ttl_seconds=ttl_seconds, client=client)
        self._index = f"{prefix}:thread-index"
        self._create = self.client.register_script(_CREATE)
        self._update = self.client.register_script(_UPDATE)
        self._beat = self.client.register_script(_BEAT)

    def _key(self, thread_id: str) -> str:
        return ThreadKeys.of(self._prefix, thread_id).cp.removesuffix(":cp") + ":info"

    @staticmethod
    def _info(raw: Mapping[bytes, bytes]) -> ThreadInfo | None:
        data = {k.decode(): v.decode() for k, v in raw.items()}
        if not all(field in data for field in _FIELDS):
            return None  # expired or half-deleted between two commands
        return ThreadInfo.model_validate({field: data[field] for field in _FIELDS})

    async def create(
        self, thread_id: str, *, title: str, surface: Surface, workspace: str
    ) -> ThreadInfo:
        now = _now()
        fields = {
            "thread_id": thread_id,
            "title": title,
            "surface": surface,
            "workspace": workspace,
            "created_at": now.isoformat(),
            "updated_at": now.isoformat(),
            "status": "idle",
            "approve_all": "0",
        }
        args = [self._ttl_ms, *(x for pair in fields.items() for x in pair)]
        with self._guard("create a thread"):
            created, flat = await self._create([self._key(thread_id)], args)
            if created:
                # Not in the script: the index is in another cluster slot than the thread.
                await self.client.zadd(self._index, {thread_id: _ms(now)})
        raw = dict(zip(flat[::2], flat[1::2], strict=True))
        return require_thread(thread_id, self._info(raw) if raw else None)

    async def get(self, thread_id: str) -> ThreadInfo:
        return require_thread(thread_id, await self.find(thread_id))

    async def find(self, thread_id: str) -> ThreadInfo | None:
        with self._guard("read a thread"):
            raw = await self.client.hgetall(self._key(thread_id))
        return self._info(raw) if raw else None

    async def list(self) -> list[ThreadInfo]:
        found: list[ThreadInfo] = []
        with self._guard("list threads"):
            ids = [t.decode() for t in await self.client.zrevrange(self._index, 0, -1)]
            for start in range(0, len(ids), _PAGE):
                page = ids[start : start + _PAGE]
                pipe = self.client.pipeline(transaction=False)
                for thread_id in page:
                    pipe.hgetall(self._key(thread_id))
                gone = []
                for thread_id, raw in zip(page, await pipe.execute(), strict=True):
                    info = self._info(raw) if raw else None
                    if info is None:
                        gone.append(thread_id)
                    else:
                        found.append(info)
                if gone:  # expired under the TTL or deleted by another replica
                    await self.client.zrem(self._index, *gone)
        found.sort(key=lambda t: t.updated_at, reverse=True)
        return found

    async def _set(self, thread_id: str, operation: str, fields: dict[str, str]) -> bool:
        args = [self._ttl_ms, *(x for pair in fields.items() for x in pair)]
        with self._guard(operation):
            return bool(await self._update([self._key(thread_id)], args))

    async def _set_and_index(self, thread_id: str, fields: dict[str, str], now: datetime) -> None:
        """Update the thread's hash and move it up the index, in one round trip.

        Every run does this twice (running, then its outcome). The two commands go in one
        pipeline, not one script: the index lives in another cluster slot than the thread. The
        index update (``XX``) only moves an entry that is there, so sending it whether or not
        the thread exists changes nothing a missing thread would not (``list`` drops entries
        whose hash is gone).
        """
        key = self._key(thread_id)
        args = [self._ttl_ms, *(x for pair in fields.items() for x in pair)]
        with self._guard("update a thread"):
            pipe = self.client.pipeline(transaction=False)
            pipe.evalsha(self._update.sha, 1, key, *args)
            pipe.zadd(self._index, {thread_id: _ms(now)}, xx=True)
            updated, indexed = await pipe.execute(raise_on_error=False)
            if isinstance(indexed, Exception):
                raise indexed
            if isinstance(updated, redis.exceptions.NoScriptError):
                # The server lost its scripts (a restart, a failover): the script object loads
                # it again.
                await self._update([key], args)
            elif isinstance(updated, Exception):
                raise updated

    async def set_status(self, thread_id: str, status: ThreadStatus) -> None:
        now = _now()
        await self._set_and_index(thread_id, {"status": status, "updated_at": now.isoformat()}, now)

    async def delete(self, thread_id: str) -> bool:
        with self._guard("delete a thread"):
            removed = await self.client.delete(self._key(thread_id))
            await self.client.zrem(self._index, thread_id)
        return bool(removed)

    async def start_run(self, thread_id: str, owner: str) -> None:
        now = _now()
        fields = {
            "status": "running",
            "run_owner": owner,
            "run_beat": now.isoformat(),
            "updated_at": now.isoformat(),
        }
        await self._set_and_index(thread_id, fields, now)

    async def beat_run(self, thread_id: str, owner: str) -> None:
        with self._guard("renew a run's heartbeat"):
            await self._beat([self._key(thread_id)], [owner, _now().isoformat()])

    async def run_owner(self, thread_id: str) -> RunOwner | None:
        with self._guard("read a thread"):
            status, owner, beat = await self.client.hmget(
                self._key(thread_id), ["status", "run_owner", "run_beat"]
            )
        if status != b"running" or owner is None or beat is None:
            return None
        return RunOwner.parse(owner.decode(), beat.decode())

    async def approve_all(self, thread_id: str) -> bool:
        with self._guard("read a thread"):
            value = await self.client.hget(self._key(thread_id), "approve_all")
        return bool(value == b"1")

    async def set_approve_all(self, thread_id: str, value: bool) -> None:
        await self._set(thread_id, "update a thread", {"approve_all": "1" if value else "0"})
