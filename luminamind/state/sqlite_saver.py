"""The SQLite checkpointer: LangGraph's `SqliteSaver`, driven from asyncio one trip per call.

LangGraph ships two SQLite savers. ``AsyncSqliteSaver`` goes through aiosqlite, which sends every
statement, cursor, fetch and commit to its worker thread and back: writing one checkpoint took
three trips, its pending writes four, and reading a thread's message history one per batch of
rows. A run of 50 tool calls made about 1,440 of them, each about 90 µs of waking threads on
this kind of machine (bench/agent_overhead.py). The synchronous ``SqliteSaver`` holds the same
SQL and the same serialisation, but its ``a*`` methods raise ``NotImplementedError``.

`SqliteCheckpointer` is that synchronous saver with each async method running its synchronous
twin whole on one worker thread of its own: one trip per call (a run of 50 tool calls: about
420). One thread also means the sqlite3 connection is only ever used from it (after
`open_sqlite_checkpointer` sets it up there), and calls run in the order they were made.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from langgraph.checkpoint.sqlite import SqliteSaver

from luminamind.state.threaded_saver import ThreadedAsyncSaver

__all__ = ["SqliteCheckpointer", "open_sqlite_checkpointer"]

_T = TypeVar("_T")

# WAL lets the CLI, the MCP server and the language server share one file: readers never block
# the writer; a busy timeout waits out another process's short write.
# synchronous=NORMAL: no fsync per commit. In WAL mode a committed checkpoint survives the
# process being killed (it is in the OS's cache of the WAL file); only a power cut or an OS
# crash can roll back the last few commits, never corrupt the file. FULL made every checkpoint
# wait about 5 ms for the disk, several per model call (bench/agent_overhead.py); the audit log
# makes the same trade-off.
_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA busy_timeout=5000", "PRAGMA synchronous=NORMAL")


class SqliteCheckpointer(ThreadedAsyncSaver, SqliteSaver):
    """LangGraph's SQLite saver whose async methods each take one trip to its own thread."""

    def __init__(self, conn: sqlite3.Connection, worker: ThreadPoolExecutor) -> None:
        super().__init__(conn)
        self._worker = worker

    async def _call(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> _T:
        # Its own thread, not asyncio's pool: one thread uses the connection, calls in order.
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._worker, functools.partial(fn, *args, **kwargs))


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), check_same_thread=False)
    try:
        for pragma in _PRAGMAS:
            conn.execute(pragma)
    except sqlite3.Error:
        conn.close()
        raise
    return conn


@asynccontextmanager
async def open_sqlite_checkpointer(path: Path) -> AsyncIterator[SqliteCheckpointer]:
    """A `SqliteCheckpointer` on ``path`` (created with its tables), closed after the block.

    Raises:
        OSError, sqlite3.Error: the file cannot be opened or set up.
    """
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="luminamind-checkpoints")
    loop = asyncio.get_running_loop()
    try:
        conn = await loop.run_in_executor(worker, _connect, path)
        saver = SqliteCheckpointer(conn, worker)
        try:
            await loop.run_in_executor(worker, saver.setup)
            yield saver
        finally:
            await loop.run_in_executor(worker, conn.close)
    finally:
        # Its last call (closing the connection) is done: the thread ends at once.
        worker.shutdown(wait=True)
