"""Key layout, record codecs and Lua scripts of the Redis checkpointer.

Every key of one thread carries the hash tag ``{<thread id>}``, so on Redis Cluster a thread lives
in one slot and its multi-key scripts never raise CROSSSLOT. A thread has five keys whatever its
size or number of namespaces (subgraphs and subagents add fields, not keys)::

    <prefix>:{<tid>}:cp     HASH  ns\\0cid          -> record (netstrings, below)
    <prefix>:{<tid>}:idx    ZSET  ns\\0cid, score 0 (lexical order = checkpoint-id order)
    <prefix>:{<tid>}:blob   HASH  ns\\0channel\\0ver -> type\\0bytes (one value per channel version)
    <prefix>:{<tid>}:wk     HASH  ns\\0cid\\0task\\0idx -> pending write (netstrings)
    <prefix>:{<tid>}:wz     ZSET  the wk fields, score 0 (a lexical range = one checkpoint's writes)
    <prefix>:threads        ZSET  thread id -> last write (ms); its own slot, read by list(None)

A record is ``netstrings(cp_type, cp_bytes, md_type, md_bytes, parent_id, ch1, ver1, ...)``: the
channel/version pairs let the GET script fetch the blobs in the same round trip. Netstrings
(``<len>:<bytes>``) are used because any byte may appear in a value and Lua parses them in a loop.
Identifiers (namespace, checkpoint id, task id, channel) must not contain NUL, the field separator.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from luminamind.errors import CheckpointError

__all__ = [
    "DELTA_SCRIPT",
    "GET_SCRIPT",
    "PRUNE_SCRIPT",
    "PUT_SCRIPT",
    "PUT_WRITES_SCRIPT",
    "ThreadKeys",
    "check_id",
    "join_netstrings",
    "pack_typed",
    "split_netstrings",
    "unpack_typed",
]

SEP = "\x00"
# Printable ASCII stays readable in keys; braces (the hash-tag delimiters), '%' (the escape) and
# everything else are percent-encoded, so a thread id can never end or split its own tag.
_TAG_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in "{}%")


def check_id(value: str, what: str) -> str:
    """Refuse identifiers containing NUL: it separates the parts of hash fields."""
    if SEP in value:
        raise CheckpointError(
            f"{what} {value!r} contains a NUL character, which Redis keys reserve"
        )
    return value


@dataclass(frozen=True)
class ThreadKeys:
    """The five keys of one thread (same hash slot) and the global thread index."""

    cp: str
    idx: str
    blob: str
    wk: str
    wz: str
    threads: str

    @classmethod
    def of(cls, prefix: str, thread_id: str) -> ThreadKeys:
        if not thread_id:
            raise CheckpointError("thread_id is empty; every Redis checkpoint needs a thread id")
        base = f"{prefix}:{{{quote(thread_id, safe=_TAG_SAFE)}}}"
        return cls(
            cp=f"{base}:cp",
            idx=f"{base}:idx",
            blob=f"{base}:blob",
            wk=f"{base}:wk",
            wz=f"{base}:wz",
            threads=f"{prefix}:threads",
        )

    @property
    def thread_keys(self) -> list[str]:
        """The keys of the thread itself, in the order the scripts expect them."""
        return [self.cp, self.idx, self.blob, self.wk, self.wz]


def join_netstrings(parts: list[bytes]) -> bytes:
    """``<len>:<bytes>`` for each part, concatenated."""
    return b"".join(b"%d:%s" % (len(p), p) for p in parts)


def split_netstrings(data: bytes) -> list[bytes]:
    """Inverse of `join_netstrings`; a malformed record is a `CheckpointError`."""
    out: list[bytes] = []
    pos = 0
    size = len(data)
    while pos < size:
        colon = data.find(b":", pos)
        if colon < 0:
            raise CheckpointError("a stored Redis checkpoint record is corrupt (bad length)")
        end = colon + 1 + int(data[pos:colon])
        if end > size:
            raise CheckpointError("a stored Redis checkpoint record is truncated")
        out.append(data[colon + 1 : end])
        pos = end
    return out


def pack_typed(typed: tuple[str, bytes]) -> bytes:
    """A serde ``(type, bytes)`` pair as one binary-safe string (types never contain NUL)."""
    return typed[0].encode("ascii") + b"\x00" + typed[1]


def unpack_typed(data: bytes) -> tuple[str, bytes]:
    """Inverse of `pack_typed`."""
    kind, _, payload = data.partition(b"\x00")
    return kind.decode("ascii"), payload


# Shared by the scripts that read records: split netstrings into a Lua table.
_LUA_SPLIT = """
local function split(s)
  local out, pos = {}, 1
  while pos <= #s do
    local colon = string.find(s, ':', pos, true)
    local n = tonumber(string.sub(s, pos, colon - 1))
    out[#out + 1] = string.sub(s, colon + 1, colon + n)
    pos = colon + n + 1
  end
  return out
end
"""

# Each script touches only KEYS of one thread (one slot); the thread index is passed as an extra
# key only on a single node, where one script may touch any key. TTLs are refreshed on the five
# thread keys together, so a thread in use never loses part of its history.
_LUA_TOUCH = """
local function touch(ttl)
  if ttl > 0 then
    for i = 1, 5 do redis.call('PEXPIRE', KEYS[i], ttl) end
  end
end
"""

# KEYS: cp idx blob wk wz [threads]; ARGV: field record ttl_ms thread_id now_ms [bfield bval]...
PUT_SCRIPT = (
    _LUA_TOUCH
    + """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
if #ARGV > 5 then
  redis.call('HSET', KEYS[3], unpack(ARGV, 6))
end
touch(tonumber(ARGV[3]))
if #KEYS > 5 then
  redis.call('ZADD', KEYS[6], tonumber(ARGV[5]), ARGV[4])
end
return 1
"""
)

# KEYS: cp idx blob wk wz; ARGV: upsert(0|1) ttl_ms [field value]...
# Regular writes are insert-if-absent (a retried task does not duplicate them); special channels
# (errors, interrupts) replace, as the SQLite and Postgres savers do.
PUT_WRITES_SCRIPT = (
    _LUA_TOUCH
    + """
local upsert = ARGV[1] == '1'
for i = 3, #ARGV, 2 do
  if upsert then
    redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 1])
  else
    redis.call('HSETNX', KEYS[4], ARGV[i], ARGV[i + 1])
  end
  redis.call('ZADD', KEYS[5], 0, ARGV[i])
