"""File snapshots of agent turns (what `luminamind rewind` restores), in the state backend.

SQLite beside the checkpoints by default, Redis when the checkpointer is Redis, a private
in-memory SQLite database for the ``memory`` backend. See docs/rewind.md.
"""

from __future__ import annotations

from luminamind.config import Settings
from luminamind.state.checkpointer import backend_of
from luminamind.state.snapshots.records import (
    ABSENT,
    FileKind,
    FileRecord,
    FileState,
    ScanEntry,
    SnapshotStore,
    TurnRecord,
)
from luminamind.state.snapshots.sqlite import SNAPSHOT_FILE, SqliteSnapshotStore

__all__ = [
    "ABSENT",
    "SNAPSHOT_FILE",
    "FileKind",
    "FileRecord",
    "FileState",
    "ScanEntry",
    "SnapshotStore",
    "SqliteSnapshotStore",
    "TurnRecord",
    "open_snapshot_store",
]


def open_snapshot_store(settings: Settings) -> SnapshotStore:
    """The snapshot store of the configured state backend (Redis is connected lazily).

    Raises:
        CheckpointError: the SQLite file cannot be opened.
    """
    backend = backend_of(settings)
    if backend == "memory":
        return SqliteSnapshotStore(None)
    if backend == "redis":
        from luminamind.state.snapshots.redis import RedisSnapshotStore  # redis only when used

        return RedisSnapshotStore.from_settings(settings)
    return SqliteSnapshotStore(settings.data_dir / SNAPSHOT_FILE)
