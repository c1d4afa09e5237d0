"""A directory swapped for a symlink to the outside, again and again, while the file tools run.

The check (``Workspace.resolve``) and the use (open, create the temp file, rename) are
separate steps; a swap between them must only ever make a call fail. Each tool runs in a loop
against a thread that keeps swapping ``d`` between a real directory and a symlink to a
directory outside; afterwards the outside is exactly as it was and no reply held its secret.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path

import pytest

from luminamind.config import Settings
from luminamind.errors import LuminaError
from luminamind.runtime import ToolRuntime, build_tool_runtime

SECRET = "OUTSIDE-SECRET-7f3a"
SECONDS_PER_TOOL = 1.5


def _outside_state(outside: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in outside.iterdir()}


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("read_file", {"path": "d/f.txt"}),
        ("write_file", {"path": "d/f.txt", "content": "inside\n"}),
        ("copy_file", {"source": "d/f.txt", "destination": "copy.txt"}),
        ("copy_file", {"source": "src.txt", "destination": "d/f.txt"}),
        (
            "multi_replace_in_file",
            {"path": "d/f.txt", "replacements": [{"old": "inside", "new": "inside"}]},
        ),
        ("delete_file", {"path": "d/f.txt"}),
    ],
)
async def test_a_swapped_directory_never_leads_outside(
    settings: Settings,
    workspace_dir: Path,
    tmp_path: Path,
    tool: str,
    arguments: dict[str, object],
) -> None:
    rt: ToolRuntime = build_tool_runtime(settings, surface="cli", use_cache=False)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "f.txt").write_text(SECRET + "\n")
    before = _outside_state(outside)
    real, link = workspace_dir / "d.real", workspace_dir / "d.link"
    real.mkdir()
    (real / "f.txt").write_text("inside\n")
    (workspace_dir / "src.txt").write_text("inside\n")
    link.symlink_to(outside, target_is_directory=True)
    os.rename(real, workspace_dir / "d")
    stop = threading.Event()

    def swap() -> None:
        d = workspace_dir / "d"
        while not stop.is_set():
            # d: real dir -> symlink to outside -> real dir, each step one rename.
            with contextlib.suppress(OSError):
                os.rename(d, real)
                os.rename(link, d)
                time.sleep(0.0005)
                os.rename(d, link)
                os.rename(real, d)
                if not (d / "f.txt").exists():
                    (d / "f.txt").write_text("inside\n")

    swapper = threading.Thread(target=swap, daemon=True)
    swapper.start()
    replies, failures = 0, 0
    deadline = time.monotonic() + SECONDS_PER_TOOL
    try:
        while time.monotonic() < deadline:
            try:
                result = await rt.executor.acall(tool, arguments, context=rt.context, approved=True)
            except LuminaError:
                failures += 1
                continue
            replies += 1
            assert SECRET not in result.model_dump_json()
    finally:
        stop.set()
        swapper.join(timeout=5)
    assert replies + failures > 10
    assert _outside_state(outside) == before, "something outside was created or changed"
