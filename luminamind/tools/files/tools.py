"""File tools: write_file and delete_file here; read_file, copy_file, list_directory and
file_search from ``_reading``, ``_copying`` and ``_listing``; ``TOOLS`` lists all six.

Every path goes through the workspace (symlinks resolved, nothing outside the roots); every
result is bounded; every file write is atomic (temp file, fsync, rename) and keeps the file's mode.
The tools that change files carry a preview: the diff an approval request shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import stat
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, Field

from luminamind.errors import ToolArgumentsError, ToolExecutionError
from luminamind.security.nofollow import open_dir_nofollow
from luminamind.tools.context import ToolContext
from luminamind.tools.files.atomic import write_atomic
from luminamind.tools.files.copying import CopyFileResult, copy_file
from luminamind.tools.files.fileinfo import (
    EntryKind,
    kind_of,
    lstat_or_none,
    make_parents,
    preview_text,
)
from luminamind.tools.files.listing import file_search, list_directory
from luminamind.tools.files.reading import ReadFileResult, read_file
from luminamind.tools.files.textfile import sha256_hex
from luminamind.tools.preview import FileChange, unified_diff
from luminamind.tools.registry import ToolSpec, tool

__all__ = [
    "TOOLS",
    "CopyFileResult",
    "DeleteFileResult",
    "ReadFileResult",
    "WriteFileResult",
    "copy_file",
    "delete_file",
    "file_search",
    "list_directory",
    "read_file",
    "write_file",
]

PathArg = Annotated[
    str, Field(description="Path relative to the workspace root (or absolute inside it)")
]


class WriteFileResult(BaseModel):
    """What write_file did."""

    path: str
    bytes_written: int
    created: bool = Field(description="True if the file did not exist before")
    sha256: str = Field(description="Hash of the new content (expected_sha256 for a next write)")


class DeleteFileResult(BaseModel):
    """What delete_file did."""

    path: str
    kind: EntryKind
    entries_deleted: int


# -- write_file ---------------------------------------------------------------------------------


def _write(resolved: Path, shown: str, data: bytes, expected: str | None, parents: bool) -> bool:
    info = lstat_or_none(resolved)
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise ToolExecutionError(f"write_file: '{shown}' is a directory")
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise ToolExecutionError(
            f"write_file: '{shown}' is not a regular file (a FIFO, socket or device); "
            "it is left alone"
        )
    if expected is not None:
        # Checked right before the replace: a change made since the caller's read_file is never
        # silently overwritten.
        current = sha256_hex(resolved.read_bytes()) if info is not None else None
        if current != expected.lower():
            state = "no longer exists" if current is None else "changed since it was read"
            raise ToolExecutionError(
                f"write_file: '{shown}' {state}; nothing was written. "
                "Read it again with read_file and redo the change"
            )
    make_parents(resolved, shown, "write_file", create=parents)
    write_atomic(resolved, data)
    return info is None


async def _write_in_editor(
    ctx: ToolContext, resolved: Path, shown: str, content: str, expected: str | None
) -> bool:
    """Write through the editor (it records the change); the same checks as on disk first."""
    assert ctx.editor is not None
    info = lstat_or_none(resolved)
    if info is not None and not stat.S_ISREG(info.st_mode):
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise ToolExecutionError(f"write_file: '{shown}' is {kind}; it is left alone")
    if expected is not None:
        if info is None:
            current = None
        elif ctx.editor.reads:  # the editor's buffer is what the agent read
            current = sha256_hex((await ctx.editor.read_text(resolved)).encode("utf-8"))
        else:
            current = sha256_hex(await asyncio.to_thread(resolved.read_bytes))
        if current != expected.lower():
            state = "no longer exists" if current is None else "changed since it was read"
            raise ToolExecutionError(
                f"write_file: '{shown}' {state}; nothing was written. "
                "Read it again with read_file and redo the change"
            )
    await ctx.editor.write_text(resolved, content)
    return info is None


@tool(family="files", name="write_file", destructive=True, needs_approval=True)
async def _write_file(
    ctx: ToolContext,
    *,
    path: PathArg,
    content: Annotated[str, Field(description="The complete new content of the file (UTF-8)")],
    expected_sha256: Annotated[
        str | None,
        Field(
            pattern=r"^[0-9a-fA-F]{64}$",
            description="sha256 from read_file: refuse to write if the file changed since",
        ),
    ] = None,
    create_parents: Annotated[bool, Field(description="Create missing parent directories")] = True,
) -> WriteFileResult:
    """Create or overwrite a text file atomically, as UTF-8 (an existing file keeps its mode).

    Pass expected_sha256 (from read_file) to make sure nobody changed the file in between.
    """
    resolved = ctx.workspace.resolve(path, write=True)
    shown = ctx.workspace.relative(resolved)
    try:
        data = content.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ToolArgumentsError(
            f"write_file: content has a lone surrogate at character {exc.start}; "
            "send valid Unicode text",
            fields=["content"],
        ) from None
    cap = ctx.settings.limits.max_write_bytes
    if len(data) > cap:
        raise ToolExecutionError(
            f"write_file: {len(data)} bytes is above the {cap}-byte limit "
            "(limits.max_write_bytes); write the file in smaller pieces or raise the limit"
        )
    editor = ctx.editor
    if editor is not None and editor.writes:
        created = await _write_in_editor(ctx, resolved, shown, content, expected_sha256)
    else:
        created = await asyncio.to_thread(
            _write, resolved, shown, data, expected_sha256, create_parents
        )
    return WriteFileResult(
        path=shown, bytes_written=len(data), created=created, sha256=sha256_hex(data)
    )


async def _preview_write(ctx: ToolContext, args: BaseModel) -> list[FileChange]:
    values = args.model_dump()
    resolved = ctx.workspace.resolve(values["path"], write=True)
    shown = ctx.workspace.relative(resolved)
    old = await asyncio.to_thread(preview_text, resolved)
    new = str(values["content"])
    if old is None and resolved.is_file():
        diff = f"Binary file {shown} would be replaced by text\n"
    else:
        diff = unified_diff(shown, old, new)
    return [FileChange(path=shown, diff=diff, old_text=old, new_text=new)]


write_file: ToolSpec = _write_file.with_preview(_preview_write)


# -- delete_file --------------------------------------------------------------------------------


def _target_for_delete(ctx: ToolContext, path: str) -> Path:
    """The entry to delete, without following a final symlink (delete the link, not its target).

    Raises:
        PathEscapeError: the path (or, for a link, its directory) is outside the workspace.
        ToolExecutionError: the path is a workspace root or contains one.
    """
    raw = Path(path)
    lexical = raw if raw.is_absolute() else ctx.workspace.root / raw
    try:
        is_link = "\x00" not in path and raw.name not in ("", ".", "..") and lexical.is_symlink()
    except OSError:  # e.g. a name too long: resolve() below reports it properly
        is_link = False
    if is_link:
        # The link's directory must be inside the workspace; the link itself may point anywhere.
        target = ctx.workspace.resolve(str(raw.parent), write=True) / raw.name
    else:
        target = ctx.workspace.resolve(path, write=True)
    for root in ctx.workspace.roots:
        if root.path == target or root.path.is_relative_to(target):
            raise ToolExecutionError(
                f"delete_file: refusing to delete '{path}': it is or contains the workspace "
                f"root {root.path}"
            )
    return target


def _delete(target: Path, shown: str, recursive: bool) -> tuple[EntryKind, int]:
    # Everything relative to the parent directory, opened without following symlinks: a
    # directory on the path swapped for a link to the outside fails the call instead.
    dir_fd = open_dir_nofollow(target.parent)
    try:
        try:
            info = os.stat(target.name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            raise ToolExecutionError(f"delete_file: '{shown}' does not exist") from None
        kind = kind_of(info)
        if kind != "dir":
            os.unlink(target.name, dir_fd=dir_fd)
            return kind, 1
        if not recursive:
            raise ToolExecutionError(
                f"delete_file: '{shown}' is a directory; "
                "pass recursive=true to delete it and its contents"
            )
        count = sum(1 for _ in target.rglob("*")) + 1
        try:
            # rmtree with dir_fd walks by descriptor and never follows symlinks inside.
            shutil.rmtree(target.name, dir_fd=dir_fd)
        except OSError as exc:
            raise ToolExecutionError(
                f"delete_file: could not delete all of '{shown}' ({exc.strerror}: "
                f"{exc.filename}); some entries may already be gone"
            ) from None
        return "dir", count
    finally:
        os.close(dir_fd)


@tool(family="files", name="delete_file", destructive=True, needs_approval=True)
async def _delete_file(
    ctx: ToolContext,
    *,
    path: PathArg,
    recursive: Annotated[
        bool, Field(description="Required to delete a directory and its contents")
    ] = False,
) -> DeleteFileResult:
    """Delete a file, a symlink (never its target) or, with recursive=true, a directory.

    A workspace root is never deleted.
    """
    target = _target_for_delete(ctx, path)
    shown = ctx.workspace.relative(target)
    kind, count = await asyncio.to_thread(_delete, target, shown, recursive)
    return DeleteFileResult(path=shown, kind=kind, entries_deleted=count)


def _describe_deletion(target: Path, shown: str) -> FileChange:
    info = lstat_or_none(target)
    if info is None:
        return FileChange(path=shown, diff=f"{shown} does not exist: nothing to delete\n")
    if stat.S_ISLNK(info.st_mode):
        link = os.readlink(target)
        return FileChange(path=shown, diff=f"Deletes symlink {shown} -> {link} (not its target)\n")
    if stat.S_ISDIR(info.st_mode):
        count = sum(1 for _ in target.rglob("*"))
        return FileChange(path=shown, diff=f"Deletes directory {shown} ({count} entries)\n")
    if not stat.S_ISREG(info.st_mode):  # a FIFO, socket or device: never opened to preview
        return FileChange(path=shown, diff=f"Deletes special file {shown} (not a regular file)\n")
    old = preview_text(target)
    if old is None:
        return FileChange(path=shown, diff=f"Deletes binary file {shown} ({info.st_size} bytes)\n")
    return FileChange(path=shown, diff=unified_diff(shown, old, None), old_text=old)


async def _preview_delete(ctx: ToolContext, args: BaseModel) -> list[FileChange]:
    target = _target_for_delete(ctx, args.model_dump()["path"])
    shown = ctx.workspace.relative(target)
    with contextlib.suppress(PermissionError):
        return [await asyncio.to_thread(_describe_deletion, target, shown)]
    return [FileChange(path=shown, diff=f"Deletes {shown} (not readable to preview)\n")]


delete_file: ToolSpec = _delete_file.with_preview(_preview_delete)

TOOLS: tuple[ToolSpec, ...] = (
    read_file,
    write_file,
    copy_file,
    delete_file,
    list_directory,
    file_search,
)
