"""``python -m bench``: run every benchmark script in turn."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    only = set(sys.argv[1:])
    for script in sorted(HERE.glob("*.py")):
        if script.name.startswith("_") or (only and script.stem not in only):
            continue
        print(f"== {script.stem}", flush=True)
        # The script parses its own options: it must not see the names of the scripts to run.
        sys.argv = [str(script)]
        runpy.run_path(str(script), run_name="__main__")


if __name__ == "__main__":
    main()
