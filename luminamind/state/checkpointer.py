"""The state factories: where agent threads are saved (`open_checkpointer`) and listed
(`open_thread_store`), both on the backend `backend_of` picks.

``state_backend``: ``auto`` (Redis when ``LUMINAMIND_REDIS_URL`` is set, else SQLite), ``sqlite``
(``data_dir/checkpoints.sqlite``, LangGraph's SQLite saver, `luminamind.state.sqlite_saver`, and
``data_dir/threads.sqlite``), ``redis`` (`luminamind.state.redis`) or ``memory`` (tests; nothing
survives the process).
A checkpointer that cannot be opened is a `CheckpointError` naming the file or URL: unlike the
cache, a dead checkpointer is never silently replaced.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Literal

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver

from luminamind.config import Settings
from luminamind.errors import CheckpointError, ConfigError
from luminamind.state.threads import MemoryThreadStore, SqliteThreadStore, ThreadStore

__all__ = [
    "CHECKPOINT_FILE",
    "THREADS_FILE",
    "backend_of",
    "checkpoint_path",
    "open_checkpointer",
    "open_thread_store",
    "stores_message_deltas",
]

CHECKPOINT_FILE = "checkpoints.sqlite"
THREADS_FILE = "threads.sqlite"


def backend_of(settings: Settings) -> Literal["sqlite", "redis", "memory"]:
    """The backend ``settings`` select (``auto`` resolved)."""
    if settings.state_backend == "auto":
        return "redis" if settings.redis_url is not None else "sqlite"
    return settings.state_backend


def checkpoint_path(settings: Settings) -> Path:
    """The SQLite checkpoint file."""
    return settings.data_dir / CHECKPOINT_FILE


def stores_message_deltas(saver: object) -> bool:
    """True when threads on ``saver`` keep ``messages`` as a `DeltaChannel` (new messages only).

    A `DeltaChannel` checkpoint holds no message list: loading one replays the writes of its
    ancestors back to the last snapshot, so the saver must keep every ancestor and its writes.
    SQLite and memory do (SQLite with an indexed fast path), and Redis, which walks the chain
    in one server-side script (`luminamind.state.redis.keys.DELTA_SCRIPT`); its ``prune``
    (``keep_latest``) would drop that chain, and LuminaMind never calls it.
    Existing threads written with full lists load either way (LangGraph reads a plain list as
    a snapshot), so turning this on needs no migration.
    """
    if isinstance(saver, InMemorySaver):
        return True
    # Only a Redis saver has its module loaded (redis-py is imported only when Redis is used).
    redis_savers = sys.modules.get("luminamind.state.redis.base")
    if redis_savers is not None and isinstance(saver, redis_savers.BaseRedisSaver):
        return True
    sqlite_savers = sys.modules.get("luminamind.state.sqlite_saver")
    return sqlite_savers is not None and isinstance(saver, sqlite_savers.SqliteCheckpointer)


@asynccontextmanager
async def open_checkpointer(settings: Settings) -> AsyncIterator[BaseCheckpointSaver[str]]:
    """Open the configured checkpointer for the life of the block.

    Raises:
        CheckpointError: the SQLite file or the Redis server cannot be opened.
        ConfigError: the Redis backend is selected but not available.
    """
    backend = backend_of(settings)
    if backend == "memory":
        yield InMemorySaver()
        return
    if backend == "redis":
        if settings.redis_url is None:
            raise ConfigError(
                'state_backend = "redis" needs LUMINAMIND_REDIS_URL (e.g. redis://localhost:6379/0)'
            )
        from luminamind.state.redis import AsyncRedisSaver  # redis-py only when used

        async with AsyncRedisSaver.from_settings(settings) as saver:
            yield saver
        return
    async with _sqlite(checkpoint_path(settings)) as saver:
        yield saver


def open_thread_store(settings: Settings) -> ThreadStore:
    """The thread store for ``settings``, on the checkpointer's backend (`backend_of`).

    Raises:
        CheckpointError: the SQLite file cannot be opened.
        ConfigError: the Redis backend is selected without ``LUMINAMIND_REDIS_URL``.
    """
    backend = backend_of(settings)
    if backend == "memory":
        return MemoryThreadStore()
    if backend == "redis":
        from luminamind.state.redis import RedisThreadStore  # redis-py only when used

        return RedisThreadStore.from_settings(settings)
    return SqliteThreadStore(settings.data_dir / THREADS_FILE)


@asynccontextmanager
async def _sqlite(path: Path) -> AsyncIterator[BaseCheckpointSaver[str]]:
    from luminamind.state.sqlite_saver import open_sqlite_checkpointer

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        manager = open_sqlite_checkpointer(path)
        saver = await manager.__aenter__()
    except (OSError, sqlite3.Error) as exc:
        raise CheckpointError(f"cannot open the checkpoint database {path}: {exc}") from exc
    try:
        yield saver
    finally:
        await manager.__aexit__(None, None, None)
