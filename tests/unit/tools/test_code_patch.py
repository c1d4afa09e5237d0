"""apply_patch through the executor: every hunk checked before any file is written."""

from __future__ import annotations

import difflib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from luminamind.config import Settings, load_settings
from luminamind.errors import (
    ApprovalRequiredError,
    PathEscapeError,
    ToolArgumentsError,
    ToolExecutionError,
)
from luminamind.runtime import ToolRuntime
from luminamind.tools._patch import apply_hunks, parse_patch, split_lines
from luminamind.tools.code import ApplyPatchResult
from tests.support.code_tools import code_runtime


@pytest.fixture
def rt(settings: Settings) -> ToolRuntime:
    return code_runtime(settings)


def make_diff(path: str, old: str | None, new: str | None) -> str:
    """A git-style diff made by difflib, with git's no-newline markers."""
    lines = difflib.unified_diff(
        split_lines(old or ""),
        split_lines(new or ""),
        fromfile=f"a/{path}" if old is not None else "/dev/null",
        tofile=f"b/{path}" if new is not None else "/dev/null",
    )
    out = []
    for line in lines:
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


async def patch(rt: ToolRuntime, text: str, **extra: Any) -> ApplyPatchResult:
    result = await rt.executor.acall(
        "apply_patch", {"patch": text, **extra}, context=rt.context, approved=True
    )
    assert isinstance(result, ApplyPatchResult)
    return result


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


NUMBERS = "".join(f"line {i}\n" for i in range(1, 31))


@pytest.fixture
def numbers(workspace_dir: Path) -> Path:
    path = workspace_dir / "n.txt"
    path.write_text(NUMBERS)
    return path


async def test_modify_create_and_delete_in_one_patch(rt: ToolRuntime, workspace_dir: Path) -> None:
    (workspace_dir / "src").mkdir()
    (workspace_dir / "src" / "a.py").write_text("import os\n\nprint(os.name)\n")
    (workspace_dir / "old.txt").write_text("bye\n")
    text = (
        "diff --git a/src/a.py b/src/a.py\n"
        "index 1111111..2222222 100644\n"
        + make_diff("src/a.py", "import os\n\nprint(os.name)\n", "import os\n\nprint(os.sep)\n")
        + "diff --git a/new/b.py b/new/b.py\nnew file mode 100755\n"
        + make_diff("new/b.py", None, "#!/bin/sh\necho hi\n")
        + make_diff("old.txt", "bye\n", None)
    )
    result = await patch(rt, text)
    assert [(f.path, f.action, f.added, f.removed) for f in result.files] == [
        ("src/a.py", "modified", 1, 1),
        ("new/b.py", "created", 2, 0),
        ("old.txt", "deleted", 0, 1),
    ]
    assert (workspace_dir / "src" / "a.py").read_text() == "import os\n\nprint(os.sep)\n"
    assert (workspace_dir / "new" / "b.py").read_text() == "#!/bin/sh\necho hi\n"
    assert os.access(workspace_dir / "new" / "b.py", os.X_OK)
    assert not (workspace_dir / "old.txt").exists()
    assert result.notice is None


async def test_hunks_found_at_an_offset(rt: ToolRuntime, numbers: Path) -> None:
    new = NUMBERS.replace("line 5\n", "line five\n").replace("line 25\n", "line 25b\n")
    diff = make_diff("n.txt", NUMBERS, new)
    numbers.write_text("header 1\nheader 2\nheader 3\n" + NUMBERS)  # every line moved by 3
    result = await patch(rt, diff)
    assert numbers.read_text() == "header 1\nheader 2\nheader 3\n" + new
    assert result.files[0].offsets == [3, 3]
    assert result.notice == "Applied at an offset: n.txt hunks 1: +3, 2: +3"


async def test_failed_hunk_writes_no_file(rt: ToolRuntime, workspace_dir: Path) -> None:
    (workspace_dir / "a.txt").write_text("alpha\n")
    (workspace_dir / "n.txt").write_text(NUMBERS.replace("line 26\n", "line twenty-six\n"))
    text = (
        make_diff("a.txt", "alpha\n", "ALPHA\n")
        + make_diff("created.txt", None, "new\n")
        + make_diff("n.txt", NUMBERS, NUMBERS.replace("line 4\n", "4\n").replace("line 27", "27"))
    )
    before = snapshot(workspace_dir)
    with pytest.raises(ToolExecutionError) as info:
        await patch(rt, text)
    assert info.value.message == (
        "apply_patch: hunk 2 of n.txt does not apply at line 26: expected 'line 26', found "
        "'line twenty-six' (its 7 context/removed lines are nowhere in the file after the "
        "previous hunk); read the file again and regenerate the patch; nothing was written"
    )
    assert snapshot(workspace_dir) == before
    assert sorted(p.name for p in workspace_dir.iterdir()) == ["a.txt", "n.txt"]


