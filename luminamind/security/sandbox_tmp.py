"""The sandbox's private temporary directories: one parent per process, swept when its owner dies.

Each sandboxed command gets its own ``HOME``/``TMPDIR``, removed after the call. A process that
is killed (SIGKILL, OOM, a power cut) never gets to remove them, so they are all made inside
one parent per process, ``luminamind-sandbox-<pid>-<start>-<random>`` in the system's temporary
directory: the parent is removed at exit, and every process sweeps, when it first needs one,
the parents whose owner is gone. The owner's start time (Linux) is part of the name so that a
reused pid does not keep a dead owner's directory, nor get a live one's swept.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import re
import shutil
import stat
import tempfile
import time
from pathlib import Path

__all__ = ["PARENT_PREFIX", "private_dir", "remove_private_dir", "sweep_dead_parents"]

PARENT_PREFIX = "luminamind-sandbox-"
_PARENT_NAME = re.compile(rf"^{re.escape(PARENT_PREFIX)}(\d+)-(\d+)-[A-Za-z0-9_]+$")
# Before the per-process parents, each call's directory sat in the temp dir itself
# (mkdtemp: eight random characters). No owner is named, but a call lasts at most
# shell.max_timeout_seconds (an hour at most): one not changed for a day is a leftover.
_LEGACY_NAME = re.compile(rf"^{re.escape(PARENT_PREFIX)}[a-z0-9_]{{8}}$")
_LEGACY_AGE_SECONDS = 24 * 3600


def _start_time(pid: int) -> int:
    """The process's start time in clock ticks since boot (Linux); 0 where unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return 0
    # Field 22; the command name (field 2) is in parentheses and may hold spaces.
    fields = data[data.rfind(b")") + 2 :].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return 0


def _alive(pid: int, start: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: alive, and not ours to judge
    return start == 0 or _start_time(pid) in (0, start)


def sweep_dead_parents(directory: Path | None = None) -> list[Path]:
    """Remove the parents in ``directory`` (the temp dir) whose owning process is gone.

    Only real directories owned by this user are touched (never a symlink planted under the
    name); returns what was removed.
    """
    top = Path(directory or tempfile.gettempdir())
    removed: list[Path] = []
    try:
        names = os.listdir(top)
    except OSError:
        return removed
    for name in names:
        match = _PARENT_NAME.match(name)
        legacy = match is None and _LEGACY_NAME.match(name) is not None
        if match is None and not legacy:
            continue
        if match is not None:
            pid, start = int(match.group(1)), int(match.group(2))
            if pid == os.getpid() or _alive(pid, start):
                continue
        path = top / name
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            continue
        if legacy and time.time() - info.st_mtime < _LEGACY_AGE_SECONDS:
            continue
        _remove(path)
        removed.append(path)
    return removed


def _remove(path: Path) -> None:
    """rmtree that also removes what a command made unwritable (chmod 0 directories)."""

    def unlock(func: object, failed: str, exc: object) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(failed), stat.S_IRWXU)
            os.chmod(failed, stat.S_IRWXU)
            if os.path.isdir(failed) and not os.path.islink(failed):
                shutil.rmtree(failed, ignore_errors=True)
            else:
                os.unlink(failed)

    with contextlib.suppress(OSError):
        shutil.rmtree(path, onerror=unlock)


@functools.cache
def _parent() -> Path:
    """This process's parent directory, made on first use (after a sweep of dead ones)."""
    sweep_dead_parents()
    pid = os.getpid()
    parent = Path(tempfile.mkdtemp(prefix=f"{PARENT_PREFIX}{pid}-{_start_time(pid)}-"))
    atexit.register(_remove, parent)
    return parent


def private_dir() -> Path:
    """A new private directory for one sandboxed call (mode 0700, inside this process's parent).

    A forked child (os.fork) has another pid: it makes its own parent rather than share one
    that its parent process will remove.
    """
    if _parent.cache_info().currsize and not _parent().name.startswith(
        f"{PARENT_PREFIX}{os.getpid()}-"
    ):
        _parent.cache_clear()
    try:
        return Path(tempfile.mkdtemp(prefix="call-", dir=_parent()))
    except FileNotFoundError:  # the parent was cleaned away (systemd-tmpfiles, a user)
        _parent.cache_clear()
        return Path(tempfile.mkdtemp(prefix="call-", dir=_parent()))


def remove_private_dir(path: Path) -> None:
    """Remove one call's private directory, whatever the command left in it."""
    _remove(path)
