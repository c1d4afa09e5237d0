"""File snapshots in SQLite: ``data_dir/snapshots.sqlite``, beside the checkpoints.

One short transaction per call, in a worker thread, on a connection of its own (as the thread
store does), so the CLI, the MCP server and the language server share the file. WAL with
``synchronous=NORMAL``: a commit is not fsynced (the checkpointer's own commits are), which keeps
recording a turn's files within a few milliseconds; a power cut can lose the last records, never
corrupt the file. The ``memory`` state backend uses the same code on a shared in-memory database.
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from luminamind.errors import CheckpointError
from luminamind.state.snapshots.records import (
    FileRecord,
    ScanEntry,
    TurnRecord,
    file_record_from_json,
    file_record_to_json,
    scan_entry_from_json,
    scan_entry_to_json,
)

__all__ = ["SNAPSHOT_FILE", "SqliteSnapshotStore"]

SNAPSHOT_FILE = "snapshots.sqlite"
_T = TypeVar("_T")
_memory_ids = itertools.count()

_SCHEMA = """
CREATE TABLE IF NOT EXISTS turns (
    thread_id TEXT NOT NULL,
    turn INTEGER NOT NULL,
    checkpoint_id TEXT,
    message TEXT NOT NULL,
    started_at TEXT NOT NULL,
    PRIMARY KEY (thread_id, turn)
);
CREATE TABLE IF NOT EXISTS files (
    thread_id TEXT NOT NULL,
    turn INTEGER NOT NULL,
    path TEXT NOT NULL,
    record TEXT NOT NULL,
    before_sha TEXT,
    PRIMARY KEY (thread_id, turn, path)
);
CREATE TABLE IF NOT EXISTS blobs (
    thread_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (thread_id, sha256)
);
CREATE TABLE IF NOT EXISTS scan (
    thread_id TEXT NOT NULL,
    path TEXT NOT NULL,
    entry TEXT NOT NULL,
    sha256 TEXT,
    PRIMARY KEY (thread_id, path)
);
"""

# Content no record's ``before`` and no scan entry needs any more.
_COLLECT = """
DELETE FROM blobs WHERE thread_id = ?1 AND sha256 NOT IN (
    SELECT before_sha FROM files WHERE thread_id = ?1 AND before_sha IS NOT NULL
    UNION SELECT sha256 FROM scan WHERE thread_id = ?1 AND sha256 IS NOT NULL)
