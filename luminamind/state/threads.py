"""Thread metadata shared by every surface: title, surface, workspace, times, status.

The checkpointer holds a thread's messages; this store holds what a thread *is*, so
``luminamind threads`` lists the threads of the CLI, the MCP server and the language server
without loading any of them. SQLite (``data_dir/threads.sqlite``, WAL, one short transaction
per call in a worker thread) by default; memory for the ``memory`` state backend.

WAL with ``synchronous=NORMAL``, as the checkpointer and the snapshot store: a commit survives
the process being killed, and only a power cut or an OS crash can roll back the last few, never
corrupt the file. SQLite's default (FULL) fsynced every commit: a run writes the thread's status
before its first model call, and that fsync was the largest and most variable part of sending a
message to a 1,000-message thread (3 to 30 ms on a busy disk; bench/agent_overhead.py).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, TypeVar

from luminamind.errors import CheckpointError, ThreadNotFoundError
from luminamind.state.records import ThreadInfo, ThreadStatus
from luminamind.state.run_lease import RunOwner
from luminamind.surfaces import Surface

__all__ = [
    "MemoryThreadStore",
    "SqliteThreadStore",
    "ThreadStatus",
    "ThreadStore",
    "require_thread",
    "title_from",
]

_T = TypeVar("_T")
_TITLE_CHARS = 80


def title_from(message: str) -> str:
    """A thread title: the first line of its first message, shortened."""
    line = next((ln.strip() for ln in message.splitlines() if ln.strip()), "") or "(untitled)"
    return line if len(line) <= _TITLE_CHARS else line[: _TITLE_CHARS - 1] + "…"


def _now() -> datetime:
    return datetime.now(UTC)


def require_thread(thread_id: str, found: ThreadInfo | None) -> ThreadInfo:
    """``found``, or the `ThreadNotFoundError` every store's ``get`` raises."""
    if found is None:
        raise ThreadNotFoundError(f"no thread '{thread_id}'; see `luminamind threads`")
    return found


class ThreadStore(Protocol):
    """Where thread metadata lives."""

    async def create(
        self, thread_id: str, *, title: str, surface: Surface, workspace: str
    ) -> ThreadInfo:
        """Record a new thread (an existing one is returned unchanged)."""
        ...

    async def get(self, thread_id: str) -> ThreadInfo:
        """The thread, or `ThreadNotFoundError`."""
        ...

    async def find(self, thread_id: str) -> ThreadInfo | None:
        """The thread, or None."""
        ...

    async def list(self) -> list[ThreadInfo]:
        """Every thread, most recently updated first."""
        ...

    async def set_status(self, thread_id: str, status: ThreadStatus) -> None:
        """Change the status and touch the thread."""
        ...

    async def delete(self, thread_id: str) -> bool:
        """Forget the thread; False if it did not exist."""
        ...

    async def start_run(self, thread_id: str, owner: str) -> None:
        """Mark the thread ``running`` by ``owner`` (``host:pid``), heartbeat now."""
        ...

    async def beat_run(self, thread_id: str, owner: str) -> None:
        """Renew the heartbeat, only while the thread is still running for ``owner``."""
        ...

    async def run_owner(self, thread_id: str) -> RunOwner | None:
        """Who marked the thread running and when it last beat; None when not running.

        Whether that process is still alive is `luminamind.state.run_lease.stale_reason`'s call.
        """
        ...

    async def approve_all(self, thread_id: str) -> bool:
        """Whether every approval of this thread is given in advance."""
        ...

    async def set_approve_all(self, thread_id: str, value: bool) -> None:
        """Turn approve-all on or off for the thread."""
        ...


