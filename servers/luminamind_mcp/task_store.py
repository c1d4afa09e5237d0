"""Where MCP task records live: the checkpointer's backend, so a task outlives its connection.

A task record (`TaskRecord`) is small: the task's status, who created it (the MCP session id
and the auth principal), the thread it runs, and, once it ends, the tool result to hand back
with ``tasks/result``. The run itself is a run of a thread (`luminamind.agent.runs`); its
messages and checkpoints live in the checkpointer as usual.

Three stores, picked like the checkpointer (`open_task_store`):

- `MemoryTaskStore` (``state_backend = "memory"``, tests): nothing survives the process.
- `SqliteTaskStore`: ``data_dir/mcp_tasks.sqlite``, one row per task with its expiry.
- `RedisTaskStore` (``LUMINAMIND_REDIS_URL``): a key per task with the task's TTL and a sorted
  set per principal to list them, so another replica (or this one after a restart) finds it.

Expired records are never returned: a task is gone ``ttl`` after its creation, as the
specification allows.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, Protocol

import anyio
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR
from pydantic import BaseModel

from luminamind.config import Settings

__all__ = [
    "MemoryTaskStore",
    "RedisTaskStore",
    "SqliteTaskStore",
    "TaskRecord",
    "TaskStore",
    "open_task_store",
]

TASKS_FILE = "mcp_tasks.sqlite"
TaskStatus = Literal["working", "input_required", "completed", "failed", "cancelled"]
TERMINAL: frozenset[str] = frozenset({"completed", "failed", "cancelled"})


class TaskRecord(BaseModel):
    """One task as stored.

    Attributes:
        task_id: the receiver-generated id (random, unguessable).
        principal: who may reach it once its session is gone (a token hash, ``stdio`` or
            ``anonymous``).
        session_id: the MCP session that created it.
        tool: ``run_task`` or ``resume_task``.
        thread_id: the agent thread the task runs (known once the run started).
        status: the task's status (`TERMINAL` ones never change again).
        status_message: what the task waits on or how it ended, for the user.
        created_at / updated_at: seconds since the epoch.
        ttl_ms: how long after creation the record is kept.
        result: the ``CallToolResult`` (wire JSON) once the run ended or paused.
    """

    task_id: str
    principal: str
    session_id: str
    tool: str
    thread_id: str | None = None
    status: TaskStatus = "working"
    status_message: str | None = None
    created_at: float
    updated_at: float
    ttl_ms: int
    result: dict[str, Any] | None = None  # Any: CallToolResult as JSON

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def expires_at(self) -> float:
        return self.created_at + self.ttl_ms / 1000


class TaskStore(Protocol):
    """Task records by id and by principal."""

    async def put(self, record: TaskRecord) -> None:
        """Create or replace ``record`` (kept until its expiry)."""
        ...

    async def get(self, task_id: str) -> TaskRecord | None:
        """The record, or None when unknown or expired."""
        ...

    async def list(self, principal: str) -> list[TaskRecord]:
        """The principal's live records, oldest first."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


class MemoryTaskStore:
    """Records in this process (``state_backend = "memory"``)."""

    def __init__(self) -> None:
        self._records: dict[str, TaskRecord] = {}

    def _sweep(self) -> None:
        now = time.time()
        for task_id in [t for t, r in self._records.items() if r.expires_at <= now]:
            del self._records[task_id]

    async def put(self, record: TaskRecord) -> None:
        self._sweep()
        self._records[record.task_id] = record.model_copy()

    async def get(self, task_id: str) -> TaskRecord | None:
        self._sweep()
        record = self._records.get(task_id)
        return record.model_copy() if record is not None else None

    async def list(self, principal: str) -> list[TaskRecord]:
        self._sweep()
        found = [r.model_copy() for r in self._records.values() if r.principal == principal]
        return sorted(found, key=lambda r: r.created_at)

    async def aclose(self) -> None:
        return None


