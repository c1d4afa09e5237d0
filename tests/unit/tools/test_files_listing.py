"""list_directory and file_search in depth: kinds, times, caps, glob anchoring, ignore rules."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from luminamind.config import Settings, load_settings
from luminamind.errors import ToolArgumentsError, ToolExecutionError
from luminamind.runtime import ToolRuntime, build_tool_runtime
from luminamind.tools import ToolRegistry
from luminamind.tools import files as file_tools


@pytest.fixture
def rt(settings: Settings) -> ToolRuntime:
    return build_tool_runtime(
        settings, surface="cli", registry=ToolRegistry(file_tools.TOOLS), use_cache=False
    )


async def call(rt: ToolRuntime, name: str, **args: Any) -> Any:
    return await rt.executor.acall(name, args, context=rt.context)


def populate(root: Path, *paths: str) -> None:
    for rel in paths:
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(rel)


async def test_entries_have_kind_size_and_utc_mtime(rt: ToolRuntime, workspace_dir: Path) -> None:
    populate(workspace_dir, "b.txt", "A.md", "sub/x")
    (workspace_dir / "link").symlink_to("b.txt")
    os.mkfifo(workspace_dir / "pipe")
    os.utime(workspace_dir / "b.txt", (0, 1_700_000_000))
    listing = await call(rt, "list_directory")
    by_name = {e.name: e for e in listing.entries}
    assert [e.name for e in listing.entries] == ["sub", "A.md", "b.txt", "link", "pipe"]
    assert [by_name[n].kind for n in ("sub", "b.txt", "link", "pipe")] == [
        "dir",
        "file",
        "symlink",
        "other",
    ]
    assert by_name["b.txt"].size == 5
    assert by_name["sub"].size is None
    assert by_name["b.txt"].modified == "2023-11-14T22:13:20+00:00"
    parsed = datetime.fromisoformat(by_name["A.md"].modified)
    assert parsed.tzinfo == UTC
    assert (listing.total, listing.truncated, listing.path) == (5, False, ".")
    nested = await call(rt, "list_directory", path="sub")
    assert (nested.path, [e.name for e in nested.entries]) == ("sub", ["x"])


async def test_listing_refusals(rt: ToolRuntime, workspace_dir: Path) -> None:
    populate(workspace_dir, "f.txt")
    with pytest.raises(ToolExecutionError, match="'nope' does not exist"):
        await call(rt, "list_directory", path="nope")
    with pytest.raises(ToolExecutionError, match=r"'f\.txt/x' does not exist"):
        await call(rt, "list_directory", path="f.txt/x")
    with pytest.raises(ToolExecutionError, match="not a directory; use read_file"):
        await call(rt, "list_directory", path="f.txt")


async def test_the_limit_never_exceeds_max_entries(workspace_dir: Path, tmp_path: Path) -> None:
    settings = load_settings(
        workspace=workspace_dir, data_dir=tmp_path / "d", limits={"max_entries": 2}
    )
    rt = build_tool_runtime(
        settings, surface="cli", registry=ToolRegistry(file_tools.TOOLS), use_cache=False
    )
    populate(workspace_dir, "a", "b", "c", "d", "e")
    listing = await call(rt, "list_directory", limit=50)
    assert (len(listing.entries), listing.total, listing.truncated) == (2, 5, True)
    assert listing.next_offset == 2
    found = await call(rt, "file_search", pattern="*", limit=50)
    assert (found.paths, found.total, found.truncated, found.next_offset) == (
        ["a", "b"],
        5,
        True,
        2,
    )


@pytest.mark.parametrize("limit", [None, 1, 2, 3])
async def test_reading_on_from_next_offset_lists_everything_once(
    rt: ToolRuntime, workspace_dir: Path, limit: int | None
) -> None:
    populate(workspace_dir, "sub/x", "a", "b", "c", "d")
    for tool, key, extra in (
        ("list_directory", "entries", {}),
        ("file_search", "paths", {"pattern": "*"}),
    ):
        seen: list[Any] = []
        offset: int | None = 0
        while offset is not None:
            args = {**extra, "offset": offset} | ({"limit": limit} if limit else {})
            page = await call(rt, tool, **args)
            seen += getattr(page, key)
            assert page.truncated == (page.next_offset is not None)
            offset = page.next_offset
        names = [e.name for e in seen] if key == "entries" else seen
        expected = (
            ["sub", "a", "b", "c", "d"] if key == "entries" else ["a", "b", "c", "d", "sub/x"]
        )
        assert names == expected
    past = await call(rt, "list_directory", offset=99)
    assert (past.entries, past.total, past.truncated, past.next_offset) == ([], 5, False, None)


async def test_glob_anchoring_follows_gitignore_rules(rt: ToolRuntime, workspace_dir: Path) -> None:
    populate(workspace_dir, "a.py", "src/b.py", "src/x/c.py", "src/x/test_d.py", "docs/README.md")

    async def paths(pattern: str, path: str = ".") -> list[str]:
        return list((await call(rt, "file_search", pattern=pattern, path=path)).paths)

    assert await paths("*.py") == ["a.py", "src/b.py", "src/x/c.py", "src/x/test_d.py"]
    assert await paths("src/*.py") == ["src/b.py"]
    assert await paths("x/*.py") == [], "a pattern with '/' is anchored at the search path"
    assert await paths("x/*.py", path="src") == ["src/x/c.py", "src/x/test_d.py"]
    assert await paths("src/**/test_*.py") == ["src/x/test_d.py"]
    assert await paths("**/README*") == ["docs/README.md"]
    assert await paths("*.{md,py}", path="docs") == ["docs/README.md"]
    assert await paths("src/x/") == ["src/x/c.py", "src/x/test_d.py"], "a directory, whole"
    assert await paths("{docs,src/x}/*.md") == ["docs/README.md"]


async def test_ignore_rules_hidden_files_and_git(rt: ToolRuntime, workspace_dir: Path) -> None:
    populate(
        workspace_dir,
        "keep.py",
        "gen/out.py",
        "pkg/keep.py",
        "pkg/local.py",
        ".config/tool.py",
        ".git/hooks/pre.py",
    )
    (workspace_dir / ".gitignore").write_text("gen/\n# comment\n")
    (workspace_dir / "pkg" / ".gitignore").write_text("local.py\n")
    found = await call(rt, "file_search", pattern="*.py")
    assert found.paths == ["keep.py", "pkg/keep.py"]
    hidden = await call(rt, "file_search", pattern="*.py", show_hidden=True)
    assert hidden.paths == [".config/tool.py", "keep.py", "pkg/keep.py"], ".git is never listed"
    ignores = await call(rt, "file_search", pattern=".gitignore", show_hidden=True)
    assert ignores.paths == [".gitignore", "pkg/.gitignore"]


async def test_search_refusals(rt: ToolRuntime, workspace_dir: Path) -> None:
    populate(workspace_dir, "f.txt")
    for pattern in ("!*.py", "a\x00b", "*.{py", "{a,{b,c}}", "{a,b}{c,d}{e,f}{g,h}{i,j}{k,l}{m,n}"):
        with pytest.raises(ToolArgumentsError) as info:
            await call(rt, "file_search", pattern=pattern)
        assert info.value.fields == ("pattern",)
    with pytest.raises(ToolExecutionError, match="not a directory"):
        await call(rt, "file_search", pattern="*", path="f.txt")
    none = await call(rt, "file_search", pattern="*.rs")
    assert (none.paths, none.total, none.truncated) == ([], 0, False)


async def test_a_search_past_its_timeout_is_a_typed_error(
    workspace_dir: Path, tmp_path: Path
) -> None:
    settings = load_settings(
        workspace=workspace_dir, data_dir=tmp_path / "d", limits={"search_timeout_seconds": 1e-9}
    )
    rt = build_tool_runtime(
        settings, surface="cli", registry=ToolRegistry(file_tools.TOOLS), use_cache=False
    )
    populate(workspace_dir, "a.txt")
    with pytest.raises(ToolExecutionError, match=r"limits\.search_timeout_seconds"):
        await call(rt, "file_search", pattern="*")