async def test_hunk_past_end_of_file(rt: ToolRuntime, workspace_dir: Path) -> None:
    (workspace_dir / "short.txt").write_text("line 1\nline 2\n")
    with pytest.raises(ToolExecutionError, match="found end of file"):
        await patch(rt, make_diff("short.txt", NUMBERS, NUMBERS.replace("line 30", "thirty")))


async def test_create_delete_and_modify_preconditions(rt: ToolRuntime, workspace_dir: Path) -> None:
    (workspace_dir / "here.txt").write_text("x\n")
    with pytest.raises(
        ToolExecutionError, match=re.escape("cannot create 'here.txt': it already exists")
    ):
        await patch(rt, make_diff("here.txt", None, "y\n"))
    with pytest.raises(ToolExecutionError, match=re.escape("'gone.txt' does not exist")):
        await patch(rt, make_diff("gone.txt", "a\n", "b\n"))
    (workspace_dir / "grown.txt").write_text("a\nb\n")
    with pytest.raises(ToolExecutionError, match=re.escape("cannot delete 'grown.txt': 1 line")):
        await patch(rt, make_diff("grown.txt", "a\n", None))
    (workspace_dir / "plain").write_text("file, not a directory\n")
    with pytest.raises(ToolExecutionError, match="'plain' is a file"):
        await patch(rt, make_diff("plain/inside.txt", None, "z\n"))
    assert sorted(p.name for p in workspace_dir.iterdir()) == ["grown.txt", "here.txt", "plain"]


async def test_no_newline_at_end_of_file(rt: ToolRuntime, workspace_dir: Path) -> None:
    path = workspace_dir / "f.txt"
    path.write_text("a\nb")
    await patch(rt, make_diff("f.txt", "a\nb", "a\nb\nc\n"))
    assert path.read_text() == "a\nb\nc\n"
    await patch(rt, make_diff("f.txt", "a\nb\nc\n", "a\nB\nc"))
    assert path.read_text() == "a\nB\nc"


async def test_crlf_file_takes_lf_patch(rt: ToolRuntime, workspace_dir: Path) -> None:
    path = workspace_dir / "win.txt"
    path.write_bytes(b"one\r\ntwo\r\nthree\r\n")
    await patch(rt, make_diff("win.txt", "one\ntwo\nthree\n", "one\n2\nthree\n"))
    assert path.read_bytes() == b"one\r\n2\r\nthree\r\n"


async def test_strip_and_plain_diff_headers(rt: ToolRuntime, workspace_dir: Path) -> None:
    (workspace_dir / "f.txt").write_text("a\n")
    text = "--- f.txt\t2024-01-01 00:00:00\n+++ f.txt\t2024-01-02 00:00:00\n@@ -1 +1 @@\n-a\n+b\n"
    await patch(rt, text, strip=0)
    assert (workspace_dir / "f.txt").read_text() == "b\n"
    deep = "--- x/y/f.txt\n+++ x/y/f.txt\n@@ -1 +1 @@\n-b\n+c\n"
    await patch(rt, deep, strip=2)
    assert (workspace_dir / "f.txt").read_text() == "c\n"
    with pytest.raises(ToolArgumentsError, match="cannot strip 3"):
        await patch(rt, deep, strip=3)


async def test_empty_file_creation_from_git_header(rt: ToolRuntime, workspace_dir: Path) -> None:
    text = "diff --git a/empty.txt b/empty.txt\nnew file mode 100644\nindex 0000000..e69de29\n"
    result = await patch(rt, text)
    assert result.files[0].action == "created"
    assert (workspace_dir / "empty.txt").read_bytes() == b""
    gone = "diff --git a/empty.txt b/empty.txt\ndeleted file mode 100644\nindex e69de29..0000000\n"
    await patch(rt, gone)
    assert not (workspace_dir / "empty.txt").exists()