class SqliteTaskStore:
    """Records in ``data_dir/mcp_tasks.sqlite`` (the SQLite checkpointer's neighbour).

    The standard library's sqlite3 in a worker thread, a connection per call: a task is
    read or written a few times per poll interval, far below what matters here.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = anyio.Lock()
        self._ready = False

    def _connect(self) -> sqlite3.Connection:
        if not self._ready:
            self._path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self._path, timeout=10)
        if not self._ready:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS tasks (task_id TEXT PRIMARY KEY, principal TEXT NOT "
                "NULL, created REAL NOT NULL, expires REAL NOT NULL, record TEXT NOT NULL)"
            )
            db.execute("CREATE INDEX IF NOT EXISTS tasks_principal ON tasks (principal)")
            self._ready = True
        db.execute("DELETE FROM tasks WHERE expires <= ?", (time.time(),))
        return db

    async def _run(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        def work() -> list[tuple[Any, ...]]:
            db = self._connect()
            try:
                with db:
                    return db.execute(sql, args).fetchall()
            finally:
                db.close()

        async with self._lock:
            try:
                return await anyio.to_thread.run_sync(work)
            except (sqlite3.Error, OSError) as exc:
                raise MCPError(
                    code=INTERNAL_ERROR,
                    message=f"the task store {self._path} cannot be used ({exc}); check that "
                    "LUMINAMIND_DATA_DIR is a writable directory",
                ) from exc

    async def put(self, record: TaskRecord) -> None:
        await self._run(
            "INSERT OR REPLACE INTO tasks VALUES (?, ?, ?, ?, ?)",
            (
                record.task_id,
                record.principal,
                record.created_at,
                record.expires_at,
                record.model_dump_json(),
            ),
        )

    async def get(self, task_id: str) -> TaskRecord | None:
        rows = await self._run("SELECT record FROM tasks WHERE task_id = ?", (task_id,))
        return TaskRecord.model_validate_json(rows[0][0]) if rows else None

    async def list(self, principal: str) -> list[TaskRecord]:
        rows = await self._run(
            "SELECT record FROM tasks WHERE principal = ? ORDER BY created", (principal,)
        )
        return [TaskRecord.model_validate_json(row[0]) for row in rows]

    async def aclose(self) -> None:
        return None


class RedisTaskStore:
    """Records in Redis: ``<prefix>:mcp:task:<id>`` (expiring with the task) and a sorted set
    ``<prefix>:mcp:tasks:<principal>`` of ids by creation time, to list them.

    Keys are read one by one (no MGET) so a Redis Cluster, where they hash to different
    slots, works too.
    """

    def __init__(self, client: Any, *, prefix: str) -> None:  # Any: a redis-py asyncio client
        self._client = client
        self._prefix = prefix

    def _key(self, task_id: str) -> str:
        return f"{self._prefix}:mcp:task:{task_id}"

    def _index(self, principal: str) -> str:
        return f"{self._prefix}:mcp:tasks:{principal}"

    async def put(self, record: TaskRecord) -> None:
        ttl_ms = max(1, int((record.expires_at - time.time()) * 1000))
        index = self._index(record.principal)
        with _redis_errors():
            await self._client.set(self._key(record.task_id), record.model_dump_json(), px=ttl_ms)
            await self._client.zadd(index, {record.task_id: record.created_at})
            # The index lives as long as its newest task could.
            await self._client.pexpire(index, max(ttl_ms, record.ttl_ms))

    async def get(self, task_id: str) -> TaskRecord | None:
        with _redis_errors():
            raw = await self._client.get(self._key(task_id))
        return TaskRecord.model_validate_json(raw) if raw is not None else None

    async def list(self, principal: str) -> list[TaskRecord]:
        index = self._index(principal)
        with _redis_errors():
            ids = await self._client.zrange(index, 0, -1)
        records: list[TaskRecord] = []
        gone: list[Any] = []
        for raw_id in ids:
            task_id = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
            record = await self.get(task_id)
            if record is None:
                gone.append(raw_id)
            else:
                records.append(record)
        if gone:
            with _redis_errors():
                await self._client.zrem(index, *gone)
        return records

    async def aclose(self) -> None:
        await self._client.aclose()


@contextlib.contextmanager
def _redis_errors() -> Iterator[None]:
    """A Redis failure as a JSON-RPC internal error naming the store (never the URL)."""
    import redis.exceptions

    try:
        yield
    except redis.exceptions.RedisError as exc:
        raise MCPError(
            code=INTERNAL_ERROR,
            message=f"the task store (Redis) failed: {type(exc).__name__}; check "
            "LUMINAMIND_REDIS_URL and that Redis is up",
        ) from exc


def open_task_store(settings: Settings) -> TaskStore:
    """The task store on the checkpointer's backend (``state_backend``, Redis when set)."""
    backend = settings.state_backend
    if backend == "auto":
        backend = "redis" if settings.redis_url is not None else "sqlite"
    if backend == "memory":
        return MemoryTaskStore()
    if backend == "redis":
        # Imported here: only Redis deployments pay for redis-py.
        from luminamind.state.redis.conn import RedisOptions, connect_async

        client = connect_async(RedisOptions.from_settings(settings))
        return RedisTaskStore(client, prefix=settings.redis_key_prefix)
    return SqliteTaskStore(settings.data_dir / TASKS_FILE)
