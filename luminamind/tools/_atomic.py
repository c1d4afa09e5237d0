"""Atomic file writes: a temp file beside the target, fsync, then one ``os.replace``.

A reader (or a crash) sees either the old content or the new one, never half a file. Writes are
staged first so a tool changing several files (``apply_patch``) can prepare every file before it
replaces any of them.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["StagedWrite", "default_file_mode", "stage_write", "sync_directory", "write_atomic"]


def default_file_mode() -> int:
    """The mode a new file gets (0o666 minus the umask), read without changing the umask.

    ``os.umask`` can only be read by setting it, which races with other threads; Linux exposes
    it in /proc instead.
    """
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o644


@dataclass(slots=True)
class StagedWrite:
    """New content written and synced to a temp file, not yet in place."""

    path: Path
    temp: Path
    done: bool = False

    def commit(self, *, sync_dir: bool = True) -> None:
        """Move the temp file over the target (atomic on POSIX) and sync the directory entry.

        ``sync_dir=False``: the caller syncs the directory once after many commits.
        """
        os.replace(self.temp, self.path)
        self.done = True
        if sync_dir:
            sync_directory(self.path.parent)

    def discard(self) -> None:
        """Remove the temp file; the target is untouched."""
        if not self.done:
            with contextlib.suppress(FileNotFoundError):
                self.temp.unlink()
            self.done = True


def stage_write(path: Path, data: bytes, *, mode: int | None = None) -> StagedWrite:
    """Write ``data`` to a temp file in ``path``'s directory, fsynced, with the final mode.

    Args:
        path: the (already confined and resolved) target.
        data: the complete new content.
        mode: permission bits; by default the existing file's, else `default_file_mode`.
    """
    if mode is None:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            mode = default_file_mode()
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates 0o600; the target keeps its own mode (an executable stays executable).
        os.chmod(temp, mode)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    return StagedWrite(path=path, temp=temp)


def write_atomic(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Replace ``path`` with ``data`` atomically, keeping its mode (see `stage_write`)."""
    staged = stage_write(path, data, mode=mode)
    try:
        staged.commit()
    finally:
        staged.discard()


def sync_directory(directory: Path) -> None:
    """Make renames in ``directory`` durable (a no-op where the filesystem refuses)."""
    _fsync_dir(directory)


def _fsync_dir(directory: Path) -> None:
    # The rename is durable only once the directory itself is synced; some filesystems refuse.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
