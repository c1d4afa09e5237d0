"""``python -m bench``: run every benchmark script in turn, or the ones named."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    # ``python -m bench [NAME ...] [OPTIONS]``: the names pick the scripts; everything from the
    # first option on goes to each of them (``python -m bench mcp --quick``).
    args = sys.argv[1:]
    first_option = next((i for i, arg in enumerate(args) if arg.startswith("-")), len(args))
    only, options = set(args[:first_option]), args[first_option:]
    scripts = [
        s
        for s in sorted(HERE.glob("*.py"))
        if not s.name.startswith("_") and (not only or s.stem in only)
    ]
    unknown = only - {s.stem for s in scripts}
    if unknown:
        sys.exit(f"no benchmark named {', '.join(sorted(unknown))} in {HERE}")
    for script in scripts:
        print(f"== {script.stem}", flush=True)
        # The script parses its own options: it must not see the names of the scripts to run.
        sys.argv = [str(script), *options]
        runpy.run_path(str(script), run_name="__main__")


if __name__ == "__main__":
    main()