async def test_sections_for_the_same_file_chain(rt: ToolRuntime, workspace_dir: Path) -> None:
    path = workspace_dir / "f.txt"
    path.write_text("a\n")
    text = make_diff("f.txt", "a\n", "b\n") + make_diff("f.txt", "b\n", "c\n")
    result = await patch(rt, text)
    assert path.read_text() == "c\n"
    assert [(f.path, f.hunks) for f in result.files] == [("f.txt", 2)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("just some words\n", "no file changes"),
        ("--- a/f.txt\n+++ b/f.txt\n", "has no hunks"),
        ("--- a/f.txt\n+++ b/f.txt\n@@ -1,2 +1,2 @@\n-a\n+b\n", "ends early"),
        ("--- a/f.txt\n+++ b/f.txt\n@@ -1 +1 @@\n-a\n+b\n+c\n", "does not fit"),
        ("--- a/f.txt\n+++ b/f.txt\n@@ -1 +1 @@\n?a\n", "does not fit"),
        ("@@ -1 +1 @@\n-a\n+b\n", "without a ---/+++"),
        ("--- /dev/null\n+++ /dev/null\n@@ -0,0 +0,0 @@\n", "both sides"),
        ("diff --git a/x b/y\nrename from x\nrename to y\n", "renames"),
        ("diff --git a/x b/x\nGIT binary patch\nliteral 0\n", "binary"),
        ("diff --git a/x b/x\nBinary files a/x and b/x differ\n", "binary"),
    ],
)
async def test_malformed_patches(
    rt: ToolRuntime, workspace_dir: Path, text: str, message: str
) -> None:
    (workspace_dir / "f.txt").write_text("a\n")
    with pytest.raises(ToolArgumentsError, match=re.escape(message)) as info:
        await patch(rt, text)
    assert info.value.fields == ("patch",)
    assert (workspace_dir / "f.txt").read_text() == "a\n"


async def test_paths_outside_the_workspace(
    rt: ToolRuntime, workspace_dir: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "s.txt").write_text("secret\n")
    (workspace_dir / "link.txt").symlink_to(outside / "s.txt")
    (workspace_dir / "dirlink").symlink_to(outside)
    (workspace_dir / "ok.txt").write_text("fine\n")
    ok = make_diff("ok.txt", "fine\n", "changed\n")
    for name in ("../outside/s.txt", "link.txt", "dirlink/s.txt", "dirlink/new.txt"):
        evil = make_diff(name, "secret\n", "pwned\n")
        if name.endswith("new.txt"):
            evil = make_diff(name, None, "pwned\n")
        with pytest.raises(PathEscapeError):
            await patch(rt, ok + evil)
    plain_ok = "--- ok.txt\n+++ ok.txt\n@@ -1 +1 @@\n-fine\n+changed\n"
    absolute = f"--- {outside}/s.txt\n+++ {outside}/s.txt\n@@ -1 +1 @@\n-secret\n+pwned\n"
    with pytest.raises(PathEscapeError):
        await patch(rt, plain_ok + absolute, strip=0)
    with pytest.raises(PathEscapeError, match="NUL"):
        await patch(rt, make_diff("a\x00b", None, "x\n"))
    assert (outside / "s.txt").read_text() == "secret\n"
    assert not (outside / "new.txt").exists()
    assert (workspace_dir / "ok.txt").read_text() == "fine\n"


async def test_binary_and_non_utf8_targets(rt: ToolRuntime, workspace_dir: Path) -> None:
    (workspace_dir / "b.bin").write_bytes(b"a\x00\n")
    with pytest.raises(ToolExecutionError, match="binary file"):
        await patch(rt, make_diff("b.bin", "a\n", "b\n"))
    (workspace_dir / "l.txt").write_bytes(b"caf\xe9\n")
    with pytest.raises(ToolExecutionError, match="not UTF-8"):
        await patch(rt, make_diff("l.txt", "caf\n", "tea\n"))
    assert (workspace_dir / "l.txt").read_bytes() == b"caf\xe9\n"


async def test_deleting_through_a_symlink_is_refused(rt: ToolRuntime, workspace_dir: Path) -> None:
    (workspace_dir / "real.txt").write_text("a\n")
    (workspace_dir / "alias.txt").symlink_to(workspace_dir / "real.txt")
    with pytest.raises(ToolExecutionError, match="is a symlink"):
        await patch(rt, make_diff("alias.txt", "a\n", None))
    assert (workspace_dir / "real.txt").read_text() == "a\n"


async def test_needs_approval_and_preview(rt: ToolRuntime, workspace_dir: Path) -> None:
    (workspace_dir / "f.txt").write_text("a\n")
    text = make_diff("f.txt", "a\n", "b\n") + make_diff("g.txt", None, "g\n")
    with pytest.raises(ApprovalRequiredError):
        await rt.executor.acall("apply_patch", {"patch": text}, context=rt.context)
    changes = await rt.executor.apreview("apply_patch", {"patch": text}, context=rt.context)
    assert [(c.path, c.old_text, c.new_text) for c in changes] == [
        ("f.txt", "a\n", "b\n"),
        ("g.txt", None, "g\n"),
    ]
    assert changes[1].diff.startswith("--- /dev/null\n+++ b/g.txt\n")
    assert sorted(p.name for p in workspace_dir.iterdir()) == ["f.txt"]
    assert (workspace_dir / "f.txt").read_text() == "a\n"


