"""copy_file and delete_file in depth: modes, tree replacement, links, special files, previews."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from luminamind.config import Settings
from luminamind.errors import ToolExecutionError
from luminamind.runtime import ToolRuntime, build_tool_runtime
from luminamind.tools import ToolRegistry
from luminamind.tools import files as file_tools


@pytest.fixture
def rt(settings: Settings) -> ToolRuntime:
    return build_tool_runtime(
        settings, surface="cli", registry=ToolRegistry(file_tools.TOOLS), use_cache=False
    )


async def call(rt: ToolRuntime, name: str, **args: Any) -> Any:
    return await rt.executor.acall(name, args, context=rt.context, approved=True)


def tree(root: Path) -> dict[str, str]:
    """Every entry under ``root``: file contents, 'dir', or '-> target' for links."""
    found: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[rel] = f"-> {os.readlink(path)}"
        elif path.is_dir():
            found[rel] = "dir"
        else:
            found[rel] = path.read_text()
    return found


async def test_copy_keeps_the_mode_and_binary_content(rt: ToolRuntime, workspace_dir: Path) -> None:
    script = workspace_dir / "run.sh"
    script.write_bytes(b"#!/bin/sh\n\x00\xff")
    script.chmod(0o750)
    result = await call(rt, "copy_file", source="run.sh", destination="bin/run.sh")
    copy = workspace_dir / "bin" / "run.sh"
    assert copy.read_bytes() == script.read_bytes()
    assert stat.S_IMODE(copy.stat().st_mode) == 0o750
    assert (result.kind, result.files_copied, result.bytes_copied) == ("file", 1, 12)
    assert [p.name for p in (workspace_dir / "bin").iterdir()] == ["run.sh"], "no temp file left"


async def test_copy_refusals(rt: ToolRuntime, workspace_dir: Path) -> None:
    (workspace_dir / "a.txt").write_text("a")
    (workspace_dir / "d").mkdir()
    (workspace_dir / "d" / "f").write_text("f")
    os.mkfifo(workspace_dir / "pipe")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"source": "a.txt", "destination": "a.txt", "overwrite": True}, "the same file"),
        ({"source": "a.txt", "destination": "d", "overwrite": True}, "not a regular file"),
        ({"source": "d", "destination": "a.txt", "overwrite": True}, "a directory cannot"),
        ({"source": "pipe", "destination": "p2"}, "not a regular file or directory"),
        ({"source": "a.txt/x", "destination": "y"}, "'a.txt/x' does not exist"),
        ({"source": "a.txt", "destination": "a.txt/y"}, "a parent of 'a.txt/y' is a file"),
        ({"source": "d", "destination": "d/inner"}, "into itself"),
    ]
    for args, message in cases:
        with pytest.raises(ToolExecutionError, match=message):
            await call(rt, "copy_file", **args)
    assert sorted(p.name for p in workspace_dir.iterdir()) == ["a.txt", "d", "pipe"]
    assert tree(workspace_dir / "d") == {"f": "f"}
    assert (workspace_dir / "a.txt").read_text() == "a"


async def test_copying_a_directory_over_another_replaces_it_whole(
    rt: ToolRuntime, workspace_dir: Path
) -> None:
    src = workspace_dir / "src"
    (src / "pkg").mkdir(parents=True)
    (src / "pkg" / "m.py").write_text("new")
    (src / "rel").symlink_to("pkg/m.py")
    dst = workspace_dir / "dst"
    (dst / "pkg").mkdir(parents=True)
    (dst / "pkg" / "m.py").write_text("old")
    (dst / "stale.txt").write_text("stale")
    with pytest.raises(ToolExecutionError, match="overwrite=true"):
        await call(rt, "copy_file", source="src", destination="dst")
    assert tree(dst)["pkg/m.py"] == "old"
    result = await call(rt, "copy_file", source="src", destination="dst", overwrite=True)
    assert (result.kind, result.files_copied, result.overwritten) == ("dir", 1, True)
    assert tree(dst) == {"pkg": "dir", "pkg/m.py": "new", "rel": "-> pkg/m.py"}
    assert sorted(p.name for p in workspace_dir.iterdir()) == ["dst", "src"], "no staging left"


async def test_a_link_planted_in_the_destination_is_never_written_through(
    rt: ToolRuntime, workspace_dir: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "m.py").write_text("outside")
    (workspace_dir / "src").mkdir()
    (workspace_dir / "src" / "m.py").write_text("payload")
    (workspace_dir / "src" / "pkg").mkdir()
    (workspace_dir / "src" / "pkg" / "x.py").write_text("payload")
    dst = workspace_dir / "dst"
    dst.mkdir()
    (dst / "m.py").symlink_to(outside / "m.py")
    (dst / "pkg").symlink_to(outside)
    await call(rt, "copy_file", source="src", destination="dst", overwrite=True)
    assert tree(outside) == {"m.py": "outside"}
    assert tree(dst) == {"m.py": "payload", "pkg": "dir", "pkg/x.py": "payload"}


async def test_a_failed_tree_copy_copies_nothing(rt: ToolRuntime, workspace_dir: Path) -> None:
    (workspace_dir / "src").mkdir()
    (workspace_dir / "src" / "ok.txt").write_text("ok")
    os.mkfifo(workspace_dir / "src" / "pipe")
    with pytest.raises(ToolExecutionError, match=r"could not be copied .*nothing was copied"):
        await call(rt, "copy_file", source="src", destination="dst")
    assert sorted(p.name for p in workspace_dir.iterdir()) == ["src"]


async def test_copy_previews(rt: ToolRuntime, workspace_dir: Path) -> None:
    (workspace_dir / "a.txt").write_text("one\ntwo\n")
    (workspace_dir / "b.txt").write_text("one\n")
    (workspace_dir / "img.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00")
    (workspace_dir / "d").mkdir()

    async def preview(**args: Any) -> str:
        (change,) = await rt.executor.apreview("copy_file", args, context=rt.context)
        return change.diff

    assert "+two\n" in await preview(source="a.txt", destination="b.txt", overwrite=True)
    assert (await preview(source="a.txt", destination="c.txt")).startswith("--- /dev/null")
    assert await preview(source="img.png", destination="b.txt", overwrite=True) == (
        "Binary file b.txt would be replaced\n"
    )
    assert await preview(source="d", destination="e") == "Creates directory e with a copy of d\n"
    assert await preview(source="d", destination="a.txt") == (
        "Replaces directory a.txt with a copy of d\n"
    )
    assert (workspace_dir / "b.txt").read_text() == "one\n"
    assert not (workspace_dir / "c.txt").exists()


async def test_delete_kinds_and_counts(rt: ToolRuntime, workspace_dir: Path) -> None:
    (workspace_dir / "f.txt").write_text("x")
    (workspace_dir / "d" / "e").mkdir(parents=True)
    (workspace_dir / "d" / "e" / "g").write_text("g")
    (workspace_dir / "d" / "dangling").symlink_to("nowhere")
    (workspace_dir / "dlink").symlink_to("d")
    os.mkfifo(workspace_dir / "pipe")
    assert (await call(rt, "delete_file", path="f.txt")).kind == "file"
    assert (await call(rt, "delete_file", path="pipe")).kind == "other"
    link = await call(rt, "delete_file", path="dlink")
    assert (link.kind, link.path) == ("symlink", "dlink")
    assert (workspace_dir / "d" / "e" / "g").exists(), "a link to a directory goes, not its files"
    assert (await call(rt, "delete_file", path="d/dangling")).kind == "symlink"
    gone = await call(rt, "delete_file", path="d", recursive=True)
    assert (gone.kind, gone.entries_deleted) == ("dir", 3)
    assert list(workspace_dir.iterdir()) == []
    with pytest.raises(ToolExecutionError, match="'d' does not exist"):
        await call(rt, "delete_file", path="d")


async def test_delete_previews(rt: ToolRuntime, workspace_dir: Path) -> None:
    (workspace_dir / "t.txt").write_text("a\nb\n")
    (workspace_dir / "bin.dat").write_bytes(b"\x00\x01\x02")
    (workspace_dir / "d").mkdir()
    (workspace_dir / "d" / "x").write_text("x")
    (workspace_dir / "l").symlink_to("t.txt")

    async def preview(path: str) -> Any:
        (change,) = await rt.executor.apreview("delete_file", {"path": path}, context=rt.context)
        return change

    text = await preview("t.txt")
    assert text.diff == "--- a/t.txt\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-a\n-b\n"
    assert (text.old_text, text.new_text) == ("a\nb\n", None)
    assert (await preview("bin.dat")).diff == "Deletes binary file bin.dat (3 bytes)\n"
    assert (await preview("d")).diff == "Deletes directory d (1 entries)\n"
    assert (await preview("l")).diff == "Deletes symlink l -> t.txt (not its target)\n"
    assert (await preview("none")).diff == "none does not exist: nothing to delete\n"
    assert sorted(p.name for p in workspace_dir.iterdir()) == ["bin.dat", "d", "l", "t.txt"]


async def test_a_hard_linked_file_in_a_copied_directory_obeys_the_hardlink_rule(
    rt: ToolRuntime, workspace_dir: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("outside")
    (workspace_dir / "src").mkdir()
    (workspace_dir / "src" / "ok.txt").write_text("ok")
    os.link(outside, workspace_dir / "src" / "linked.txt")
    with pytest.raises(ToolExecutionError, match=r"linked\.txt: a file with 2 hard links"):
        await call(rt, "copy_file", source="src", destination="dst")
    assert sorted(p.name for p in workspace_dir.iterdir()) == ["src"], "nothing copied"
    # Inside a package directory (node_modules, .venv...) hard links are the norm: copied.
    (workspace_dir / "src" / "node_modules").mkdir()
    os.rename(workspace_dir / "src" / "linked.txt", workspace_dir / "src/node_modules/l.txt")
    result = await call(rt, "copy_file", source="src", destination="dst")
    assert result.files_copied == 2
    assert (workspace_dir / "dst" / "node_modules" / "l.txt").stat().st_nlink == 1
