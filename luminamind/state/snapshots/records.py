"""What a turn's file snapshots are: records, the store protocol, and their JSON form.

A turn records, per file it changed, the file as it was before the turn's first change
(``before``) and as the turn's last change left it (``after``). Content is addressed by its
SHA-256 and stored once per thread; a binary or a file over the size cap is *listed* (its hash
and size, so a later change is still noticed) but its bytes are not kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

__all__ = [
    "ABSENT",
    "FileKind",
    "FileRecord",
    "FileState",
    "ScanEntry",
    "SnapshotStore",
    "TurnRecord",
    "file_record_from_json",
    "file_record_to_json",
    "scan_entry_from_json",
    "scan_entry_to_json",
]

FileKind = Literal["absent", "file", "listed", "directory"]
"""``file``: content stored; ``listed``: a file whose content is not stored (binary, too big)."""


@dataclass(frozen=True, slots=True)
class FileState:
    """One path at one moment.

    Attributes:
        kind: what was there (see `FileKind`).
        sha256: the content's hash (files, stored or listed).
        size: bytes.
        mode: permission bits, restored with the content.
        note: why the content is not stored (``listed`` only).
    """

    kind: FileKind
    sha256: str | None = None
    size: int = 0
    mode: int | None = None
    note: str | None = None

    @property
    def exists(self) -> bool:
        """Something is at the path."""
        return self.kind != "absent"

    def same_content(self, other: FileState) -> bool:
        """Both absent, both directories, or files with the same bytes."""
        if self.kind in {"file", "listed"} and other.kind in {"file", "listed"}:
            return self.sha256 == other.sha256
        return self.kind == other.kind


ABSENT = FileState(kind="absent")


@dataclass(frozen=True, slots=True)
class FileRecord:
    """One file a turn changed: before its first change, after its last one."""

    path: str
    tool: str
    before: FileState
    after: FileState

    @property
    def change(self) -> Literal["created", "deleted", "modified"]:
        """How the turn changed the file, for listings."""
        if not self.before.exists:
            return "created"
        if not self.after.exists:
            return "deleted"
        return "modified"


@dataclass(frozen=True, slots=True)
class TurnRecord:
    """One turn of a thread: the user's message and the files it changed.

    Attributes:
        turn: 1 for the thread's first recorded turn, then 2, 3...
        checkpoint_id: the thread's latest checkpoint when the turn started (None: the turn
            started a new conversation); rewinding to the turn goes back to it.
        message: what the user asked.
        started_at: when.
        files: the files it changed, by path.
    """

    turn: int
    checkpoint_id: str | None
    message: str
    started_at: datetime
    files: tuple[FileRecord, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class ScanEntry:
    """What a shell command's scan knew of a file: its stat, hash and whether it is stored."""

    mtime_ns: int
    size: int
    state: FileState


def _state_json(state: FileState) -> dict[str, object]:
    data: dict[str, object] = {"kind": state.kind}
    if state.sha256 is not None:
        data |= {"sha256": state.sha256, "size": state.size}
    if state.mode is not None:
        data["mode"] = state.mode
    if state.note is not None:
        data["note"] = state.note
    return data


def _state(data: Mapping[str, object]) -> FileState:
    mode = data.get("mode")
    size = data.get("size", 0)
    return FileState(
        kind=data["kind"],  # type: ignore[arg-type]  # written by _state_json
        sha256=str(data["sha256"]) if data.get("sha256") is not None else None,
        size=size if isinstance(size, int) else 0,
        mode=mode if isinstance(mode, int) else None,
        note=str(data["note"]) if data.get("note") is not None else None,
    )


def file_record_to_json(record: FileRecord) -> str:
    """A record as compact JSON (the stores keep it as one value)."""
    return json.dumps(
        {
            "path": record.path,
            "tool": record.tool,
            "before": _state_json(record.before),
            "after": _state_json(record.after),
        },
        separators=(",", ":"),
    )


def file_record_from_json(text: str | bytes) -> FileRecord:
    """The record `file_record_to_json` wrote."""
    data = json.loads(text)
    return FileRecord(
        path=data["path"],
        tool=data["tool"],
        before=_state(data["before"]),
        after=_state(data["after"]),
    )


def scan_entry_to_json(entry: ScanEntry) -> str:
    """A scan entry as compact JSON."""
    return json.dumps(
        {"m": entry.mtime_ns, "s": entry.size, "st": _state_json(entry.state)},
        separators=(",", ":"),
    )


def scan_entry_from_json(text: str | bytes) -> ScanEntry:
    """The entry `scan_entry_to_json` wrote."""
    data = json.loads(text)
    return ScanEntry(mtime_ns=int(data["m"]), size=int(data["s"]), state=_state(data["st"]))


class SnapshotStore(Protocol):
    """Where turns, their file records and the content they need live (per thread)."""

    async def begin_turn(self, thread_id: str, *, checkpoint_id: str | None, message: str) -> int:
        """Start the thread's next turn; returns its number."""
        ...

    async def latest_turn(self, thread_id: str) -> int | None:
        """The thread's current turn, or None before its first."""
        ...

    async def record(
        self,
        thread_id: str,
        turn: int | None,
        files: Sequence[FileRecord],
        blobs: Mapping[str, bytes],
    ) -> int | None:
        """Add changes to a turn (None: the thread's latest); returns it, None if none.

        A path the turn already recorded keeps its ``before`` and takes the new ``after``.
        """
        ...

    async def turns(self, thread_id: str) -> list[TurnRecord]:
        """Every recorded turn of the thread, oldest first, with its files."""
        ...

    async def blobs(self, thread_id: str, shas: Iterable[str]) -> dict[str, bytes]:
        """The stored contents among ``shas`` (missing ones are left out)."""
        ...

    async def drop_turns(self, thread_id: str, first_turn: int) -> None:
        """Forget ``first_turn`` and every later turn (after a rewind), and unused content."""
        ...

    async def prune(self, thread_id: str, *, keep: int) -> list[int]:
        """Forget the oldest turns beyond ``keep``; returns the turns pruned."""
        ...

    async def scan_baseline(self, thread_id: str) -> dict[str, ScanEntry]:
        """What the thread's last shell scan saw, by path."""
        ...

    async def update_baseline(
        self,
        thread_id: str,
        entries: Mapping[str, ScanEntry | None],
        blobs: Mapping[str, bytes],
    ) -> None:
        """Set (or, with None, remove) scan entries and store their content."""
        ...

    async def delete_thread(self, thread_id: str) -> None:
        """Remove everything recorded for the thread."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