"""


class SqliteSnapshotStore:
    """The `SnapshotStore` protocol on SQLite.

    Args:
        path: the database file, or None for a private in-memory database (``memory`` backend).
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._keepalive: sqlite3.Connection | None = None
        # One connection, one transaction at a time inside the process (opening a connection
        # per call cost a third of a turn's recording); other processes wait on SQLite's lock.
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        if path is None:
            # A named shared-cache memory database lives while one connection holds it open.
            self._target = f"file:luminamind-snapshots-{next(_memory_ids)}?mode=memory&cache=shared"
            self._uri = True
        else:
            self._target, self._uri = str(path), False
        try:
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            conn = self._connect()
            if path is None:
                self._keepalive = conn
            else:
                conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)
            if path is not None:
                conn.close()
        except (OSError, sqlite3.Error) as exc:
            raise CheckpointError(f"cannot open the snapshot database {self._name}: {exc}") from exc

    @property
    def _name(self) -> str:
        return str(self.path) if self.path is not None else "(memory)"

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self._target, timeout=5.0, uri=self._uri, check_same_thread=False, isolation_level=None
        )
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    async def _run(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        def work() -> _T:
            with self._lock:
                if self._conn is None:
                    self._conn = self._connect()
                conn = self._conn
                # IMMEDIATE: take the write lock up front. A deferred transaction that reads and
                # then writes cannot wait for another writer (SQLite reports "locked" at once).
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = fn(conn)
                except BaseException:
                    conn.rollback()
                    raise
                conn.commit()
                return result

        try:
            return await asyncio.to_thread(work)
        except sqlite3.Error as exc:
            raise CheckpointError(f"snapshot database {self._name}: {exc}") from exc

    async def begin_turn(self, thread_id: str, *, checkpoint_id: str | None, message: str) -> int:
        started = datetime.now(UTC).isoformat()

        def op(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "SELECT COALESCE(MAX(turn), 0) FROM turns WHERE thread_id = ?", (thread_id,)
            ).fetchone()
            turn = int(row[0]) + 1
            conn.execute(
                "INSERT INTO turns (thread_id, turn, checkpoint_id, message, started_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (thread_id, turn, checkpoint_id, message, started),
            )
            return turn

        return await self._run(op)

    async def latest_turn(self, thread_id: str) -> int | None:
        def op(conn: sqlite3.Connection) -> int | None:
            row = conn.execute(
                "SELECT MAX(turn) FROM turns WHERE thread_id = ?", (thread_id,)
            ).fetchone()
            return int(row[0]) if row and row[0] is not None else None

        return await self._run(op)

    async def record(
        self,
        thread_id: str,
        turn: int | None,
        files: Sequence[FileRecord],
        blobs: Mapping[str, bytes],
    ) -> int | None:
        def op(conn: sqlite3.Connection) -> int | None:
            number = turn
            if number is None:
                row = conn.execute(
                    "SELECT MAX(turn) FROM turns WHERE thread_id = ?", (thread_id,)
                ).fetchone()
                if not row or row[0] is None:
                    return None  # not an agent turn (a tool called outside a run)
                number = int(row[0])
            _put_blobs(conn, thread_id, blobs)
            for record in files:
                row = conn.execute(
                    "SELECT record FROM files WHERE thread_id = ? AND turn = ? AND path = ?",
                    (thread_id, number, record.path),
                ).fetchone()
                if row is not None:  # the turn changed it before: keep what it was before that
                    first = file_record_from_json(row[0])
                    record = FileRecord(record.path, first.tool, first.before, record.after)
                conn.execute(
                    "INSERT OR REPLACE INTO files (thread_id, turn, path, record, before_sha) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (
                        thread_id,
                        number,
                        record.path,
                        file_record_to_json(record),
                        record.before.sha256 if record.before.kind == "file" else None,
                    ),
                )
            return number

        return await self._run(op)

    async def turns(self, thread_id: str) -> list[TurnRecord]:
        def op(conn: sqlite3.Connection) -> list[TurnRecord]:
            files: dict[int, list[FileRecord]] = {}
            for turn, text in conn.execute(
                "SELECT turn, record FROM files WHERE thread_id = ? ORDER BY turn, path",
                (thread_id,),
            ):
                files.setdefault(int(turn), []).append(file_record_from_json(text))
            return [
                TurnRecord(
                    turn=int(turn),
                    checkpoint_id=checkpoint_id,
                    message=message,
                    started_at=datetime.fromisoformat(started),
                    files=tuple(files.get(int(turn), ())),
                )
                for turn, checkpoint_id, message, started in conn.execute(
                    "SELECT turn, checkpoint_id, message, started_at FROM turns "
                    "WHERE thread_id = ? ORDER BY turn",
                    (thread_id,),
                )
            ]

        return await self._run(op)

    async def blobs(self, thread_id: str, shas: Iterable[str]) -> dict[str, bytes]:
        wanted = sorted(set(shas))

        def op(conn: sqlite3.Connection) -> dict[str, bytes]:
            found: dict[str, bytes] = {}
            for start in range(0, len(wanted), 500):  # SQLite's bound-parameter limit
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for sha, data in conn.execute(
                    f"SELECT sha256, data FROM blobs WHERE thread_id = ? AND sha256 IN ({marks})",  # noqa: S608  # placeholders only
                    (thread_id, *chunk),
                ):
                    found[sha] = bytes(data)
            return found

        return await self._run(op)

    async def drop_turns(self, thread_id: str, first_turn: int) -> None:
        def op(conn: sqlite3.Connection) -> None:
            conn.execute(
                "DELETE FROM turns WHERE thread_id = ? AND turn >= ?", (thread_id, first_turn)
            )
            conn.execute(
                "DELETE FROM files WHERE thread_id = ? AND turn >= ?", (thread_id, first_turn)
            )
            conn.execute(_COLLECT, (thread_id,))

        await self._run(op)

    async def prune(self, thread_id: str, *, keep: int) -> list[int]:
        def op(conn: sqlite3.Connection) -> list[int]:
            rows = conn.execute(
                "SELECT turn FROM turns WHERE thread_id = ? ORDER BY turn DESC LIMIT -1 OFFSET ?",
                (thread_id, keep),
            ).fetchall()
            old = [int(r[0]) for r in rows]
            if old:
                last = max(old)
                conn.execute(
                    "DELETE FROM turns WHERE thread_id = ? AND turn <= ?", (thread_id, last)
                )
                conn.execute(
                    "DELETE FROM files WHERE thread_id = ? AND turn <= ?", (thread_id, last)
                )
                conn.execute(_COLLECT, (thread_id,))
            return sorted(old)

        return await self._run(op)

    async def scan_baseline(self, thread_id: str) -> dict[str, ScanEntry]:
        def op(conn: sqlite3.Connection) -> dict[str, ScanEntry]:
            return {
                path: scan_entry_from_json(entry)
                for path, entry in conn.execute(
                    "SELECT path, entry FROM scan WHERE thread_id = ?", (thread_id,)
                )
            }

        return await self._run(op)

    async def update_baseline(
        self,
        thread_id: str,
        entries: Mapping[str, ScanEntry | None],
        blobs: Mapping[str, bytes],
    ) -> None:
        def op(conn: sqlite3.Connection) -> None:
            _put_blobs(conn, thread_id, blobs)
            gone = [(thread_id, p) for p, e in entries.items() if e is None]
            conn.executemany("DELETE FROM scan WHERE thread_id = ? AND path = ?", gone)
            conn.executemany(
                "INSERT OR REPLACE INTO scan (thread_id, path, entry, sha256) VALUES (?, ?, ?, ?)",
                [
                    (
                        thread_id,
                        path,
                        scan_entry_to_json(entry),
                        entry.state.sha256 if entry.state.kind == "file" else None,
                    )
                    for path, entry in entries.items()
                    if entry is not None
                ],
            )

        await self._run(op)

    async def delete_thread(self, thread_id: str) -> None:
        def op(conn: sqlite3.Connection) -> None:
            for table in ("turns", "files", "blobs", "scan"):
                conn.execute(f"DELETE FROM {table} WHERE thread_id = ?", (thread_id,))  # noqa: S608  # fixed names

        await self._run(op)

    async def aclose(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
        if self._keepalive is not None:
            self._keepalive.close()
            self._keepalive = None


def _put_blobs(conn: sqlite3.Connection, thread_id: str, blobs: Mapping[str, bytes]) -> None:
    conn.executemany(
        "INSERT OR IGNORE INTO blobs (thread_id, sha256, data) VALUES (?, ?, ?)",
        [(thread_id, sha, data) for sha, data in blobs.items()],
    )
