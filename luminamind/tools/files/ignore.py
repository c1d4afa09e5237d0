"""Which files a directory walk skips: ``.gitignore``/``.ignore`` rules and well-known clutter.

The rules are read the way git and ripgrep read them: every directory's ignore files apply to
the paths below it, deeper files win over shallower ones, and ``!pattern`` re-includes. Only
files inside the walked tree are read (never a parent repository outside the workspace).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

import pathspec
from pathspec.patterns.gitwildmatch import GitWildMatchPatternError

from luminamind.errors import PathEscapeError
from luminamind.security.nofollow import open_beneath, open_dir_nofollow

__all__ = ["ALWAYS_SKIPPED", "IgnoreRules", "is_virtualenv", "is_virtualenv_beneath"]

# Directories no one wants in a tree listing, even when nothing ignores them.
ALWAYS_SKIPPED = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "__pycache__",
        ".venv",
        "venv",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
    }
)
_IGNORE_FILES = (".gitignore", ".ignore")
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY
_MAX_IGNORE_FILE_BYTES = 1_000_000


def is_virtualenv(directory: Path) -> bool:
    """True for a Python virtual environment, whatever it is called."""
    return (directory / "pyvenv.cfg").is_file()


def is_virtualenv_beneath(dir_fd: int, name: str) -> bool:
    """`is_virtualenv` for the directory ``name`` in the directory open as ``dir_fd``."""
    try:
        fd = open_beneath(dir_fd, f"{name}/pyvenv.cfg", os.O_RDONLY | os.O_NONBLOCK)
    except (OSError, PathEscapeError):
        return False
    try:
        return stat.S_ISREG(os.fstat(fd).st_mode)
    finally:
        os.close(fd)


def _read_ignore_file(directory: Path, name: str, dir_fd: int | None) -> list[str]:
    """The lines of one ignore file; none when it is missing, too big or not a regular file.

    A symlinked ignore file could point outside the workspace: never read. With ``dir_fd`` the
    file is opened relative to that descriptor, so a directory swapped for a symlink cannot
    make it read one outside.
    """
    try:
        if dir_fd is None:
            fd = os.open(directory / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        else:
            fd = open_beneath(dir_fd, name, os.O_RDONLY | os.O_NONBLOCK)
    except (OSError, PathEscapeError):
        return []
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_IGNORE_FILE_BYTES:
            return []
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(_MAX_IGNORE_FILE_BYTES)
    except OSError:
        return []
    finally:
        os.close(fd)
    return data.decode("utf-8", errors="replace").splitlines()


def _load_spec(directory: Path, dir_fd: int | None = None) -> pathspec.GitIgnoreSpec | None:
    lines: list[str] = []
    for name in _IGNORE_FILES:
        lines += _read_ignore_file(directory, name, dir_fd)
    if not lines:
        return None
    try:
        return pathspec.GitIgnoreSpec.from_lines(lines)
    except GitWildMatchPatternError:
        # git skips a malformed line and keeps the rest; do the same line by line.
        good = [line for line in lines if _valid(line)]
        return pathspec.GitIgnoreSpec.from_lines(good) if good else None


def _valid(line: str) -> bool:
    try:
        pathspec.GitIgnoreSpec.from_lines([line])
    except GitWildMatchPatternError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class IgnoreRules:
    """The ignore specs in force inside one directory, shallowest first."""

    layers: tuple[tuple[Path, pathspec.GitIgnoreSpec], ...] = ()

    @classmethod
    def between(cls, top: Path, directory: Path) -> IgnoreRules:
        """Rules for ``directory``, reading the ignore files from ``top`` down to it."""
        rules = cls()
        if not directory.is_relative_to(top):
            return rules.entering(directory)
        parts = directory.relative_to(top).parts
        try:
            top_fd = open_dir_nofollow(top)
        except (OSError, PathEscapeError, ValueError):
            top_fd = None  # a relative or symlinked top: read by path, as given
        try:
            for depth in range(len(parts) + 1):
                level = top.joinpath(*parts[:depth])
                if top_fd is None:
                    rules = rules.entering(level)
                    continue
                try:
                    level_fd = open_beneath(top_fd, "/".join(parts[:depth]), _DIRECTORY)
                except (OSError, PathEscapeError):
                    continue  # missing or swapped: nothing of it is read
                try:
                    rules = rules.entering(level, dir_fd=level_fd)
                finally:
                    os.close(level_fd)
        finally:
            if top_fd is not None:
                os.close(top_fd)
        return rules

    def entering(self, directory: Path, *, dir_fd: int | None = None) -> IgnoreRules:
        """The rules inside ``directory``: these plus its own ignore files, if any.

        Args:
            directory: the directory's path (what the rules are relative to).
            dir_fd: the directory, open: its ignore files are read through it.
        """
        spec = _load_spec(directory, dir_fd)
        return self if spec is None else IgnoreRules((*self.layers, (directory, spec)))

    def ignored(self, path: Path, *, is_dir: bool) -> bool:
        """True if the deepest rule that matches ``path`` excludes it."""
        for base, spec in reversed(self.layers):
            rel = os.path.relpath(path, base).replace(os.sep, "/")
            result = spec.check_file(rel + "/" if is_dir else rel)
            if result.include is not None:
                return bool(result.include)
        return False
