"""Set-up and `make test` on a fresh clone: the locked uv install against the old pip one.

Clones the current checkout twice into a temporary folder. In one, the set-up is the Makefile's
(`uv pip sync` of requirements.lock.txt); in the other, what the Makefile did before the lock
(`pip install --upgrade pip`, then `pip install -e '.[test]'`, resolving from the registry).
Both with the machine's warm package caches, as a developer's second clone would be.
``--full`` also times the whole `make test` (lint, mypy, npm installs, every test) in the uv
clone, which takes minutes.

    python bench/setup.py [--full]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._report import machine_line, write_section

ROOT = Path(__file__).resolve().parent.parent


def _timed(command: str, cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, shell=True, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true", help="also time the whole `make test`")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lm-setup-") as tmp:
        base = Path(tmp)
        for name in ("uv", "pip"):
            subprocess.run(["git", "clone", "-q", str(ROOT), str(base / name)], check=True)
        uv = _timed("make .venv/.installed", base / "uv")
        pip = _timed(
            "python3 -m venv .venv && .venv/bin/pip install -q --upgrade pip"
            " && .venv/bin/pip install -q -e '.[test]'",
            base / "pip",
        )
        full = _timed("make test", base / "uv") if args.full else None
    rows = [
        "| set-up (venv + every dependency) | seconds |",
        "|---|---:|",
        f"| before: `pip install --upgrade pip` + `pip install -e '.[test]'` | {pip:.1f} |",
        f"| after: `uv pip sync requirements.lock.txt` (make) | {uv:.1f} |",
        f"| ratio after / before | {uv / pip:.2f} |",
    ]
    if full is not None:
        rows.append(f"| whole `make test` after set-up (fresh clone) | {full:.0f} |")
    goal = "met" if uv < 90 else "missed"
    text = "\n".join(
        [
            "## Fresh clone set-up (`bench/setup.py`)",
            "",
            f"{machine_line()}. Two fresh clones, warm package caches.",
            "",
            *rows,
            "",
            f"Goal: set-up under 90 s with a warm cache: **{goal}** ({uv:.1f} s).",
        ]
    )
    write_section("setup", text)
    print(text)


if __name__ == "__main__":
    main()
