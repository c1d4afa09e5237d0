"""The SQLite cache backend: one file in the data dir, shared by the processes of one machine.

sqlite3 calls block, so they run on one dedicated worker thread that owns the connection (a
point look-up costs tens of microseconds; the thread hop is what a hit mostly pays). WAL mode
lets several processes read while one writes. Bounds: expired rows are deleted on read and in
periodic sweeps; past ``max_entries`` the oldest stored rows go first (FIFO rather than LRU:
recording every read would turn each hit into a write).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

__all__ = ["SqliteCacheBackend"]

_T = TypeVar("_T")
_SWEEP_EVERY = 200  # writes between sweeps of expired and surplus rows
_SCHEMA = """
CREATE TABLE IF NOT EXISTS cache (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL,
    expires_at REAL NOT NULL,
    stored_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS cache_stored_at ON cache (stored_at);
"""


class SqliteCacheBackend:
    """A `CacheBackend` over one SQLite file.

    Args:
        path: the database file (its directory is created on first use).
        max_entries: rows kept at most (checked every few hundred writes).
        clock: wall-clock seconds (tests pass a fake to expire entries).
    """

    name = "sqlite"

    def __init__(
        self, path: Path, *, max_entries: int = 10_000, clock: Callable[[], float] = time.time
    ) -> None:
        self.path = path
        self._max_entries = max_entries
        self._clock = clock
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="luminamind-cache")
        self._conn: sqlite3.Connection | None = None
        self._writes = 0

    async def _run(self, func: Callable[..., _T], *args: object) -> _T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, func, *args)

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, timeout=5.0, isolation_level=None, check_same_thread=False
            )
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.executescript(_SCHEMA)
            except sqlite3.Error:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _get(self, key: str) -> bytes | None:
        db = self._db()
        row = db.execute("SELECT value, expires_at FROM cache WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        if row[1] <= self._clock():
            db.execute("DELETE FROM cache WHERE key = ?", (key,))
            return None
        return bytes(row[0])

    def _set(self, key: str, value: bytes, ttl_seconds: float) -> None:
        db = self._db()
        now = self._clock()
        db.execute(
            "INSERT OR REPLACE INTO cache (key, value, expires_at, stored_at) VALUES (?, ?, ?, ?)",
            (key, value, now + ttl_seconds, now),
        )
        self._writes += 1
        if self._writes % _SWEEP_EVERY == 1 or self._max_entries < _SWEEP_EVERY:
            self._sweep(db, now)

    def _sweep(self, db: sqlite3.Connection, now: float) -> None:
        db.execute("DELETE FROM cache WHERE expires_at <= ?", (now,))
        (count,) = db.execute("SELECT COUNT(*) FROM cache").fetchone()
        surplus = int(count) - self._max_entries
        if surplus > 0:
            db.execute(
                "DELETE FROM cache WHERE key IN (SELECT key FROM cache ORDER BY stored_at LIMIT ?)",
                (surplus,),
            )

    def _delete(self, key: str) -> None:
        self._db().execute("DELETE FROM cache WHERE key = ?", (key,))

    def _clear(self, prefix: str) -> None:
        # A range scan on the primary key instead of LIKE, which would treat '_' and '%' as
        # wildcards; chr(0x10FFFF) sorts after every character a key can contain.
        self._db().execute(
            "DELETE FROM cache WHERE key >= ? AND key < ?", (prefix, prefix + "\U0010ffff")
        )

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __len__(self) -> int:
        (count,) = self._pool.submit(
            lambda: self._db().execute("SELECT COUNT(*) FROM cache").fetchone()
        ).result()
        return int(count)

    async def aget(self, key: str) -> bytes | None:
        return await self._run(self._get, key)

    async def aset(self, key: str, value: bytes, *, ttl_seconds: float) -> None:
        await self._run(self._set, key, value, ttl_seconds)

    async def adelete(self, key: str) -> None:
        await self._run(self._delete, key)

    async def aclear(self, prefix: str) -> None:
        await self._run(self._clear, prefix)

    async def aclose(self) -> None:
        await self._run(self._close)
        self._pool.shutdown(wait=True)
