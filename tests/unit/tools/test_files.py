"""The file tools through the executor: results, caps, and every kind of bad input."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from luminamind.config import Settings, load_settings
from luminamind.errors import (
    ApprovalRequiredError,
    PathEscapeError,
    ToolArgumentsError,
    ToolExecutionError,
)
from luminamind.runtime import ToolRuntime, build_tool_runtime
from luminamind.tools import ToolRegistry
from luminamind.tools import files as file_tools


@pytest.fixture
def rt(settings: Settings) -> ToolRuntime:
    return build_tool_runtime(
        settings, surface="cli", registry=ToolRegistry(file_tools.TOOLS), use_cache=False
    )


async def call(rt: ToolRuntime, name: str, **args: Any) -> Any:
    result: BaseModel = await rt.executor.acall(name, args, context=rt.context, approved=True)
    return result


# -- read_file --------------------------------------------------------------------------------


async def test_read_whole_file_and_slices(rt: ToolRuntime, workspace_dir: Path) -> None:
    (workspace_dir / "a.txt").write_text("".join(f"line {i}\n" for i in range(10)))
    whole = await call(rt, "read_file", path="a.txt")
    assert whole.total_lines == 10
    assert not whole.truncated
    assert whole.next_offset is None
    part = await call(rt, "read_file", path="a.txt", offset=3, limit=2)
    assert part.content == "line 3\nline 4\n"
    assert part.truncated
    assert part.next_offset == 5
    assert "offset=5" in part.hint


async def test_byte_cap_truncates_and_tells_how_to_read_on(
    workspace_dir: Path, tmp_path: Path
) -> None:
    settings = load_settings(
        workspace=workspace_dir, data_dir=tmp_path / "d", limits={"max_read_bytes": 20}
    )
    rt = build_tool_runtime(
        settings, surface="cli", registry=ToolRegistry(file_tools.TOOLS), use_cache=False
    )
    (workspace_dir / "big.txt").write_text("0123456789\n" * 10)
    first = await call(rt, "read_file", path="big.txt")
    assert first.lines_returned == 1
    assert first.truncated
    rest = await call(rt, "read_file", path="big.txt", offset=first.next_offset)
    assert rest.content == "0123456789\n"


async def test_non_utf8_text_is_decoded_and_reported(rt: ToolRuntime, workspace_dir: Path) -> None:
    (workspace_dir / "latin.txt").write_bytes("café crème brûlée, déjà vu\n".encode("cp1252") * 5)
    result = await call(rt, "read_file", path="latin.txt")
    assert "café" in result.content
    assert result.encoding != "utf-8"


async def test_binary_files_are_refused_with_size_and_type(
    rt: ToolRuntime, workspace_dir: Path
) -> None:
    (workspace_dir / "img.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    with pytest.raises(ToolExecutionError, match=r"binary file \(PNG image, 108 bytes\)"):
        await call(rt, "read_file", path="img.png")


async def test_too_big_files_are_refused(workspace_dir: Path, tmp_path: Path) -> None:
    settings = load_settings(
        workspace=workspace_dir, data_dir=tmp_path / "d", limits={"max_file_bytes": 10}
    )
    rt = build_tool_runtime(
        settings, surface="cli", registry=ToolRegistry(file_tools.TOOLS), use_cache=False
    )
    (workspace_dir / "big.txt").write_text("x" * 11)
    with pytest.raises(ToolExecutionError, match="above the 10-byte limit"):
        await call(rt, "read_file", path="big.txt")


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({}, "path"),
        ({"path": "a", "bogus": 1}, "bogus"),
        ({"path": "a", "offset": "x"}, "offset"),
        ({"path": "a", "offset": -1}, "offset"),
        ({"path": 5}, "path"),
    ],
)
async def test_read_bad_arguments(rt: ToolRuntime, args: dict[str, Any], field: str) -> None:
    with pytest.raises(ToolArgumentsError) as info:
        await rt.executor.acall("read_file", args, context=rt.context)
    assert field in info.value.fields


# -- write_file -------------------------------------------------------------------------------


async def test_write_is_atomic_keeps_mode_and_creates_parents(
    rt: ToolRuntime, workspace_dir: Path
) -> None:
    script = workspace_dir / "run.sh"
    script.write_text("old\n")
    script.chmod(0o755)
    result = await call(rt, "write_file", path="run.sh", content="new\n")
    assert not result.created
    assert script.read_text() == "new\n"
    assert stat.S_IMODE(script.stat().st_mode) == 0o755
    nested = await call(rt, "write_file", path="a/b/c.txt", content="hi")
    assert nested.created
    assert (workspace_dir / "a/b/c.txt").read_text() == "hi"
    assert not [p for p in workspace_dir.rglob("*.tmp")]


async def test_write_refuses_a_file_changed_since_it_was_read(
    rt: ToolRuntime, workspace_dir: Path
) -> None:
    target = workspace_dir / "f.txt"
    target.write_text("v1\n")
    seen = await call(rt, "read_file", path="f.txt")
    target.write_text("v2 by someone else\n")
    with pytest.raises(ToolExecutionError, match="changed"):
        await call(rt, "write_file", path="f.txt", content="mine\n", expected_sha256=seen.sha256)
    assert target.read_text() == "v2 by someone else\n"


async def test_write_needs_approval(rt: ToolRuntime, workspace_dir: Path) -> None:
    with pytest.raises(ApprovalRequiredError):
        await rt.executor.acall("write_file", {"path": "x", "content": "y"}, context=rt.context)
    assert not (workspace_dir / "x").exists()


async def test_write_preview_is_a_diff(rt: ToolRuntime, workspace_dir: Path) -> None:
    (workspace_dir / "p.txt").write_text("a\nb\n")
    (change,) = await rt.executor.apreview(
        "write_file", {"path": "p.txt", "content": "a\nB\n"}, context=rt.context
    )
    assert change.old_text == "a\nb\n"
    assert change.new_text == "a\nB\n"
    assert "-b\n+B\n" in change.diff
    assert (workspace_dir / "p.txt").read_text() == "a\nb\n", "a preview writes nothing"


@settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=40, deadline=None
)
@given(
    text=st.text(
        alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
        max_size=300,
    )
)
async def test_write_read_round_trip(rt: ToolRuntime, text: str) -> None:
    await call(rt, "write_file", path="round.txt", content=text)
    back = await call(rt, "read_file", path="round.txt")
    assert back.content == text


async def test_write_guard_accepts_the_read_hash_and_refuses_a_deleted_file(
    rt: ToolRuntime, workspace_dir: Path
) -> None:
    target = workspace_dir / "g.txt"
    target.write_text("v1\n")
    seen = await call(rt, "read_file", path="g.txt")
    done = await call(
        rt, "write_file", path="g.txt", content="v2\n", expected_sha256=seen.sha256.upper()
    )
    assert target.read_text() == "v2\n"
    # The result's hash guards the next write just as read_file's does.
    await call(rt, "write_file", path="g.txt", content="v3\n", expected_sha256=done.sha256)
    target.unlink()
    with pytest.raises(ToolExecutionError, match="no longer exists; nothing was written"):
        await call(rt, "write_file", path="g.txt", content="v4\n", expected_sha256=done.sha256)
    assert not target.exists()


async def test_write_refusals_leave_everything_as_it_was(
    workspace_dir: Path, tmp_path: Path
) -> None:
    settings = load_settings(
        workspace=workspace_dir, data_dir=tmp_path / "d", limits={"max_write_bytes": 8}
    )
    rt = build_tool_runtime(
        settings, surface="cli", registry=ToolRegistry(file_tools.TOOLS), use_cache=False
    )
    (workspace_dir / "dir").mkdir()
    (workspace_dir / "plain").write_text("p")
    os.mkfifo(workspace_dir / "pipe")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"path": "big.txt", "content": "é" * 5}, "10 bytes is above the 8-byte limit"),
        ({"path": "dir", "content": "x"}, "is a directory"),
        ({"path": "pipe", "content": "x"}, "not a regular file"),
        ({"path": "plain/child.txt", "content": "x"}, "a parent of 'plain/child.txt' is a file"),
        ({"path": "new/a.txt", "content": "x", "create_parents": False}, "create_parents=true"),
    ]
    for args, message in cases:
        with pytest.raises(ToolExecutionError, match=message):
            await call(rt, "write_file", **args)
    assert sorted(p.name for p in workspace_dir.iterdir()) == ["dir", "pipe", "plain"]
    assert (workspace_dir / "plain").read_text() == "p"


async def test_write_keeps_crlf_and_writes_utf8(rt: ToolRuntime, workspace_dir: Path) -> None:
    await call(rt, "write_file", path="w.txt", content="ä\r\nb\r\n")
    assert (workspace_dir / "w.txt").read_bytes() == "ä\r\nb\r\n".encode()
    back = await call(rt, "read_file", path="w.txt")
    assert back.total_lines == 2
    assert back.encoding == "utf-8"


async def test_write_preview_of_a_new_and_of_a_binary_file(
    rt: ToolRuntime, workspace_dir: Path
) -> None:
    (new,) = await rt.executor.apreview(
        "write_file", {"path": "n/new.txt", "content": "hi\n"}, context=rt.context
    )
    assert new.old_text is None
    assert new.diff.startswith("--- /dev/null\n+++ b/n/new.txt\n")
    assert not (workspace_dir / "n").exists()
    (workspace_dir / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00")
    (binary,) = await rt.executor.apreview(
        "write_file", {"path": "logo.png", "content": "text"}, context=rt.context
    )
    assert binary.diff == "Binary file logo.png would be replaced by text\n"


# -- copy_file and delete_file ----------------------------------------------------------------


async def test_copy_refuses_overwrite_unless_asked(rt: ToolRuntime, workspace_dir: Path) -> None:
    (workspace_dir / "a.txt").write_text("A")
    (workspace_dir / "b.txt").write_text("B")
    with pytest.raises(ToolExecutionError, match="overwrite=true"):
        await call(rt, "copy_file", source="a.txt", destination="b.txt")
    assert (workspace_dir / "b.txt").read_text() == "B"
    # Overwriting asks for approval even though a plain copy does not.
    with pytest.raises(ApprovalRequiredError):
        await rt.executor.acall(
            "copy_file",
            {"source": "a.txt", "destination": "b.txt", "overwrite": True},
            context=rt.context,
        )
    done = await call(rt, "copy_file", source="a.txt", destination="b.txt", overwrite=True)
    assert done.overwritten
    assert (workspace_dir / "b.txt").read_text() == "A"
    fresh = await rt.executor.acall(
        "copy_file", {"source": "a.txt", "destination": "c/d.txt"}, context=rt.context
    )
    assert fresh.model_dump()["overwritten"] is False


async def test_copy_directory_and_missing_source(rt: ToolRuntime, workspace_dir: Path) -> None:
    (workspace_dir / "src").mkdir()
    (workspace_dir / "src" / "m.py").write_text("x")
    result = await call(rt, "copy_file", source="src", destination="dst")
    assert result.kind == "dir"
    assert (workspace_dir / "dst" / "m.py").read_text() == "x"
    with pytest.raises(ToolExecutionError, match="does not exist"):
        await call(rt, "copy_file", source="nope", destination="x")
    with pytest.raises(ToolExecutionError, match="into itself"):
        await call(rt, "copy_file", source="src", destination="src/inner")


async def test_delete_rules(rt: ToolRuntime, workspace_dir: Path, tmp_path: Path) -> None:
    (workspace_dir / "d").mkdir()
    (workspace_dir / "d" / "f").write_text("x")
    with pytest.raises(ToolExecutionError, match="recursive=true"):
        await call(rt, "delete_file", path="d")
    for root in (".", str(workspace_dir), "d/.."):
        with pytest.raises(ToolExecutionError, match="workspace root"):
            await call(rt, "delete_file", path=root, recursive=True)
    outside = tmp_path / "keep.txt"
    outside.write_text("keep")
    (workspace_dir / "link").symlink_to(outside)
    gone = await call(rt, "delete_file", path="link")
    assert gone.kind == "symlink"
    assert outside.read_text() == "keep", "deleting a link never touches its target"
    done = await call(rt, "delete_file", path="d", recursive=True)
    assert done.entries_deleted == 2
    assert not (workspace_dir / "d").exists()
    with pytest.raises(ApprovalRequiredError):
        await rt.executor.acall("delete_file", {"path": "x"}, context=rt.context)


# -- list_directory and file_search -----------------------------------------------------------


async def test_list_directory_sorted_capped_hidden(workspace_dir: Path, tmp_path: Path) -> None:
    settings = load_settings(
        workspace=workspace_dir, data_dir=tmp_path / "d", limits={"max_entries": 3}
    )
    rt = build_tool_runtime(
        settings, surface="cli", registry=ToolRegistry(file_tools.TOOLS), use_cache=False
    )
    for name in ("b.txt", "a.txt", ".hidden", "c.txt"):
        (workspace_dir / name).write_text(name)
    (workspace_dir / "zdir").mkdir()
    listing = await call(rt, "list_directory")
    assert [e.name for e in listing.entries] == ["zdir", "a.txt", "b.txt"]
    assert listing.truncated
    assert listing.total == 4
    hidden = await call(rt, "list_directory", show_hidden=True, limit=10)
    assert ".hidden" in [e.name for e in hidden.entries]
    assert hidden.entries[1].size == len(hidden.entries[1].name)
    with pytest.raises(ToolExecutionError, match="not a directory"):
        await call(rt, "list_directory", path="a.txt")


async def test_file_search_globs_and_respects_gitignore(
    rt: ToolRuntime, workspace_dir: Path
) -> None:
    (workspace_dir / ".gitignore").write_text("build/\n*.log\n")
    for rel in ("src/a.py", "src/pkg/b.py", "build/gen.py", "x.log", "README.md"):
        (workspace_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (workspace_dir / rel).write_text("x")
    found = await call(rt, "file_search", pattern="*.py")
    assert found.paths == ["src/a.py", "src/pkg/b.py"]
    scoped = await call(rt, "file_search", pattern="*.py", path="src/pkg")
    assert scoped.paths == ["src/pkg/b.py"]
    capped = await call(rt, "file_search", pattern="*", limit=1)
    assert capped.truncated
    assert capped.total >= 3
    with pytest.raises(PathEscapeError):
        await call(rt, "file_search", pattern="*", path="..")


async def test_audit_log_has_a_line_per_call(
    rt: ToolRuntime, settings: Settings, workspace_dir: Path
) -> None:
    (workspace_dir / "a.txt").write_text("x")
    await call(rt, "read_file", path="a.txt")
    with pytest.raises(ToolExecutionError):
        await call(rt, "read_file", path="missing.txt")
    entries = [json.loads(line) for line in settings.audit_log_path.read_text().splitlines()]
    assert [(e["tool"], e["outcome"]) for e in entries] == [
        ("read_file", "ok"),
        ("read_file", "tool_failed"),
    ]
    assert oct(os.stat(settings.audit_log_path).st_mode & 0o777) == "0o600"
