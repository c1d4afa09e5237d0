"""Looking at files for the snapshot store: a path's state, and a workspace's stat scan.

The scan walks the workspace root the way ``tree_view`` and ``grep_search`` do (``.gitignore``
and ``.ignore`` rules, well-known clutter such as ``.git`` and ``node_modules`` skipped) and
reads only ``stat``: a shell command's changes are found by comparing two scans, so only the
files whose mtime or size moved are read and hashed.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from luminamind.state.snapshots import ABSENT, FileState
from luminamind.tools.files.ignore import ALWAYS_SKIPPED, IgnoreRules, is_virtualenv

__all__ = ["Observed", "Stat", "observe", "observe_bytes", "scan_tree", "walk_files"]

Stat = tuple[int, int]
"""(mtime in ns, size): what a scan compares."""

# As git decides: a NUL byte in the first 8,000 bytes makes a file binary.
_BINARY_PROBE = 8000


@dataclass(frozen=True, slots=True)
class Observed:
    """A path's state and, when the content may be stored, its bytes."""

    state: FileState
    data: bytes | None = None


def _digest(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def observe(path: Path, *, max_bytes: int) -> Observed:
    """What is at ``path`` now (never follows a final symlink).

    Files up to ``max_bytes`` that are not binary come with their bytes; larger ones and
    binaries are ``listed``: hashed, so a later change is noticed, but not stored.
    """
    try:
        info = path.lstat()
    except (FileNotFoundError, NotADirectoryError):
        return Observed(ABSENT)
    mode = stat.S_IMODE(info.st_mode)
    if stat.S_ISDIR(info.st_mode):
        return Observed(FileState(kind="directory", mode=mode))
    if stat.S_ISLNK(info.st_mode):
        target = os.readlink(path).encode("utf-8", "surrogateescape")
        sha = hashlib.sha256(b"symlink:" + target).hexdigest()
        return Observed(FileState(kind="listed", sha256=sha, size=len(target), note="a symlink"))
    if not stat.S_ISREG(info.st_mode):
        return Observed(FileState(kind="listed", note="not a regular file"))
    if info.st_size > max_bytes:
        note = f"larger than the {max_bytes:,}-byte cap (rewind.max_file_bytes)"
        return Observed(
            FileState(kind="listed", sha256=_digest(path), size=info.st_size, mode=mode, note=note)
        )
    return observe_bytes(path.read_bytes(), max_bytes=max_bytes, mode=mode)


def observe_bytes(data: bytes, *, max_bytes: int, mode: int | None) -> Observed:
    """A file holding ``data``, as `observe` sees it (an editor's buffer, say)."""
    sha = hashlib.sha256(data).hexdigest()
    if len(data) > max_bytes:
        note = f"larger than the {max_bytes:,}-byte cap (rewind.max_file_bytes)"
        return Observed(FileState(kind="listed", sha256=sha, size=len(data), mode=mode, note=note))
    if b"\0" in data[:_BINARY_PROBE]:
        return Observed(
            FileState(kind="listed", sha256=sha, size=len(data), mode=mode, note="a binary file")
        )
    return Observed(FileState(kind="file", sha256=sha, size=len(data), mode=mode), data)


def _entries(directory: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(directory) as it:
            return list(it)
    except OSError:  # unreadable or gone mid-walk: nothing to record there
        return []


def walk_files(top: Path, *, root: Path, limit: int) -> Iterator[tuple[str, Stat]]:
    """Files under ``top`` (not ignored, symlinks not followed) with their stat, up to ``limit``.

    Paths are relative to ``root`` (the workspace), POSIX style. Strings, not `Path` objects,
    on the per-file path: building a Path per file cost more than the ``stat`` itself.
    """
    count = 0
    cut = len(str(root)) + 1
    pending = [(str(top), IgnoreRules.between(root, top))]
    while pending:
        directory, rules = pending.pop()
        for entry in _entries(Path(directory)):
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if is_dir:
                path = Path(entry.path)
                if entry.name in ALWAYS_SKIPPED or is_virtualenv(path):
                    continue
                if not (rules.layers and rules.ignored(path, is_dir=True)):
                    pending.append((entry.path, rules.entering(path)))
                continue
            if rules.layers and rules.ignored(Path(entry.path), is_dir=False):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            rel = entry.path[cut:]
            yield (
                (rel if os.sep == "/" else rel.replace(os.sep, "/")),
                (
                    info.st_mtime_ns,
                    info.st_size,
                ),
            )
            count += 1
            if count >= limit:
                return


def scan_tree(root: Path, *, limit: int) -> tuple[dict[str, Stat], bool]:
    """Every file of the workspace with its stat; True when ``limit`` cut the scan short."""
    found = dict(walk_files(root, root=root, limit=limit))
    return found, len(found) >= limit
