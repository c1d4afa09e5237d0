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

__all__ = ["ALWAYS_SKIPPED", "IgnoreRules", "is_virtualenv"]

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
_MAX_IGNORE_FILE_BYTES = 1_000_000


def is_virtualenv(directory: Path) -> bool:
    """True for a Python virtual environment, whatever it is called."""
    return (directory / "pyvenv.cfg").is_file()


def _load_spec(directory: Path) -> pathspec.GitIgnoreSpec | None:
    lines: list[str] = []
    for name in _IGNORE_FILES:
        candidate = directory / name
        try:
            info = candidate.lstat()
        except OSError:
            continue
        # A symlinked ignore file could point outside the workspace: not read.
        if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_IGNORE_FILE_BYTES:
            continue
        try:
            lines += candidate.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
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
        for depth in range(len(parts) + 1):
            rules = rules.entering(top.joinpath(*parts[:depth]))
        return rules

    def entering(self, directory: Path) -> IgnoreRules:
        """The rules inside ``directory``: these plus its own ignore files, if any."""
        spec = _load_spec(directory)
        return self if spec is None else IgnoreRules((*self.layers, (directory, spec)))

    def ignored(self, path: Path, *, is_dir: bool) -> bool:
        """True if the deepest rule that matches ``path`` excludes it."""
        for base, spec in reversed(self.layers):
            rel = os.path.relpath(path, base).replace(os.sep, "/")
            result = spec.check_file(rel + "/" if is_dir else rel)
            if result.include is not None:
                return bool(result.include)
        return False