async def test_patch_size_limit(settings: Settings, workspace_dir: Path) -> None:
    rt = code_runtime(settings, max_write_bytes=100)
    with pytest.raises(ToolArgumentsError, match="max_write_bytes"):
        await patch(rt, make_diff("f.txt", None, "x" * 200 + "\n"))


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({}, "patch"),
        ({"patch": ""}, "patch"),
        ({"patch": 7}, "patch"),
        ({"patch": "x", "strip": -1}, "strip"),
        ({"patch": "x", "strip": "one"}, "strip"),
        ({"patch": "x", "path": "f.txt"}, "path"),
        ({"patch": "--- a/f\n+++ b/f\n@@ -0,0 +1 @@\n+\ud800\n"}, "patch"),
    ],
)
async def test_bad_arguments_name_the_field(
    rt: ToolRuntime, args: dict[str, Any], field: str
) -> None:
    with pytest.raises(ToolArgumentsError) as info:
        await rt.executor.acall("apply_patch", args, context=rt.context, approved=True)
    assert field in info.value.fields


# Few distinct lines, so hunks have look-alike context and the offset search is exercised.
_lines = st.lists(st.sampled_from(["a", "b", "c", "", "  x = 1", "é ☕"]), max_size=25)


@st.composite
def _texts(draw: st.DrawFn) -> str:
    lines, unterminated = draw(st.tuples(_lines, st.booleans()))
    text = "".join(line + "\n" for line in lines)
    if lines and unterminated:
        text = text[:-1]  # no newline at the end
    return text


@given(old=_texts(), new=_texts())
@settings(max_examples=300, deadline=None)
def test_round_trip_in_memory(old: str, new: str) -> None:
    diff = make_diff("f.txt", old, new)
    if not diff:
        assert old == new
        return
    (file_patch,) = parse_patch(diff, strip=1)
    result, offsets = apply_hunks("f.txt", old, file_patch.hunks, newline="\n")
    assert result == new
    assert set(offsets) == {0}


@pytest.fixture(scope="module")
def shared_rt() -> Iterator[tuple[ToolRuntime, Path]]:
    """One runtime for every hypothesis example (function fixtures do not reset between them)."""
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp, "ws")
        ws.mkdir()
        settings = load_settings(workspace=ws, data_dir=Path(tmp, "data"))
        yield code_runtime(settings), ws.resolve()


@given(old=st.none() | _texts(), new=st.none() | _texts())
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
async def test_round_trip_through_the_tool(
    shared_rt: tuple[ToolRuntime, Path], old: str | None, new: str | None
) -> None:
    rt, ws = shared_rt
    path = ws / "f.txt"
    path.unlink(missing_ok=True)
    if old is not None:
        path.write_text(old)
    diff = make_diff("f.txt", old, new)
    if (old is None and new is None) or not diff:
        return
    await patch(rt, diff)
    if new is None:
        assert not path.exists()
    else:
        assert path.read_text() == new


async def test_format_patch_email(rt: ToolRuntime, workspace_dir: Path) -> None:
    (workspace_dir / "f.txt").write_text("a\n")
    email = (
        "From 1234 Mon Sep 17 00:00:00 2001\nSubject: [PATCH] change\n---\n"
        " f.txt | 2 +-\n 1 file changed\n\n"
        "diff --git a/f.txt b/f.txt\nindex 1..2 100644\n"
        "--- a/f.txt\n+++ b/f.txt\n@@ -1 +1 @@\n-a\n+b\n-- \n2.39.0\n"
    )
    await patch(rt, email)
    assert (workspace_dir / "f.txt").read_text() == "b\n"


async def test_strip_one_makes_absolute_paths_relative(
    rt: ToolRuntime, workspace_dir: Path
) -> None:
    # patch -p1 on "/f.txt" drops the leading slash, as patch(1) does.
    (workspace_dir / "f.txt").write_text("a\n")
    await patch(rt, "--- /f.txt\n+++ /f.txt\n@@ -1 +1 @@\n-a\n+b\n")
    assert (workspace_dir / "f.txt").read_text() == "b\n"


async def test_crlf_patch_text(rt: ToolRuntime, workspace_dir: Path) -> None:
    # A patch saved with Windows line ends, for an LF file and for a new CRLF file.
    (workspace_dir / "f.txt").write_text("a\n\nb\n")
    lf = make_diff("f.txt", "a\n\nb\n", "a\n\nB\n") + make_diff("new.txt", None, "x\ny\n")
    crlf = lf.replace("\n", "\r\n")
    await patch(rt, crlf)
    assert (workspace_dir / "f.txt").read_bytes() == b"a\n\nB\n"
    assert (workspace_dir / "new.txt").read_bytes() == b"x\r\ny\r\n"
