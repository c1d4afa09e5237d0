"""multi_replace_in_file through the executor: exact counts or nothing written."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from luminamind.config import Settings, load_settings
from luminamind.errors import (
    ApprovalRequiredError,
    PathEscapeError,
    ReadOnlyPathError,
    ToolArgumentsError,
    ToolExecutionError,
)
from luminamind.runtime import ToolRuntime
from luminamind.tools._edit import Replacement, plan_replacements, write_plan
from luminamind.tools.code import MultiReplaceResult
from tests.support.code_tools import code_runtime

SOURCE = "def f(x):\n    return x + 1\n\n\ndef g(x):\n    return x + 1\n"


@pytest.fixture
def rt(settings: Settings) -> ToolRuntime:
    return code_runtime(settings)


@pytest.fixture
def src(workspace_dir: Path) -> Path:
    path = workspace_dir / "m.py"
    path.write_text(SOURCE)
    return path


async def replace(rt: ToolRuntime, path: str, *pairs: dict[str, Any], **extra: Any) -> Any:
    args = {"path": path, "replacements": list(pairs), **extra}
    result = await rt.executor.acall(
        "multi_replace_in_file", args, context=rt.context, approved=True
    )
    assert isinstance(result, MultiReplaceResult)
    return result


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


async def test_replacements_apply_in_order(rt: ToolRuntime, src: Path) -> None:
    result = await replace(
        rt,
        "m.py",
        {"old": "def f(x):", "new": "def first(x):"},
        {"old": "return x + 1", "new": "return x + 2", "expected_count": 2},
        # Counted after the first replacement: "first" exists only now.
        {"old": "def first", "new": "def one"},
    )
    assert src.read_text() == SOURCE.replace("def f", "def one").replace("x + 1", "x + 2")
    assert result.replacements == 3
    assert result.occurrences == 4
    assert result.sha256_before == hashlib.sha256(SOURCE.encode()).hexdigest()
    assert result.sha256_after == hashlib.sha256(src.read_bytes()).hexdigest()
    assert "\n-def f(x):\n" in result.diff
    assert "\n+def one(x):\n" in result.diff
    assert listing(src.parent) == ["m.py"]  # no temp file left


async def test_wrong_count_writes_nothing(rt: ToolRuntime, src: Path) -> None:
    before = src.stat()
    with pytest.raises(ToolExecutionError) as info:
        await replace(
            rt,
            "m.py",
            {"old": "def f", "new": "def h"},
            {"old": "return x + 1", "new": "return 0"},
        )
    message = info.value.message
    assert "replacement 2 of 2 matched 2 time(s)" in message
    assert "expected 1" in message
    assert "line(s) 2, 6" in message
    assert "expected_count to 2" in message
    assert "nothing was written" in message
    assert src.read_text() == SOURCE
    assert src.stat().st_mtime_ns == before.st_mtime_ns
    assert listing(src.parent) == ["m.py"]


async def test_missing_text_points_at_near_misses(rt: ToolRuntime, src: Path) -> None:
    with pytest.raises(ToolExecutionError) as info:
        await replace(rt, "m.py", {"old": "return x + 1\n  # gone", "new": ""})
    assert "matched 0 time(s)" in info.value.message
    assert "appears at line(s) 2, 6" in info.value.message
    with pytest.raises(ToolExecutionError, match="not in the file either"):
        await replace(rt, "m.py", {"old": "nowhere", "new": ""})
    assert src.read_text() == SOURCE


async def test_expected_sha256(rt: ToolRuntime, src: Path) -> None:
    digest = hashlib.sha256(SOURCE.encode()).hexdigest()
    stale = hashlib.sha256(b"older content").hexdigest()
    with pytest.raises(ToolExecutionError, match="changed since it was read"):
        await replace(rt, "m.py", {"old": "def f", "new": "def h"}, expected_sha256=stale)
    assert src.read_text() == SOURCE
    result = await replace(
        rt, "m.py", {"old": "def f", "new": "def h"}, expected_sha256=digest.upper()
    )
    assert src.read_text().startswith("def h(x)")
    # The new hash chains into the next edit.
    await replace(rt, "m.py", {"old": "def h", "new": "def k"}, expected_sha256=result.sha256_after)
    assert src.read_text().startswith("def k(x)")


async def test_file_changed_between_read_and_write(rt: ToolRuntime, src: Path) -> None:
    plan = plan_replacements(
        rt.context, "m.py", [Replacement(old="def f", new="def h")], expected_sha256=None
    )
    src.write_text(SOURCE + "# someone else's edit\n")
    with pytest.raises(ToolExecutionError, match="changed while the change was being prepared"):
        write_plan([plan.change], tool="multi_replace_in_file")
    assert src.read_text() == SOURCE + "# someone else's edit\n"
    assert listing(src.parent) == ["m.py"]


async def test_mode_and_symlink_are_kept(rt: ToolRuntime, src: Path) -> None:
    src.chmod(0o751)
    link = src.parent / "link.py"
    link.symlink_to(src)
    await replace(rt, "link.py", {"old": "def f", "new": "def h"})
    assert link.is_symlink()
    assert src.stat().st_mode & 0o777 == 0o751
    assert src.read_text().startswith("def h")


async def test_crlf_files_take_lf_edits(rt: ToolRuntime, workspace_dir: Path) -> None:
    path = workspace_dir / "win.txt"
    path.write_bytes(b"one\r\ntwo\r\nthree\r\n")
    await replace(rt, "win.txt", {"old": "one\ntwo", "new": "1\n2\n2.5"})
    assert path.read_bytes() == b"1\r\n2\r\n2.5\r\nthree\r\n"


async def test_bom_and_unicode_survive(rt: ToolRuntime, workspace_dir: Path) -> None:
    path = workspace_dir / "u.txt"
    path.write_bytes("\ufeffcafé ☕\n".encode())
    await replace(rt, "u.txt", {"old": "☕", "new": "🍵"})
    assert path.read_bytes() == "\ufeffcafé 🍵\n".encode()


async def test_binary_and_non_utf8_files_are_refused(rt: ToolRuntime, workspace_dir: Path) -> None:
    binary = workspace_dir / "blob.bin"
    binary.write_bytes(b"abc\x00def")
    with pytest.raises(ToolExecutionError, match="binary file"):
        await replace(rt, "blob.bin", {"old": "abc", "new": "xyz"})
    assert binary.read_bytes() == b"abc\x00def"
    latin = workspace_dir / "latin.txt"
    latin.write_bytes(b"caf\xe9\n")
    with pytest.raises(ToolExecutionError, match=r"not UTF-8 text \(byte 0xe9 at offset 3\)"):
        await replace(rt, "latin.txt", {"old": "caf", "new": "tea"})
    assert latin.read_bytes() == b"caf\xe9\n"


async def test_size_limits(settings: Settings, workspace_dir: Path) -> None:
    rt = code_runtime(settings, max_file_bytes=100, max_write_bytes=50)
    big = workspace_dir / "big.txt"
    big.write_text("x" * 101)
    with pytest.raises(ToolExecutionError, match="above the 100-byte limit"):
        await replace(rt, "big.txt", {"old": "x", "new": "y", "expected_count": 101})
    small = workspace_dir / "small.txt"
    small.write_text("abc\n")
    with pytest.raises(ToolExecutionError, match="max_write_bytes"):
        await replace(rt, "small.txt", {"old": "abc", "new": "z" * 60})
    assert small.read_text() == "abc\n"


async def test_not_a_file(rt: ToolRuntime, workspace_dir: Path) -> None:
    (workspace_dir / "d").mkdir()
    with pytest.raises(ToolExecutionError, match="is a directory"):
        await replace(rt, "d", {"old": "a", "new": "b"})
    with pytest.raises(ToolExecutionError, match="does not exist"):
        await replace(rt, "nope.py", {"old": "a", "new": "b"})


async def test_escapes_are_refused(rt: ToolRuntime, workspace_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "s.txt"
    secret.write_text("token = 1\n")
    (workspace_dir / "link.txt").symlink_to(secret)
    (workspace_dir / "dirlink").symlink_to(outside)
    for path in ("../outside/s.txt", str(secret), "link.txt", "dirlink/s.txt"):
        with pytest.raises(PathEscapeError):
            await replace(rt, path, {"old": "token", "new": "x"})
    with pytest.raises(PathEscapeError, match="NUL"):
        await replace(rt, "s\x00.txt", {"old": "token", "new": "x"})
    assert secret.read_text() == "token = 1\n"


async def test_read_only_root_is_refused(workspace_dir: Path, tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "f.txt").write_text("a\n")
    settings = load_settings(
        workspace=workspace_dir,
        data_dir=tmp_path / "data",
        extra_roots=[{"path": ro, "mode": "ro"}],
    )
    rt = code_runtime(settings)
    with pytest.raises(ReadOnlyPathError):
        await replace(rt, str(ro / "f.txt"), {"old": "a", "new": "b"})
    assert (ro / "f.txt").read_text() == "a\n"


async def test_needs_approval(rt: ToolRuntime, src: Path) -> None:
    args = {"path": "m.py", "replacements": [{"old": "def f", "new": "def h"}]}
    with pytest.raises(ApprovalRequiredError):
        await rt.executor.acall("multi_replace_in_file", args, context=rt.context)
    assert src.read_text() == SOURCE


async def test_preview_writes_nothing(rt: ToolRuntime, src: Path) -> None:
    args = {"path": "m.py", "replacements": [{"old": "def f", "new": "def h"}]}
    (change,) = await rt.executor.apreview("multi_replace_in_file", args, context=rt.context)
    assert change.path == "m.py"
    assert change.old_text == SOURCE
    assert change.new_text == SOURCE.replace("def f", "def h")
    assert change.diff.startswith("--- a/m.py\n+++ b/m.py\n")
    assert src.read_text() == SOURCE
    with pytest.raises(ToolExecutionError, match="matched 0 time"):
        await rt.executor.apreview(
            "multi_replace_in_file",
            {"path": "m.py", "replacements": [{"old": "zzz", "new": ""}]},
            context=rt.context,
        )


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"replacements": [{"old": "a", "new": "b"}]}, "path"),
        ({"path": "m.py"}, "replacements"),
        ({"path": "m.py", "replacements": []}, "replacements"),
        ({"path": "m.py", "replacements": [{"old": "a"}]}, "replacements.0.new"),
        ({"path": "m.py", "replacements": [{"old": "", "new": "b"}]}, "replacements.0.old"),
        (
            {"path": "m.py", "replacements": [{"old": "a", "new": "b", "count": 2}]},
            "replacements.0.count",
        ),
        (
            {"path": "m.py", "replacements": [{"old": "a", "new": "b", "expected_count": 0}]},
            "replacements.0.expected_count",
        ),
        ({"path": "m.py", "replacements": [{"old": "a", "new": 5}]}, "replacements.0.new"),
        ({"path": "m.py", "replacements": "a->b"}, "replacements"),
        (
            {"path": "m.py", "replacements": [{"old": "a", "new": "\ud800"}]},
            "replacements.0.new",
        ),
        (
            {"path": "m.py", "replacements": [{"old": "a", "new": "b"}], "expected_sha256": "ab"},
            "expected_sha256",
        ),
        ({"path": "m.py", "replacements": [{"old": "a", "new": "b"}], "dry_run": True}, "dry_run"),
    ],
)
async def test_bad_arguments_name_the_field(
    rt: ToolRuntime, src: Path, args: dict[str, Any], field: str
) -> None:
    with pytest.raises(ToolArgumentsError) as info:
        await rt.executor.acall("multi_replace_in_file", args, context=rt.context, approved=True)
    assert field in info.value.fields
    assert src.read_text() == SOURCE
