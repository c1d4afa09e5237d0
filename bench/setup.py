"""Set-up and `make test` on a fresh clone: the locked uv install against the old pip one.

Clones the current checkout twice into a temporary folder. In one, the set-up is the Makefile's
(`uv pip sync` of requirements.lock.txt); in the other, what the Makefile did before the lock
(`pip install --upgrade pip`, then `pip install -e '.[test]'`, resolving from the registry).
Both with the machine's warm package caches, as a developer's second clone would be.
``--full`` instead times the whole `make test` (lint, mypy, npm installs, every test) on a fresh
clone after its set-up, which takes minutes, into a section of its own; ``--ref`` picks the commit
cloned (default: this checkout's HEAD), so a before and an after are the same measurement. The
load average is sampled through the run (the machine is shared), and make's output is kept in
``--log`` for when it fails.

    python bench/setup.py [--full [--ref REF] [--log FILE]]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
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


def _full(ref: str, log: Path) -> None:
    """Fresh clone at ``ref``: set-up, then `make test`, each timed; its own doc section."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", ref], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    loads: list[float] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(5):
            loads.append(os.getloadavg()[0])

    with tempfile.TemporaryDirectory(prefix="lm-fulltest-") as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        subprocess.run(["git", "checkout", "-q", commit], cwd=clone, check=True)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        with log.open("w", encoding="utf-8") as out:
            started = time.perf_counter()
            subprocess.run(
                "make .venv/.installed",
                shell=True,
                cwd=clone,
                check=True,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            set_up = time.perf_counter() - started
            started = time.perf_counter()
            result = subprocess.run(
                "make test", shell=True, cwd=clone, stdout=out, stderr=subprocess.STDOUT
            )
            tests = time.perf_counter() - started
        done.set()
    passed = result.returncode == 0
    mean_load = sum(loads) / len(loads) if loads else os.getloadavg()[0]
    total = set_up + tests
    goal = "met" if passed and total < 600 else "missed"
    text = "\n".join(
        [
            "## Fresh clone `make test` (`bench/setup.py --full`)",
            "",
            f"{machine_line()}. A fresh clone of {commit}, warm package caches (pip, uv, npm, the"
            " VS Code end-to-end install's cache); load average"
            f" {mean_load:.1f} on average during the run (the machine is shared),"
            f" `make test` {'passed' if passed else 'FAILED'}.",
            "",
            "| step | seconds |",
            "|---|---:|",
            f"| set-up (`make .venv/.installed`) | {set_up:.0f} |",
            f"| `make test` (lint, mypy, npm installs, every test under coverage) | {tests:.0f} |",
            f"| whole | {total:.0f} |",
            "",
            "Goal: the whole `make test` on a fresh clone under 10 minutes:"
            f" **{goal}** ({total / 60:.1f} min).",
        ]
    )
    write_section("fulltest", text)
    print(text)
    if not passed:
        sys.exit(f"make test failed; its output is in {log}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true", help="time the whole `make test` instead")
    parser.add_argument("--ref", default="HEAD", help="the commit --full clones (default HEAD)")
    parser.add_argument("--log", type=Path, default=Path(tempfile.gettempdir()) / "lm-fulltest.log")
    args = parser.parse_args()
    if args.full:
        _full(args.ref, args.log)
        return
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
    rows = [
        "| set-up (venv + every dependency) | seconds |",
        "|---|---:|",
        f"| before: `pip install --upgrade pip` + `pip install -e '.[test]'` | {pip:.1f} |",
        f"| after: `uv pip sync requirements.lock.txt` (make) | {uv:.1f} |",
        f"| ratio after / before | {uv / pip:.2f} |",
    ]
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