end
touch(tonumber(ARGV[2]))
return 1
"""
)

# KEYS: cp idx blob wk wz; ARGV: ns cid ('' = the latest of ns).
# Returns {cid, record, {blob values}, {write values}} or nil, in one round trip.
GET_SCRIPT = (
    _LUA_SPLIT
    + """
local ns, cid = ARGV[1], ARGV[2]
if cid == '' then
  local top = redis.call('ZREVRANGEBYLEX', KEYS[2], '(' .. ns .. '\\1', '[' .. ns .. '\\0',
                         'LIMIT', 0, 1)
  if #top == 0 then return false end
  cid = string.sub(top[1], #ns + 2)
end
local field = ns .. '\\0' .. cid
local rec = redis.call('HGET', KEYS[1], field)
if not rec then return false end
local parts = split(rec)
local bfields = {}
for i = 6, #parts, 2 do
  bfields[#bfields + 1] = ns .. '\\0' .. parts[i] .. '\\0' .. parts[i + 1]
end
local blobs = {}
if #bfields > 0 then blobs = redis.call('HMGET', KEYS[3], unpack(bfields)) end
local wfields = redis.call('ZRANGEBYLEX', KEYS[5], '[' .. field .. '\\0', '(' .. field .. '\\1')
local writes = {}
if #wfields > 0 then writes = redis.call('HMGET', KEYS[4], unpack(wfields)) end
return {cid, rec, blobs, writes}
"""
)

# KEYS: cp idx blob wk wz; ARGV: ns cid ('' = the latest of ns) channel...
# The history a `DeltaChannel` replays, in one round trip: walks the parent chain from the
# checkpoint's parent and returns {steps, seeds}: steps[i] = every pending write of the i-th
# ancestor (newest first), seeds = {i, channel, blob}... for each channel's nearest ancestor whose
# stored value is not empty; the walk stops once every channel has one, or at the root.
DELTA_SCRIPT = (
    _LUA_SPLIT
    + """
local ns, cid = ARGV[1], ARGV[2]
if cid == '' then
  local top = redis.call('ZREVRANGEBYLEX', KEYS[2], '(' .. ns .. '\\1', '[' .. ns .. '\\0',
                         'LIMIT', 0, 1)
  if #top == 0 then return false end
  cid = string.sub(top[1], #ns + 2)
end
local rec = redis.call('HGET', KEYS[1], ns .. '\\0' .. cid)
if not rec then return false end
local want, left = {}, 0
for i = 3, #ARGV do
  if not want[ARGV[i]] then want[ARGV[i]] = true; left = left + 1 end
end
local parent = split(rec)[5]
local steps, seeds = {}, {}
while parent ~= '' and left > 0 do
  local field = ns .. '\\0' .. parent
  rec = redis.call('HGET', KEYS[1], field)
  if not rec then break end
  local parts = split(rec)
  local wfields = redis.call('ZRANGEBYLEX', KEYS[5], '[' .. field .. '\\0', '(' .. field .. '\\1')
  local writes = {}
  if #wfields > 0 then writes = redis.call('HMGET', KEYS[4], unpack(wfields)) end
  steps[#steps + 1] = writes
  for i = 6, #parts, 2 do
    local ch = parts[i]
    if want[ch] then
      local blob = redis.call('HGET', KEYS[3], ns .. '\\0' .. ch .. '\\0' .. parts[i + 1])
      if blob and string.sub(blob, 1, 6) ~= 'empty\\0' then
        seeds[#seeds + 1] = #steps
        seeds[#seeds + 1] = ch
        seeds[#seeds + 1] = blob
        want[ch] = nil
        left = left - 1
      end
    end
  end
  parent = parts[5]
end
return {steps, seeds}
"""
)

# KEYS: cp idx blob wk wz. Keeps the newest checkpoint of every namespace, the blobs it refers to
# and its pending writes; atomic, so a concurrent put is either fully kept or not yet there.
PRUNE_SCRIPT = (
    _LUA_SPLIT
    + """
local members = redis.call('ZRANGE', KEYS[2], 0, -1)
local latest = {}
for _, m in ipairs(members) do
  local z = string.find(m, '\\0', 1, true)
  latest[string.sub(m, 1, z - 1)] = m
end
local keep, keepblob = {}, {}
for ns, m in pairs(latest) do
  keep[m] = true
  local rec = redis.call('HGET', KEYS[1], m)
  if rec then
    local parts = split(rec)
    for i = 6, #parts, 2 do keepblob[ns .. '\\0' .. parts[i] .. '\\0' .. parts[i + 1]] = true end
  end
end
local removed = 0
for _, m in ipairs(members) do
  if not keep[m] then
    redis.call('HDEL', KEYS[1], m)
    redis.call('ZREM', KEYS[2], m)
    removed = removed + 1
  end
end
for _, f in ipairs(redis.call('HKEYS', KEYS[3])) do
  if not keepblob[f] then redis.call('HDEL', KEYS[3], f) end
end
for _, w in ipairs(redis.call('ZRANGE', KEYS[5], 0, -1)) do
  local a = string.find(w, '\\0', 1, true)
  local b = string.find(w, '\\0', a + 1, true)
  if not keep[string.sub(w, 1, b - 1)] then
    redis.call('HDEL', KEYS[4], w)
    redis.call('ZREM', KEYS[5], w)
  end
end
return removed
"""
)