class MemoryThreadStore:
    """Threads in a dict (tests, the memory backend)."""

    def __init__(self) -> None:
        self._threads: dict[str, ThreadInfo] = {}
        self._approve_all: set[str] = set()
        self._owners: dict[str, tuple[str, datetime]] = {}

    async def create(
        self, thread_id: str, *, title: str, surface: Surface, workspace: str
    ) -> ThreadInfo:
        if thread_id not in self._threads:
            now = _now()
            self._threads[thread_id] = ThreadInfo(
                thread_id=thread_id,
                title=title,
                surface=surface,
                workspace=workspace,
                created_at=now,
                updated_at=now,
            )
        return self._threads[thread_id]

    async def get(self, thread_id: str) -> ThreadInfo:
        return require_thread(thread_id, await self.find(thread_id))

    async def find(self, thread_id: str) -> ThreadInfo | None:
        return self._threads.get(thread_id)

    async def list(self) -> list[ThreadInfo]:
        return sorted(self._threads.values(), key=lambda t: t.updated_at, reverse=True)

    async def set_status(self, thread_id: str, status: ThreadStatus) -> None:
        info = self._threads.get(thread_id)
        if info is not None:
            self._threads[thread_id] = info.model_copy(
                update={"status": status, "updated_at": _now()}
            )

    async def delete(self, thread_id: str) -> bool:
        self._approve_all.discard(thread_id)
        self._owners.pop(thread_id, None)
        return self._threads.pop(thread_id, None) is not None

    async def start_run(self, thread_id: str, owner: str) -> None:
        if thread_id in self._threads:
            await self.set_status(thread_id, "running")
            self._owners[thread_id] = (owner, _now())

    async def beat_run(self, thread_id: str, owner: str) -> None:
        info = self._threads.get(thread_id)
        held = self._owners.get(thread_id)
        if info is not None and info.status == "running" and held and held[0] == owner:
            self._owners[thread_id] = (owner, _now())

    async def run_owner(self, thread_id: str) -> RunOwner | None:
        info = self._threads.get(thread_id)
        held = self._owners.get(thread_id)
        if info is None or info.status != "running" or held is None:
            return None
        return RunOwner.parse(held[0], held[1].isoformat())

    async def approve_all(self, thread_id: str) -> bool:
        return thread_id in self._approve_all

    async def set_approve_all(self, thread_id: str, value: bool) -> None:
        if value:
            self._approve_all.add(thread_id)
        else:
            self._approve_all.discard(thread_id)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS threads (
    thread_id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    surface TEXT NOT NULL,
    workspace TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'idle',
    approve_all INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS threads_updated ON threads(updated_at);
"""
# Added after the first release: databases made before get them on open.
_ADDED_COLUMNS = {"run_owner": "TEXT", "run_beat": "TEXT"}
_COLUMNS = "thread_id, title, surface, workspace, created_at, updated_at, status"


class SqliteThreadStore:
    """Threads in a SQLite file shared by every LuminaMind process of the user."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as conn:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(_SCHEMA)
                _add_columns(conn)
        except (OSError, sqlite3.Error) as exc:
            raise CheckpointError(f"cannot open the thread database {path}: {exc}") from exc

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=5.0)
        conn.execute("PRAGMA synchronous=NORMAL")  # per connection; see the module docstring
        return conn

    async def _run(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        def work() -> _T:
            conn = self._connect()
            try:
                with conn:
                    return fn(conn)
            finally:
                conn.close()

        try:
            return await asyncio.to_thread(work)
        except sqlite3.Error as exc:
            raise CheckpointError(f"thread database {self.path}: {exc}") from exc

    @staticmethod
    def _info(row: tuple[str, str, str, str, str, str, str]) -> ThreadInfo:
        return ThreadInfo(
            thread_id=row[0],
            title=row[1],
            surface=row[2],
            workspace=row[3],
            created_at=datetime.fromisoformat(row[4]),
            updated_at=datetime.fromisoformat(row[5]),
            status=row[6],  # pydantic checks it is a ThreadStatus
        )

    async def create(
        self, thread_id: str, *, title: str, surface: Surface, workspace: str
    ) -> ThreadInfo:
        now = _now().isoformat()

        def op(conn: sqlite3.Connection) -> ThreadInfo | None:
            conn.execute(
                "INSERT OR IGNORE INTO threads (thread_id, title, surface, workspace, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                (thread_id, title, surface, workspace, now, now),
            )
            return self._find(conn, thread_id)

        # One transaction and one trip to the worker thread: every run starts with this call.
        return require_thread(thread_id, await self._run(op))

    async def get(self, thread_id: str) -> ThreadInfo:
        return require_thread(thread_id, await self.find(thread_id))

    async def find(self, thread_id: str) -> ThreadInfo | None:
        return await self._run(lambda conn: self._find(conn, thread_id))

    def _find(self, conn: sqlite3.Connection, thread_id: str) -> ThreadInfo | None:
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM threads WHERE thread_id = ?",  # noqa: S608  # constant
            (thread_id,),
        ).fetchone()
        return self._info(row) if row else None

    async def list(self) -> list[ThreadInfo]:
        def op(conn: sqlite3.Connection) -> list[ThreadInfo]:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM threads ORDER BY updated_at DESC"  # noqa: S608
            ).fetchall()
            return [self._info(r) for r in rows]

        return await self._run(op)

    async def set_status(self, thread_id: str, status: ThreadStatus) -> None:
        now = _now().isoformat()

        def op(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE threads SET status = ?, updated_at = ? WHERE thread_id = ?",
                (status, now, thread_id),
            )

        await self._run(op)

    async def delete(self, thread_id: str) -> bool:
        def op(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute("DELETE FROM threads WHERE thread_id = ?", (thread_id,))
            return cursor.rowcount > 0

        return await self._run(op)

    async def start_run(self, thread_id: str, owner: str) -> None:
        now = _now().isoformat()

        def op(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE threads SET status = 'running', run_owner = ?, run_beat = ?, "
                "updated_at = ? WHERE thread_id = ?",
                (owner, now, now, thread_id),
            )

        await self._run(op)

    async def beat_run(self, thread_id: str, owner: str) -> None:
        now = _now().isoformat()

        def op(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE threads SET run_beat = ? WHERE thread_id = ? AND status = 'running' "
                "AND run_owner = ?",
                (now, thread_id, owner),
            )

        await self._run(op)

    async def run_owner(self, thread_id: str) -> RunOwner | None:
        def op(conn: sqlite3.Connection) -> tuple[str | None, str | None] | None:
            row: tuple[str | None, str | None] | None = conn.execute(
                "SELECT run_owner, run_beat FROM threads WHERE thread_id = ? "
                "AND status = 'running'",
                (thread_id,),
            ).fetchone()
            return row

        row = await self._run(op)
        if row is None or row[0] is None or row[1] is None:
            return None
        return RunOwner.parse(row[0], row[1])

    async def approve_all(self, thread_id: str) -> bool:
        def op(conn: sqlite3.Connection) -> bool:
            row = conn.execute(
                "SELECT approve_all FROM threads WHERE thread_id = ?", (thread_id,)
            ).fetchone()
            return bool(row and row[0])

        return await self._run(op)

    async def set_approve_all(self, thread_id: str, value: bool) -> None:
        def op(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE threads SET approve_all = ? WHERE thread_id = ?",
                (int(value), thread_id),
            )

        await self._run(op)


def _add_columns(conn: sqlite3.Connection) -> None:
    """Add the columns a database made by an earlier version lacks (another process may race)."""
    have = {row[1] for row in conn.execute("PRAGMA table_info(threads)")}
    for name, kind in _ADDED_COLUMNS.items():
        if name not in have:
            try:
                conn.execute(f"ALTER TABLE threads ADD COLUMN {name} {kind}")
            except sqlite3.OperationalError as exc:
                if "duplicate column" not in str(exc):
                    raise
