"""tree_view through the executor: ignore rules, skipped clutter, depth, caps, escapes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from luminamind.config import Settings
from luminamind.errors import PathEscapeError, ToolArgumentsError, ToolExecutionError
from luminamind.runtime import ToolRuntime
from luminamind.tools.code import TreeResult
from tests.support.code_tools import code_runtime


@pytest.fixture
def rt(settings: Settings) -> ToolRuntime:
    return code_runtime(settings)


async def tree_view(rt: ToolRuntime, **args: Any) -> TreeResult:
    result = await rt.executor.acall("tree_view", args, context=rt.context)
    assert isinstance(result, TreeResult)
    return result


def make(root: Path, *paths: str) -> None:
    for rel in paths:
        target = root / rel
        if rel.endswith("/"):
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("x" * len(rel))


async def test_renders_text_and_entries(rt: ToolRuntime, workspace_dir: Path) -> None:
    make(workspace_dir, "src/pkg/mod.py", "src/main.py", "README.md", "a.txt")
    result = await tree_view(rt)
    assert result.tree == "\n".join(
        [
            "./",
            "├── src/",
            "│   ├── pkg/",
            "│   │   └── mod.py",
            "│   └── main.py",
            "├── a.txt",
            "└── README.md",
        ]
    )
    assert [(e.path, e.kind, e.depth) for e in result.entries] == [
        ("src", "dir", 1),
        ("a.txt", "file", 1),
        ("README.md", "file", 1),
        ("src/pkg", "dir", 2),
        ("src/main.py", "file", 2),
        ("src/pkg/mod.py", "file", 3),
    ]
    assert result.entries[1].size == len("a.txt")
    assert result.entries[0].size is None
    assert (result.directories, result.files) == (2, 4)
    assert not result.truncated
    assert result.notice is None


async def test_skips_clutter_and_virtualenvs(rt: ToolRuntime, workspace_dir: Path) -> None:
    make(
        workspace_dir,
        ".git/HEAD",
        "node_modules/left-pad/index.js",
        "__pycache__/m.pyc",
        ".venv/bin/python",
        "venv/bin/python",
        "env-3.11/pyvenv.cfg",
        "env-3.11/lib/x.py",
        "pkg/__pycache__/x.pyc",
        "pkg/mod.py",
    )
    result = await tree_view(rt, show_hidden=True)
    assert [e.path for e in result.entries] == ["pkg", "pkg/mod.py"]
    assert set(result.skipped) == {
        ".git",
        "node_modules",
        "__pycache__",
        ".venv",
        "venv",
        "env-3.11",
        "pkg/__pycache__",
    }


async def test_gitignore_rules_apply_per_directory(rt: ToolRuntime, workspace_dir: Path) -> None:
    make(
        workspace_dir,
        "build/out.o",
        "debug.log",
        "keep.log",
        "src/gen/g.py",
        "src/a.py",
        "src/notes.tmp",
        "src/lib/keep.tmp",
    )
    (workspace_dir / ".gitignore").write_text("build/\n*.log\n!keep.log\n*.tmp\n")
    (workspace_dir / "src" / ".gitignore").write_text("gen/\n")
    (workspace_dir / "src" / "lib" / ".ignore").write_text("!keep.tmp\n")
    result = await tree_view(rt, depth=5)
    assert {e.path for e in result.entries} == {
        "keep.log",
        "src",
        "src/a.py",
        "src/lib",
        "src/lib/keep.tmp",
    }
    assert result.ignored == 4  # build/, debug.log, src/gen/, src/notes.tmp
    # Listing a subdirectory still applies the ignore files above it in the workspace.
    sub = await tree_view(rt, path="src")
    assert {e.path for e in sub.entries} == {"src/a.py", "src/lib", "src/lib/keep.tmp"}
    assert sub.tree.splitlines()[0] == "src/"


async def test_hidden_entries_are_optional(rt: ToolRuntime, workspace_dir: Path) -> None:
    make(workspace_dir, ".env", ".config/x.toml", "visible.txt")
    hidden = await tree_view(rt)
    assert [e.path for e in hidden.entries] == ["visible.txt"]
    shown = await tree_view(rt, show_hidden=True)
    assert {e.path for e in shown.entries} == {".config", ".config/x.toml", ".env", "visible.txt"}


async def test_depth_limits_levels(rt: ToolRuntime, workspace_dir: Path) -> None:
    make(workspace_dir, "a/b/c/d/e.txt")
    result = await tree_view(rt, depth=2)
    assert [e.path for e in result.entries] == ["a", "a/b"]
    deep = await tree_view(rt, depth=20)
    assert deep.entries[-1].path == "a/b/c/d/e.txt"


async def test_cap_keeps_top_levels_first(rt: ToolRuntime, workspace_dir: Path) -> None:
    make(workspace_dir, "d1/x/1.txt", "d1/y.txt", "d2/z.txt", "f1.txt", "f2.txt", "f3.txt")
    result = await tree_view(rt, limit=6)
    assert result.truncated
    assert result.notice is not None
    assert "subdirectory" in result.notice
    assert [e.path for e in result.entries] == [
        "d1",
        "d2",
        "f1.txt",
        "f2.txt",
        "f3.txt",
        "d1/x",
    ]
    assert result.entries[0].children_omitted == 1
    assert "│   └── … 1 more (cap reached)" in result.tree.splitlines()


async def test_settings_cap_wins(settings: Settings, workspace_dir: Path) -> None:
    rt = code_runtime(settings, max_entries=2)
    make(workspace_dir, "a.txt", "b.txt", "c.txt")
    result = await tree_view(rt, limit=50)
    assert len(result.entries) == 2
    assert result.truncated
    assert result.tree.endswith("└── … 1 more (cap reached)")


async def test_symlinks_are_listed_not_followed(
    rt: ToolRuntime, workspace_dir: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    make(outside, "secret.txt")
    (workspace_dir / "out").symlink_to(outside)
    (workspace_dir / "loop").symlink_to(workspace_dir)
    result = await tree_view(rt, depth=5)
    assert [(e.path, e.kind) for e in result.entries] == [("loop", "symlink"), ("out", "symlink")]


async def test_escapes_are_refused(rt: ToolRuntime, workspace_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    make(outside, "sub/secret.txt")
    (workspace_dir / "link").symlink_to(outside)
    for path in ("..", "/", str(outside), "link", "link/sub", "../outside"):
        with pytest.raises(PathEscapeError):
            await tree_view(rt, path=path)
    with pytest.raises(PathEscapeError, match="NUL"):
        await tree_view(rt, path="\x00")


async def test_not_a_directory(rt: ToolRuntime, workspace_dir: Path) -> None:
    make(workspace_dir, "f.txt")
    with pytest.raises(ToolExecutionError, match="is a file"):
        await tree_view(rt, path="f.txt")
    with pytest.raises(ToolExecutionError, match="missing"):
        await tree_view(rt, path="nope")


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"depth": 0}, "depth"),
        ({"depth": 21}, "depth"),
        ({"depth": "deep"}, "depth"),
        ({"limit": 0}, "limit"),
        ({"show_hidden": "sometimes"}, "show_hidden"),
        ({"path": ["a"]}, "path"),
        ({"recursive": True}, "recursive"),
    ],
)
async def test_bad_arguments_name_the_field(
    rt: ToolRuntime, args: dict[str, Any], field: str
) -> None:
    with pytest.raises(ToolArgumentsError) as info:
        await rt.executor.acall("tree_view", args, context=rt.context)
    assert field in info.value.fields


async def test_malformed_ignore_lines_are_skipped(rt: ToolRuntime, workspace_dir: Path) -> None:
    # git ignores a line it cannot parse and keeps the others; so does tree_view.
    make(workspace_dir, "a.log", "b.txt")
    (workspace_dir / ".gitignore").write_text("!\n*.log\n\\\n")
    result = await tree_view(rt)
    assert [e.path for e in result.entries] == ["b.txt"]
    assert result.ignored == 1
