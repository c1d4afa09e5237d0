"""Atomic file writes: a temp file beside the target, fsync, then one ``os.replace``.

A reader (or a crash) sees either the old content or the new one, never half a file. Writes are
staged first so a tool changing several files (``apply_patch``) can prepare every file before it
replaces any of them. Many files at once (a rewind) are staged unsynced and made durable by
`sync_staged`: one ``syncfs`` per filesystem instead of one ``fsync`` per file.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import stat
import sys
from collections.abc import Iterable, Sequence
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
    "sync_staged",
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


def stage_write(
    path: Path, data: bytes, *, mode: int | None = None, sync: bool = True
) -> StagedWrite:
    """Write ``data`` to a temp file in ``path``'s directory, fsynced, with the final mode.

    Args:
        path: the (already confined and resolved) target.
        data: the complete new content.
        mode: permission bits; by default the existing file's, else `default_file_mode`.
        sync: fsync the temp file now. False: the caller calls `sync_staged` on every staged
            write before committing any of them.
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
            if sync:
                os.fsync(handle.fileno())
            # The temp file is 0o600; the target keeps its own mode (executables stay so).
            os.fchmod(handle.fileno(), mode)
    except BaseException:
        staged.discard()
        raise
    return staged


def _syncfs(fd: int) -> bool:
    """``syncfs(2)`` on the filesystem holding ``fd``; False where it is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.syncfs(fd) == 0)
    except (OSError, AttributeError):  # no syncfs in this libc
        return False


def sync_staged(staged: Sequence[StagedWrite]) -> None:
    """Make the temp files of writes staged with ``sync=False`` durable, before any commit.

    Crash safety is what `stage_write` gives: every new content is on disk before the first
    rename, so after a crash each target is either its old file or the whole new one. On Linux
    one ``syncfs`` per filesystem does it (it writes back every dirty page and inode of that
    filesystem, ours included, and waits); that replaces one journal commit per file, which is
    what made a 500-file rewind slow on a busy disk. Elsewhere, or if ``syncfs`` fails, each
    temp file is fsynced as `stage_write` would have.

    Raises:
        OSError: a temp file cannot be synced (the caller discards the staged writes).
    """
    if all(w.dir_fd >= 0 for w in staged) and _syncfs_each(w.dir_fd for w in staged):
        return
    for write in staged:
        if write.dir_fd < 0:
            write.dir_fd = open_dir_nofollow(write.path.parent)
        fd = os.open(write.temp.name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=write.dir_fd)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def sync_directories(directories: Iterable[Path]) -> None:
    """Make renames in every one of ``directories`` durable: `sync_directory` each, batched.

    One ``syncfs`` per filesystem on Linux (a rewind's files may sit in hundreds of
    directories); each directory fsynced where that is not available.
    """
    fds: list[int] = []
    try:
        for directory in set(directories):
            with contextlib.suppress(OSError, PathEscapeError):
                fds.append(open_dir_nofollow(directory))
        if _syncfs_each(fds):
            return
        for fd in fds:
            with contextlib.suppress(OSError):  # some filesystems refuse to sync a directory
                os.fsync(fd)
    finally:
        for fd in fds:
            os.close(fd)


def _syncfs_each(fds: Iterable[int]) -> bool:
    """``syncfs`` once per filesystem among ``fds``; False when it could not be done."""
    devices: dict[int, int] = {}
    for fd in fds:
        devices.setdefault(os.fstat(fd).st_dev, fd)
    return all(_syncfs(fd) for fd in devices.values())


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
