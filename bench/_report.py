"""Writes one benchmark's results into its own section of docs/benchmarks.md.

Each benchmark owns the text between ``<!-- bench:NAME:start -->`` and ``<!-- bench:NAME:end -->``,
so benchmarks can be re-run one at a time without clobbering each other's figures.
"""

from __future__ import annotations

import platform
import re
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["machine_line", "write_section"]

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
_HEADER = """# Benchmarks

Each section is written by the script named in it (`make bench` runs them all). Figures are
from one run on the machine named in the section; ratios compare LuminaMind with the peer
measured in the same run, so they carry over between machines better than absolute times.
"""


def machine_line() -> str:
    """A one-line description of where the figures came from."""
    import os

    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    system = f"{platform.system()} {platform.machine()}"
    return f"{stamp}, {system}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def write_section(name: str, markdown: str) -> None:
    """Replace (or append) the section ``name`` of docs/benchmarks.md with ``markdown``."""
    start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    block = f"{start}\n{markdown.strip()}\n{end}"
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else _HEADER
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    text = (
        pattern.sub(lambda _: block, text)
        if pattern.search(text)
        else text.rstrip() + "\n\n" + block + "\n"
    )
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text, encoding="utf-8")
