"""Atomic file writes: a temp file beside the target, fsync, then one ``os.replace``.

A reader (or a crash) sees either the old content or the new one, never half a file. Writes are
staged first so a tool changing several files (``apply_patch``) can prepare every file before it
replaces any of them.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from luminamind.errors import PathEscapeError
from luminamind.security.nofollow import open_dir_nofollow

__all__ = [
    "StagedWrite",
    "default_file_mode",
    "stage_temp",
    "stage_write",
    "sync_directories",
    "sync_directory",
    "write_atomic",
]


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
    """New content written and synced to a temp file, not yet in place.

    The temp file lives in the target's directory and is renamed and removed relative to a
    descriptor of that directory, opened without following symlinks (luminamind.security.
    nofollow): a directory swapped for a symlink after the workspace check cannot send the
    write, or the temp file, outside.
    """

    path: Path
    temp: Path
    dir_fd: int = -1
    done: bool = False

    def commit(self, *, sync_dir: bool = True) -> None:
        """Move the temp file over the target (atomic on POSIX) and sync the directory entry.

        ``sync_dir=False``: the caller syncs the directory once after many commits.
        """
        if self.dir_fd < 0:
            self.dir_fd = open_dir_nofollow(self.path.parent)
        os.replace(self.temp.name, self.path.name, src_dir_fd=self.dir_fd, dst_dir_fd=self.dir_fd)
        self.done = True
        if sync_dir:
            # The rename is durable only once the directory is synced; some filesystems refuse.
            with contextlib.suppress(OSError):
                os.fsync(self.dir_fd)
        self._close()

    def discard(self) -> None:
        """Remove the temp file; the target is untouched."""
        if not self.done:
            with contextlib.suppress(FileNotFoundError, PathEscapeError):
                if self.dir_fd < 0:
                    self.dir_fd = open_dir_nofollow(self.path.parent)
                os.unlink(self.temp.name, dir_fd=self.dir_fd)
            self.done = True
        self._close()

    def _close(self) -> None:
        if self.dir_fd >= 0:
            os.close(self.dir_fd)
            self.dir_fd = -1


def stage_temp(path: Path) -> tuple[StagedWrite, int]:
    """Create an empty temp file beside ``path``; returns it staged and its open descriptor.

    Raises:
        PathEscapeError: a directory on ``path`` is now a symlink.
    """
    dir_fd = open_dir_nofollow(path.parent)
    try:
        for _ in range(100):
            name = f".{path.name}.{secrets.token_hex(4)}.tmp"[-255:]
            try:
                fd = os.open(
                    name,
                    os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                    0o600,
                    dir_fd=dir_fd,
                )
            except FileExistsError:
                continue
            return StagedWrite(path=path, temp=path.parent / name, dir_fd=dir_fd), fd
        raise FileExistsError(f"no free temporary name beside {path}")
    except BaseException:
        os.close(dir_fd)
        raise


def stage_write(path: Path, data: bytes, *, mode: int | None = None) -> StagedWrite:
    """Write ``data`` to a temp file in ``path``'s directory, fsynced, with the final mode.

    Args:
        path: the (already confined and resolved) target.
        data: the complete new content.
        mode: permission bits; by default the existing file's, else `default_file_mode`.
    """
    staged, fd = stage_temp(path)
    try:
        if mode is None:
            try:
                mode = stat.S_IMODE(os.stat(path.name, dir_fd=staged.dir_fd).st_mode)
            except FileNotFoundError:
                mode = default_file_mode()
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            # The temp file is 0o600; the target keeps its own mode (executables stay so).
            os.fchmod(handle.fileno(), mode)
    except BaseException:
        staged.discard()
        raise
    return staged


def write_atomic(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Replace ``path`` with ``data`` atomically, keeping its mode (see `stage_write`)."""
    staged = stage_write(path, data, mode=mode)
    try:
        staged.commit()
    finally:
        staged.discard()


def sync_directory(directory: Path) -> None:
    """Make renames in ``directory`` durable (a no-op where the filesystem refuses)."""
    try:
        fd = open_dir_nofollow(directory)
    except (OSError, PathEscapeError):
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def sync_directories(directories: Iterable[Path]) -> None:
    """`sync_directory` each of ``directories`` once (many renames, few directories).

    One after another: on a journaling filesystem the first fsync commits the renames of every
    directory at once, and the others find nothing left to write.
    """
    for directory in set(directories):
        sync_directory(directory)
