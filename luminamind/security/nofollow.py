"""Open a path the workspace has already resolved, refusing any symlink met on the way.

`Workspace.resolve` follows every symlink and checks where the path lands; the file tools then
open that resolved path. Between the two, someone could swap a directory on it for a symlink to
the outside, and a plain ``open`` would follow it. Since the resolved path holds no symlink at
all, the open can refuse every symlink: ``openat2`` with ``RESOLVE_NO_SYMLINKS`` (Linux 5.6+)
does it in one system call, and elsewhere a walk opens one component at a time with
``O_NOFOLLOW`` relative to the previous directory's descriptor. Either way a swap can only
make the call fail, never reach outside. Temp files are then created, renamed and removed
relative to the directory's descriptor (``dir_fd``), not by path.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import platform
import stat
from collections.abc import Callable
from pathlib import Path

from luminamind.errors import PathEscapeError

__all__ = ["exists_beneath", "open_beneath", "open_dir_nofollow", "open_nofollow"]

_SYS_OPENAT2 = 437  # every Linux architecture since 5.6 (the unified syscall table)
_RESOLVE_NO_MAGICLINKS, _RESOLVE_NO_SYMLINKS, _RESOLVE_BENEATH = 0x02, 0x04, 0x08
_AT_FDCWD = -100


class _OpenHow(ctypes.Structure):
    _fields_ = (
        ("flags", ctypes.c_uint64),
        ("mode", ctypes.c_uint64),
        ("resolve", ctypes.c_uint64),
    )


@functools.cache
def _openat2() -> Callable[..., int] | None:
    if platform.system() != "Linux":
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    probe = _OpenHow(os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, 0, _RESOLVE_NO_SYMLINKS)
    fd = libc.syscall(_SYS_OPENAT2, _AT_FDCWD, b"/", ctypes.byref(probe), ctypes.sizeof(probe))
    if fd < 0:
        return None  # ENOSYS (older kernel) or a seccomp filter that forbids it
    os.close(fd)
    syscall: Callable[..., int] = libc.syscall
    return syscall


def open_nofollow(path: Path, flags: int, mode: int = 0o600) -> int:
    """Open the absolute, resolved ``path`` with ``flags``, refusing any symlink in it.

    Raises:
        PathEscapeError: a component is (now) a symlink: the path changed after it was checked.
        OSError: as ``os.open`` would (missing file, permissions...).
    """
    if not path.is_absolute():
        raise ValueError(f"open_nofollow needs an absolute path, got {path}")
    flags |= os.O_CLOEXEC
    try:
        syscall = _openat2()
        if syscall is not None:
            # The kernel refuses a mode without O_CREAT (EINVAL).
            how = _OpenHow(
                flags,
                mode if flags & os.O_CREAT else 0,
                _RESOLVE_NO_SYMLINKS | _RESOLVE_NO_MAGICLINKS,
            )
            encoded = os.fsencode(path)
            fd = syscall(_SYS_OPENAT2, _AT_FDCWD, encoded, ctypes.byref(how), ctypes.sizeof(how))
            if fd < 0:
                err = ctypes.get_errno()
                raise OSError(err, os.strerror(err), str(path))
            return int(fd)
        return _walk(path, flags, mode)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EXDEV):
            raise PathEscapeError(
                f"'{path}' changed while it was being opened (a symlink appeared on it); "
                "nothing was read or written. Try again, or check who is changing the workspace"
            ) from None
        raise


def open_dir_nofollow(path: Path) -> int:
    """A read-only descriptor of the directory ``path`` (for ``dir_fd`` and ``fsync``)."""
    return open_nofollow(path, os.O_RDONLY | os.O_DIRECTORY)


def _walk(path: Path, flags: int, mode: int) -> int:
    """The portable fallback: one ``O_NOFOLLOW`` open per component, each relative to the last."""
    parts = path.parts[1:]
    current = os.open("/", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts[:-1]:
            step = os.open(
                part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=current
            )
            os.close(current)
            current = step
        if not parts:
            return os.dup(current)
        return os.open(parts[-1], flags | os.O_NOFOLLOW, mode, dir_fd=current)
    finally:
        os.close(current)


def open_beneath(dir_fd: int, relative: str | os.PathLike[str], flags: int) -> int:
    """Open ``relative`` beneath the directory open as ``dir_fd``, refusing any symlink and ``..``.

    The directory tools walk from a descriptor of the directory they were asked about; each
    deeper directory or file is opened from it this way, so a directory swapped for a symlink
    while they walk makes the open fail instead of leading outside.

    Raises:
        PathEscapeError: a component is (now) a symlink, or ``relative`` climbs out with ``..``.
        OSError: as ``os.open`` would.
    """
    rel = os.fspath(relative)
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if rel.startswith("/") or ".." in parts:
        raise PathEscapeError(f"'{rel}' is not a path beneath the directory; nothing was opened")
    flags |= os.O_CLOEXEC
    try:
        syscall = _openat2()
        if syscall is not None:
            resolve = _RESOLVE_BENEATH | _RESOLVE_NO_SYMLINKS | _RESOLVE_NO_MAGICLINKS
            how = _OpenHow(flags, 0, resolve)
            encoded = os.fsencode("/".join(parts) or ".")
            fd = syscall(_SYS_OPENAT2, dir_fd, encoded, ctypes.byref(how), ctypes.sizeof(how))
            if fd < 0:
                err = ctypes.get_errno()
                raise OSError(err, os.strerror(err), rel)
            return int(fd)
        if not parts:
            return os.open(".", flags, dir_fd=dir_fd)
        current = dir_fd
        try:
            for part in parts[:-1]:
                step = _open_subdir(part, current)
                if current != dir_fd:
                    os.close(current)
                current = step
            fd = os.open(parts[-1], flags | os.O_NOFOLLOW, dir_fd=current)
            # O_PATH | O_NOFOLLOW opens a final symlink itself instead of failing: refuse it.
            if stat.S_ISLNK(os.fstat(fd).st_mode):
                os.close(fd)
                raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), rel)
            return fd
        finally:
            if current != dir_fd:
                os.close(current)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EXDEV):
            raise PathEscapeError(
                f"'{rel}' changed while it was being opened (a symlink appeared on it); "
                "nothing was read. Try again, or check who is changing the workspace"
            ) from None
        raise


def _open_subdir(name: str, dir_fd: int) -> int:
    """One step of the fallback walk; a symlink met is ELOOP (O_DIRECTORY can say ENOTDIR)."""
    try:
        return os.open(
            name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd
        )
    except NotADirectoryError:
        if stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode):
            raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), name) from None
        raise


# O_PATH opens without reading (Linux); elsewhere a read-only open of the file or directory.
_O_PATH = getattr(os, "O_PATH", os.O_RDONLY | os.O_NONBLOCK)


def exists_beneath(dir_fd: int, relative: str) -> bool:
    """True when ``relative`` exists beneath ``dir_fd`` with no symlink on the way, or in it."""
    try:
        os.close(open_beneath(dir_fd, relative, _O_PATH))
    except (OSError, PathEscapeError):
        return False
    return True
