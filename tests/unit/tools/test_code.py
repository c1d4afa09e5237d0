"""grep_search through the executor, on the real rg binary, plus the code family's contract."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest

from luminamind.config import Settings
from luminamind.errors import (
    PathEscapeError,
    ToolArgumentsError,
    ToolExecutionError,
)
from luminamind.runtime import ToolRuntime
from luminamind.security.launcher import running_launcher
from luminamind.tools import code
from luminamind.tools.code import GrepResult
from tests.support.code_tools import code_runtime


@pytest.fixture
def rt(settings: Settings) -> ToolRuntime:
    return code_runtime(settings)


async def grep(rt: ToolRuntime, **args: Any) -> GrepResult:
    result = await rt.executor.acall("grep_search", args, context=rt.context)
    assert isinstance(result, GrepResult)
    return result


def rg_children() -> list[int]:
    """Live rg processes started by this test process (or by its sandbox launcher)."""
    launcher = running_launcher()
    parents = {os.getpid()} | ({launcher.pid} if launcher is not None else set())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        if name == "rg" and int(fields[1]) in parents and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def test_code_family_annotations() -> None:
    specs = {spec.name: spec for spec in code.TOOLS}
    assert list(specs) == ["grep_search", "tree_view", "multi_replace_in_file", "apply_patch"]
    for name in ("grep_search", "tree_view"):
        assert specs[name].annotations.read_only
        assert not specs[name].annotations.needs_approval
        assert specs[name].preview is None
    for name in ("multi_replace_in_file", "apply_patch"):
        ann = specs[name].annotations
        assert ann.destructive
        assert ann.needs_approval
        assert not ann.read_only
        assert specs[name].preview is not None
    assert all(spec.family == "code" for spec in code.TOOLS)
    schema = specs["grep_search"].input_schema()
    assert schema["required"] == ["pattern"]
    assert schema["additionalProperties"] is False


@pytest.fixture
def tree(workspace_dir: Path) -> Path:
    (workspace_dir / "src").mkdir()
    (workspace_dir / "src" / "app.py").write_text(
        "import os\n\ndef main():\n    return Value\n\nvalue = 1\n"
    )
    (workspace_dir / "src" / "util.js").write_text("const value = 2;\n")
    (workspace_dir / "README.md").write_text("The value of a.c is abc\n")
    return workspace_dir


async def test_matches_have_relative_paths_lines_and_columns(rt: ToolRuntime, tree: Path) -> None:
    result = await grep(rt, pattern="value", case="sensitive")
    found = [(m.path, m.line, m.column, m.text) for m in result.matches]
    assert found == [
        ("README.md", 1, 5, "The value of a.c is abc"),
        ("src/app.py", 6, 1, "value = 1"),
        ("src/util.js", 1, 7, "const value = 2;"),
    ]
    assert result.files_with_matches == 3
    assert result.total_matches == 3
    assert not result.truncated
    assert result.notice is None


async def test_literal_and_regex(rt: ToolRuntime, tree: Path) -> None:
    regex = await grep(rt, pattern="a.c")
    assert {m.text for m in regex.matches} == {"The value of a.c is abc"}
    assert regex.matches[0].column == 14  # "a.c" itself is the first match of the regex
    literal = await grep(rt, pattern="a.c is", literal=True)
    assert len(literal.matches) == 1
    none = await grep(rt, pattern="a.c is abc(", literal=True)
    assert none.matches == []
    assert none.total_matches == 0


async def test_case_modes(rt: ToolRuntime, tree: Path) -> None:
    smart_lower = await grep(rt, pattern="value", path="src/app.py")
    assert [m.line for m in smart_lower.matches] == [4, 6]
    smart_upper = await grep(rt, pattern="Value", path="src/app.py")
    assert [m.line for m in smart_upper.matches] == [4]
    sensitive = await grep(rt, pattern="value", path="src/app.py", case="sensitive")
    assert [m.line for m in sensitive.matches] == [6]
    insensitive = await grep(rt, pattern="VALUE", path="src/app.py", case="insensitive")
    assert [m.line for m in insensitive.matches] == [4, 6]


async def test_include_and_exclude_globs(rt: ToolRuntime, tree: Path) -> None:
    only_py = await grep(rt, pattern="value", include=["*.py"])
    assert {m.path for m in only_py.matches} == {"src/app.py"}
    no_md = await grep(rt, pattern="value", exclude=["*.md", "*.js"])
    assert {m.path for m in no_md.matches} == {"src/app.py"}


async def test_context_lines(rt: ToolRuntime, workspace_dir: Path) -> None:
    (workspace_dir / "f.txt").write_text("".join(f"line {i}\n" for i in range(1, 11)))
    result = await grep(rt, pattern="^line (4|6)$", context_lines=2)
    first, second = result.matches
    assert first.line == 4
    assert [(c.line, c.text) for c in first.before] == [(2, "line 2"), (3, "line 3")]
    assert [c.line for c in first.after] == [5]
    assert [c.line for c in second.before] == [5]
    assert [c.line for c in second.after] == [7, 8]


async def test_gitignore_and_hidden_files_are_skipped(rt: ToolRuntime, workspace_dir: Path) -> None:
    # No git repository here: the .gitignore still applies.
    (workspace_dir / ".gitignore").write_text("build/\n*.log\n!keep.log\n")
    for rel in ("build/out.txt", "x.log", "keep.log", "src/ok.txt", ".hidden/h.txt"):
        (workspace_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (workspace_dir / rel).write_text("needle\n")
    result = await grep(rt, pattern="needle")
    assert {m.path for m in result.matches} == {"keep.log", "src/ok.txt"}


async def test_cap_truncates_and_stops_early(rt: ToolRuntime, workspace_dir: Path) -> None:
    for i in range(40):
        (workspace_dir / f"f{i:02}.txt").write_text("hit\n" * 500)
    result = await grep(rt, pattern="hit", max_results=7)
    assert len(result.matches) == 7
    assert result.truncated
    assert result.total_matches is None
    assert result.notice is not None
    assert "Narrow" in result.notice
    assert rg_children() == []


async def test_settings_cap_wins_over_max_results(settings: Settings, workspace_dir: Path) -> None:
    rt = code_runtime(settings, max_matches=3)
    (workspace_dir / "f.txt").write_text("hit\n" * 10)
    result = await grep(rt, pattern="hit", max_results=100)
    assert len(result.matches) == 3
    assert result.truncated
    under = await grep(rt, pattern="hit", max_results=2)
    assert len(under.matches) == 2


async def test_output_budget_caps_results(settings: Settings, workspace_dir: Path) -> None:
    rt = code_runtime(settings, max_output_bytes=1000)
    (workspace_dir / "f.txt").write_text(("x" * 300 + "\n") * 50)
    result = await grep(rt, pattern="x")
    assert result.truncated
    assert 3 <= len(result.matches) <= 5


async def test_long_lines_are_cut(rt: ToolRuntime, workspace_dir: Path) -> None:
    (workspace_dir / "min.js").write_text("a" * 5000 + "needle" + "b" * 5000 + "\n")
    (match,) = (await grep(rt, pattern="needle")).matches
    assert len(match.text) == code.MAX_LINE_CHARS
    assert match.text_truncated
    assert match.column == 5001


async def test_pattern_and_path_are_never_flags(rt: ToolRuntime, workspace_dir: Path) -> None:
    (workspace_dir / "-n.txt").write_text("use --files here\n-e x\n")
    result = await grep(rt, pattern="--files", path="-n.txt")
    assert [m.line for m in result.matches] == [1]
    dash = await grep(rt, pattern="-e", path="-n.txt", literal=True)
    assert [m.line for m in dash.matches] == [2]


async def test_non_utf8_content_is_reported_not_fatal(rt: ToolRuntime, workspace_dir: Path) -> None:
    (workspace_dir / "latin.txt").write_bytes(b"caf\xe9 needle\n")
    (match,) = (await grep(rt, pattern="needle")).matches
    assert match.text == "caf\ufffd needle"


async def test_bad_regex_is_an_argument_error(rt: ToolRuntime, tree: Path) -> None:
    with pytest.raises(ToolArgumentsError, match="unclosed group") as info:
        await grep(rt, pattern="(unclosed")
    assert info.value.fields == ("pattern",)
    with pytest.raises(ToolArgumentsError, match="look-around") as info:
        await grep(rt, pattern="a(?=b)")
    assert info.value.fields == ("pattern",)


async def test_bad_globs_are_argument_errors(rt: ToolRuntime, tree: Path) -> None:
    with pytest.raises(ToolArgumentsError, match="glob") as info:
        await grep(rt, pattern="x", include=["{a"])
    assert info.value.fields == ("include",)
    with pytest.raises(ToolArgumentsError, match="unclosed alternate group") as info:
        await grep(rt, pattern="x", exclude=["*.md", "{b"])
    assert info.value.fields == ("exclude",)
    with pytest.raises(ToolArgumentsError, match="regex parse error") as info:
        await grep(rt, pattern="glob (")
    assert info.value.fields == ("pattern",)
    with pytest.raises(ToolArgumentsError, match="exclude") as info:
        await grep(rt, pattern="x", include=["!*.py"])
    assert info.value.fields == ("include",)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({}, "pattern"),
        ({"pattern": ""}, "pattern"),
        ({"pattern": "x", "bogus": 1}, "bogus"),
        ({"pattern": 3}, "pattern"),
        ({"pattern": "x", "context_lines": "many"}, "context_lines"),
        ({"pattern": "x", "context_lines": 99}, "context_lines"),
        ({"pattern": "x", "case": "upper"}, "case"),
        ({"pattern": "x", "max_results": 0}, "max_results"),
        ({"pattern": "x", "include": "*.py"}, "include"),
        ({"pattern": "x", "literal": "maybe"}, "literal"),
    ],
)
async def test_bad_arguments_name_the_field(
    rt: ToolRuntime, args: dict[str, Any], field: str
) -> None:
    with pytest.raises(ToolArgumentsError) as info:
        await rt.executor.acall("grep_search", args, context=rt.context)
    assert field in info.value.fields


async def test_escapes_are_refused(rt: ToolRuntime, workspace_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("password\n")
    (workspace_dir / "link").symlink_to(outside)
    (workspace_dir / "filelink").symlink_to(outside / "secret.txt")
    for path in ("..", "../outside", "/etc", str(outside), "link", "link/secret.txt", "filelink"):
        with pytest.raises(PathEscapeError):
            await grep(rt, pattern="password", path=path)
    with pytest.raises(PathEscapeError, match="NUL"):
        await grep(rt, pattern="password", path="a\x00b")
    # Searching the workspace does not follow the symlinks out of it.
    assert (await grep(rt, pattern="password")).matches == []


async def test_missing_path(rt: ToolRuntime) -> None:
    with pytest.raises(ToolExecutionError, match="does not exist"):
        await grep(rt, pattern="x", path="nope")


async def test_timeout_kills_rg(settings: Settings, workspace_dir: Path) -> None:
    rt = code_runtime(settings, search_timeout_seconds=0.3)
    os.mkfifo(workspace_dir / "pipe")  # rg blocks opening a FIFO nobody writes to
    started = time.monotonic()
    result = await grep(rt, pattern="x", path="pipe")
    assert time.monotonic() - started < 3
    assert result.timed_out
    assert result.truncated
    assert result.notice is not None
    assert "search_timeout_seconds" in result.notice
    assert rg_children() == []


async def test_cancellation_kills_rg(rt: ToolRuntime, workspace_dir: Path) -> None:
    os.mkfifo(workspace_dir / "pipe")
    task = asyncio.create_task(grep(rt, pattern="x", path="pipe"))
    for _ in range(100):
        await asyncio.sleep(0.02)
        if rg_children():
            break
    assert rg_children()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert rg_children() == []
