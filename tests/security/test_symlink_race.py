"""A directory swapped for a symlink to the outside, again and again, while every tool runs.

The check (``Workspace.resolve``) and the use (open, list, walk, create the temp file, rename)
are separate steps; a swap between them must only ever make a call fail. Each tool of the
registry that touches the file system runs in a loop against a thread that keeps swapping ``d``
between a real directory and a symlink to a directory outside. Afterwards the outside is exactly
as it was, no reply held its secret content or the name of a file only the outside has, and no
file in the workspace holds the secret (a copy or a write that went through the link).

The tools come from the registry, not from a list here: a tool that takes a path and has no
race arguments below fails the test until it is given some.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from luminamind.config import Settings
from luminamind.errors import LuminaError
from luminamind.runtime import ToolRuntime, build_tool_runtime
from luminamind.security.sandbox import sandbox_status
from luminamind.tools.catalog import build_default_registry

SECRET = "OUTSIDE-SECRET-7f3a"
OUTSIDE_ONLY = "only-outside-9c1e.txt"  # a name a listing must never show
SECONDS_PER_CASE = 1.0
# Arguments that name a file, a directory or a command: a tool with one of them touches the
# file system and must be raced.
PATH_FIELDS = frozenset({"path", "source", "destination", "patch", "command", "cwd"})

_PATCH = """--- a/d/f.txt
+++ b/d/f.txt
@@ -1 +1 @@
-inside
+inside
"""

# Per tool, the calls raced: through the swapped directory, into it, and around it.
RACE_ARGUMENTS: dict[str, list[dict[str, Any]]] = {
    "read_file": [{"path": "d/f.txt"}],
    "write_file": [
        {"path": "d/f.txt", "content": "inside\n"},
        {"path": "d/new/deeper.txt", "content": "inside\n", "create_parents": True},
    ],
    "copy_file": [
        {"source": "d/f.txt", "destination": "copy.txt", "overwrite": True},
        {"source": "src.txt", "destination": "d/f.txt", "overwrite": True},
        {"source": "d", "destination": "copied", "overwrite": True},
        {"source": "srcdir", "destination": "d/sub", "overwrite": True},
    ],
    "delete_file": [{"path": "d/f.txt"}, {"path": "d/sub", "recursive": True}],
    "list_directory": [{"path": "d", "show_hidden": True}],
    "file_search": [{"pattern": "*", "path": "d"}, {"pattern": "*.txt", "show_hidden": True}],
    "grep_search": [{"pattern": "SECRET", "path": "d"}, {"pattern": "SECRET"}],
    "tree_view": [{"path": "d", "show_hidden": True}, {"show_hidden": True}],
    "multi_replace_in_file": [
        {"path": "d/f.txt", "replacements": [{"old": "inside", "new": "inside"}]}
    ],
    "apply_patch": [{"patch": _PATCH}],
    "shell": [{"command": "cat d/f.txt"}, {"command": "ls d"}, {"command": "cp src.txt d/f.txt"}],
}


def _touches_files(name: str) -> bool:
    spec = build_default_registry().get(name)
    return bool(PATH_FIELDS & set(spec.input_schema().get("properties", {})))


def _cases() -> list[Any]:
    cases = []
    for spec in build_default_registry():
        if not _touches_files(spec.name):
            continue
        for index, arguments in enumerate(RACE_ARGUMENTS.get(spec.name, [{}])):
            cases.append(pytest.param(spec.name, arguments, id=f"{spec.name}-{index}"))
    return cases


def test_every_tool_that_takes_a_path_is_raced() -> None:
    raced = {spec.name for spec in build_default_registry() if _touches_files(spec.name)}
    assert {"read_file", "list_directory", "tree_view", "shell"} <= raced
    missing = raced - RACE_ARGUMENTS.keys()
    assert not missing, f"give RACE_ARGUMENTS for {sorted(missing)}"


def _state(top: Path) -> dict[str, bytes | str]:
    """Every entry under ``top``: file contents, link targets, directories."""
    state: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            rel = path.relative_to(top).as_posix()
            if path.is_symlink():
                state[rel] = "-> " + os.readlink(path)
            elif path.is_file():
                state[rel] = path.read_bytes()
            else:
                state[rel] = "dir"
    return state


def _secret_inside(workspace: Path) -> list[str]:
    """Workspace files (links not followed) that hold the secret or carry the outside name."""
    found = []
    for dirpath, _, filenames in os.walk(workspace):
        for name in filenames:
            path = Path(dirpath, name)
            with contextlib.suppress(OSError):
                if name == OUTSIDE_ONLY or (
                    not path.is_symlink() and SECRET.encode() in path.read_bytes()
                ):
                    found.append(str(path.relative_to(workspace)))
    return found


@pytest.mark.parametrize(("tool", "arguments"), _cases())
async def test_a_swapped_directory_never_leads_outside(
    settings: Settings,
    workspace_dir: Path,
    tmp_path: Path,
    tool: str,
    arguments: dict[str, Any],
) -> None:
    if tool == "shell" and not sandbox_status().available:
        pytest.skip(f"no OS sandbox here ({sandbox_status().reason}): the policy alone races")
    rt: ToolRuntime = build_tool_runtime(settings, surface="cli", use_cache=False)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "f.txt").write_text(SECRET + "\n")
    (outside / OUTSIDE_ONLY).write_text(SECRET + "\n")
    (outside / "sub").mkdir()
    (outside / "sub" / "g.txt").write_text(SECRET + "\n")
    before = _state(outside)
    real, link = workspace_dir / "d.real", workspace_dir / "d.link"
    real.mkdir()
    (real / "f.txt").write_text("inside\n")
    (workspace_dir / "src.txt").write_text("inside\n")
    (workspace_dir / "srcdir").mkdir()
    (workspace_dir / "srcdir" / "s.txt").write_text("inside\n")
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
    deadline = time.monotonic() + SECONDS_PER_CASE
    try:
        while time.monotonic() < deadline:
            try:
                result = await rt.executor.acall(tool, arguments, context=rt.context, approved=True)
            except LuminaError:
                failures += 1
                continue
            replies += 1
            reply = result.model_dump_json()
            assert SECRET not in reply, f"{tool} replied with outside content"
            assert OUTSIDE_ONLY not in reply, f"{tool} listed a name from outside"
    finally:
        stop.set()
        swapper.join(timeout=5)
    assert replies + failures > 5
    assert _state(outside) == before, "something outside was created, changed or deleted"
    assert _secret_inside(workspace_dir) == [], "outside content was copied into the workspace"
