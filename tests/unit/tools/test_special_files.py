"""Previews read only regular files, boundedly; hard links are refused outside package dirs."""

from __future__ import annotations

import asyncio
import os
import resource
from pathlib import Path

import pytest

from luminamind.config import Settings
from luminamind.errors import CommandBlockedError, PathEscapeError, ToolExecutionError
from luminamind.runtime import ToolRuntime, build_tool_runtime
from luminamind.tools.files.fileinfo import PREVIEW_MAX_BYTES


def _rt(settings: Settings, **changes: object) -> ToolRuntime:
    return build_tool_runtime(settings.model_copy(update=changes), surface="cli", use_cache=False)


@pytest.fixture
def rt(settings: Settings) -> ToolRuntime:
    return _rt(settings)


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("write_file", {"path": "pipe", "content": "x"}),
        ("copy_file", {"source": "pipe", "destination": "copy.txt"}),
        ("copy_file", {"source": "a.txt", "destination": "pipe"}),
    ],
)
async def test_a_fifo_is_refused_before_any_read(
    rt: ToolRuntime, workspace_dir: Path, tool: str, arguments: dict[str, object]
) -> None:
    os.mkfifo(workspace_dir / "pipe")
    (workspace_dir / "a.txt").write_text("a\n")
    with pytest.raises(ToolExecutionError, match="named pipe"):
        await asyncio.wait_for(rt.executor.apreview(tool, arguments, context=rt.context), 10)


async def test_deleting_a_fifo_is_described_without_opening_it(
    rt: ToolRuntime, workspace_dir: Path
) -> None:
    os.mkfifo(workspace_dir / "pipe")
    changes = await asyncio.wait_for(
        rt.executor.apreview("delete_file", {"path": "pipe"}, context=rt.context), 10
    )
    assert "special file" in changes[0].diff


async def test_a_2_gib_sparse_file_is_not_read_whole(rt: ToolRuntime, workspace_dir: Path) -> None:
    with (workspace_dir / "sparse.bin").open("wb") as handle:
        handle.truncate(2 * 1024**3)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    changes = await rt.executor.apreview("delete_file", {"path": "sparse.bin"}, context=rt.context)
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert "2147483648 bytes" in changes[0].diff
    assert grown_kib < 64 * 1024


async def test_a_large_text_diff_is_bounded(rt: ToolRuntime, workspace_dir: Path) -> None:
    (workspace_dir / "big.txt").write_text("line\n" * 1_000_000)  # 5 MB
    changes = await rt.executor.apreview(
        "write_file", {"path": "big.txt", "content": "new\n"}, context=rt.context
    )
    old = changes[0].old_text
    assert old is not None
    assert len(old) < PREVIEW_MAX_BYTES + 200
    assert "preview cut: the file is 5,000,000 bytes" in old


@pytest.fixture
def linked(workspace_dir: Path, tmp_path: Path) -> Path:
    """An outside file with a hard link in the workspace and one under node_modules."""
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_text("SECRET\n")
    os.link(secret, workspace_dir / "link.txt")
    (workspace_dir / "node_modules").mkdir()
    os.link(secret, workspace_dir / "node_modules" / "pkg.js")
    return secret


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("read_file", {"path": "link.txt"}),
        ("write_file", {"path": "link.txt", "content": "changed\n"}),
        ("copy_file", {"source": "link.txt", "destination": "copy.txt"}),
        (
            "multi_replace_in_file",
            {"path": "link.txt", "replacements": [{"old": "SECRET", "new": "x"}]},
        ),
    ],
)
async def test_a_hard_link_is_neither_read_nor_changed(
    rt: ToolRuntime, linked: Path, tool: str, arguments: dict[str, object]
) -> None:
    with pytest.raises(PathEscapeError, match="hard links"):
        await rt.executor.acall(tool, arguments, context=rt.context, approved=True)
    assert linked.read_text() == "SECRET\n"


async def test_a_shell_argument_that_is_a_hard_link_is_refused(
    rt: ToolRuntime, linked: Path
) -> None:
    with pytest.raises(CommandBlockedError, match="hard links"):
        await rt.executor.acall(
            "shell", {"command": "tee link.txt"}, context=rt.context, approved=True
        )
    assert linked.read_text() == "SECRET\n"


async def test_package_dirs_are_exempt_by_default(rt: ToolRuntime, linked: Path) -> None:
    result = await rt.executor.acall(
        "read_file", {"path": "node_modules/pkg.js"}, context=rt.context
    )
    assert "SECRET" in result.model_dump()["content"]


async def test_refuse_mode_covers_package_dirs_and_allow_mode_reads(
    settings: Settings, linked: Path
) -> None:
    strict = _rt(settings, hardlinks="refuse")
    with pytest.raises(PathEscapeError):
        await strict.executor.acall(
            "read_file", {"path": "node_modules/pkg.js"}, context=strict.context
        )
    relaxed = _rt(settings, hardlinks="allow")
    result = await relaxed.executor.acall(
        "read_file", {"path": "link.txt"}, context=relaxed.context
    )
    assert "SECRET" in result.model_dump()["content"]
