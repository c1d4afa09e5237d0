"""File tools: read_file, write_file, copy_file, delete_file (and, from ``_listing``,
list_directory and file_search).

Every path goes through the workspace (symlinks resolved, nothing outside the roots); every
result is bounded; every write is atomic (temp file, fsync, rename) and keeps the file's mode.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, Field

from luminamind.errors import ToolExecutionError
from luminamind.tools._atomic import write_atomic
from luminamind.tools._fileinfo import EntryKind, decode_text, describe_binary, is_binary, kind_of
from luminamind.tools._listing import file_search, list_directory
from luminamind.tools._textfile import ensure_unchanged, sha256_hex
from luminamind.tools.context import ToolContext
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
    "read_file",
    "write_file",
]

PathArg = Annotated[
    str, Field(description="Path relative to the workspace root (or absolute inside it)")
]


class ReadFileResult(BaseModel):
    """A slice of a text file."""

    path: str
    content: str = Field(description="The lines read, with their line endings")
    offset: int = Field(description="0-based index of the first line returned")
    lines_returned: int
    total_lines: int
    truncated: bool = Field(description="True when more of the file follows what was returned")
    next_offset: int | None = Field(description="Pass as offset to read on; None at the end")
    size: int = Field(description="File size in bytes")
    encoding: str = Field(description="Encoding used to decode the file")
    sha256: str = Field(description="Hash of the whole file; pass to write_file as expected_sha256")
    hint: str | None = None


class WriteFileResult(BaseModel):
    """What write_file did."""

    path: str
    bytes_written: int
    created: bool
    sha256: str


class CopyFileResult(BaseModel):
    """What copy_file did."""

    source: str
    destination: str
    kind: EntryKind
    bytes_copied: int
    overwritten: bool


class DeleteFileResult(BaseModel):
    """What delete_file did."""

    path: str
    kind: EntryKind
    entries_deleted: int


def _stat(path: Path, shown: str, tool_name: str) -> os.stat_result:
    try:
        return path.stat()
    except FileNotFoundError:
        raise ToolExecutionError(
            f"{tool_name}: '{shown}' does not exist; "
            "check the path with list_directory or file_search"
        ) from None


def _read_bytes(ctx: ToolContext, path: Path, shown: str, tool_name: str) -> bytes:
    info = _stat(path, shown, tool_name)
    if stat.S_ISDIR(info.st_mode):
        raise ToolExecutionError(f"{tool_name}: '{shown}' is a directory; use list_directory")
    if not stat.S_ISREG(info.st_mode):
        raise ToolExecutionError(f"{tool_name}: '{shown}' is not a regular file")
    limit = ctx.settings.limits.max_file_bytes
    if info.st_size > limit:
        raise ToolExecutionError(
            f"{tool_name}: '{shown}' is {info.st_size} bytes, above the {limit}-byte limit "
            "(limits.max_file_bytes); search it with grep_search instead"
        )
    return path.read_bytes()


def _slice(lines: list[str], offset: int, limit: int | None, max_bytes: int) -> tuple[str, int]:
    """The lines from ``offset`` within ``limit`` lines and ``max_bytes`` bytes, and their count."""
    chosen: list[str] = []
    used = 0
    end = len(lines) if limit is None else min(len(lines), offset + limit)
    for line in lines[offset:end]:
        size = len(line.encode("utf-8", "surrogatepass"))
        if used + size > max_bytes:
            if not chosen:  # one huge line: return its head rather than nothing
                chosen.append(
                    line.encode("utf-8", "surrogatepass")[:max_bytes].decode("utf-8", "ignore")
                )
            break
        chosen.append(line)
        used += size
    return "".join(chosen), len(chosen)


@tool(family="files", read_only=True)
async def read_file(
    ctx: ToolContext,
    *,
    path: PathArg,
    offset: Annotated[int, Field(ge=0, description="First line to read (0-based)")] = 0,
    limit: Annotated[
        int | None, Field(ge=1, description="Most lines to read (default: all that fit)")
    ] = None,
    encoding: Annotated[
        str | None, Field(description="Force a text encoding (default: UTF-8, else detected)")
    ] = None,
) -> ReadFileResult:
    """Read a text file, or part of it by line offset and limit.

    Output is capped (limits.max_read_bytes); when `truncated` is true, call again with
    `offset` = `next_offset`. Binary files are refused with their size and type.
    """
    resolved = ctx.workspace.resolve(path)
    shown = ctx.workspace.relative(resolved)
    data = await asyncio.to_thread(_read_bytes, ctx, resolved, shown, "read_file")
    if is_binary(data):
        raise ToolExecutionError(
            f"read_file: '{shown}' is a binary file ({describe_binary(resolved, data)}, "
            f"{len(data)} bytes); only text files can be read"
        )
    try:
        text, used = decode_text(data, encoding)
    except LookupError:
        raise ToolExecutionError(f"read_file: unknown encoding '{encoding}'") from None
    lines = text.splitlines(keepends=True)
    if offset > len(lines):
        raise ToolExecutionError(
            f"read_file: offset {offset} is past the end of '{shown}' ({len(lines)} lines)"
        )
    content, count = _slice(lines, offset, limit, ctx.settings.limits.max_read_bytes)
    following = offset + count
    truncated = following < len(lines)
    return ReadFileResult(
        path=shown,
        content=content,
        offset=offset,
        lines_returned=count,
        total_lines=len(lines),
        truncated=truncated,
        next_offset=following if truncated else None,
        size=len(data),
        encoding=used,
        sha256=sha256_hex(data),
        hint=f"{len(lines) - following} more lines: read_file with offset={following}"
        if truncated
        else None,
    )


def _current_text(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return None
    return None if is_binary(data) else decode_text(data, None)[0]


def _write(
    ctx: ToolContext, resolved: Path, shown: str, data: bytes, expected: str | None, parents: bool
) -> bool:
    if resolved.is_dir():
        raise ToolExecutionError(f"write_file: '{shown}' is a directory")
    if not resolved.parent.is_dir():
        if not parents:
            raise ToolExecutionError(
                f"write_file: the directory of '{shown}' does not exist; pass create_parents=true"
            )
        resolved.parent.mkdir(parents=True, exist_ok=True)
    created = not resolved.exists()
    if expected is not None:
        ensure_unchanged(resolved, sha256=expected, shown=shown, tool="write_file")
    write_atomic(resolved, data)
    return created


@tool(family="files", name="write_file", destructive=True, needs_approval=True)
async def _write_file(
    ctx: ToolContext,
    *,
    path: PathArg,
    content: Annotated[str, Field(description="The complete new content of the file")],
    expected_sha256: Annotated[
        str | None,
        Field(description="sha256 from read_file: refuse to write if the file changed since"),
    ] = None,
    create_parents: Annotated[bool, Field(description="Create missing parent directories")] = True,
) -> WriteFileResult:
    """Create or overwrite a text file atomically (the file's mode is kept).

    Pass expected_sha256 (from read_file) to make sure nobody changed the file in between.
    """
    resolved = ctx.workspace.resolve(path, write=True)
    shown = ctx.workspace.relative(resolved)
    data = content.encode("utf-8")
    if len(data) > ctx.settings.limits.max_write_bytes:
        raise ToolExecutionError(
            f"write_file: {len(data)} bytes is above the "
            f"{ctx.settings.limits.max_write_bytes}-byte limit (limits.max_write_bytes)"
        )
    created = await asyncio.to_thread(
        _write, ctx, resolved, shown, data, expected_sha256, create_parents
    )
    return WriteFileResult(
        path=shown, bytes_written=len(data), created=created, sha256=sha256_hex(data)
    )


async def _preview_write(ctx: ToolContext, args: BaseModel) -> list[FileChange]:
    resolved = ctx.workspace.resolve(args.model_dump()["path"], write=True)
    shown = ctx.workspace.relative(resolved)
    old = await asyncio.to_thread(_current_text, resolved)
    new = str(args.model_dump()["content"])
    return [FileChange(path=shown, diff=unified_diff(shown, old, new), old_text=old, new_text=new)]


write_file: ToolSpec = _write_file.with_preview(_preview_write)


def _copy(
    source: Path, destination: Path, shown: tuple[str, str], overwrite: bool
) -> tuple[EntryKind, int, bool]:
    info = _stat(source, shown[0], "copy_file")
    existed = destination.exists() or destination.is_symlink()
    if existed and not overwrite:
        raise ToolExecutionError(
            f"copy_file: '{shown[1]}' already exists; pass overwrite=true to replace it"
        )
    if source == destination:
        raise ToolExecutionError("copy_file: source and destination are the same file")
    if stat.S_ISDIR(info.st_mode):
        if destination.is_relative_to(source):
            raise ToolExecutionError("copy_file: cannot copy a directory into itself")
        # symlinks=True copies links as links: a link to outside stays a link, never its target.
        shutil.copytree(source, destination, symlinks=True, dirs_exist_ok=overwrite)
        total = sum(
            f.stat().st_size for f in destination.rglob("*") if f.is_file() and not f.is_symlink()
        )
        return "dir", total, existed
    if existed and destination.is_dir():
        raise ToolExecutionError(
            f"copy_file: '{shown[1]}' is a directory; give the full target path"
        )
    destination.parent.mkdir(parents=True, exist_ok=True)
    data = source.read_bytes()
    write_atomic(destination, data, mode=stat.S_IMODE(info.st_mode))
    return "file", len(data), existed


@tool(family="files", name="copy_file", destructive=True)
async def _copy_file(
    ctx: ToolContext,
    *,
    source: Annotated[str, Field(description="File or directory to copy, inside the workspace")],
    destination: Annotated[str, Field(description="Target path (not a directory to copy into)")],
    overwrite: Annotated[bool, Field(description="Replace an existing destination")] = False,
) -> CopyFileResult:
    """Copy a file (or a directory, recursively). Overwriting needs overwrite=true and approval."""
    src = ctx.workspace.resolve(source)
    dst = ctx.workspace.resolve(destination, write=True)
    shown = (ctx.workspace.relative(src), ctx.workspace.relative(dst))
    kind, size, existed = await asyncio.to_thread(_copy, src, dst, shown, overwrite)
    return CopyFileResult(
        source=shown[0], destination=shown[1], kind=kind, bytes_copied=size, overwritten=existed
    )


async def _preview_copy(ctx: ToolContext, args: BaseModel) -> list[FileChange]:
    src = ctx.workspace.resolve(args.model_dump()["source"])
    dst = ctx.workspace.resolve(args.model_dump()["destination"], write=True)
    if src.is_dir():
        return []
    shown = ctx.workspace.relative(dst)
    old = await asyncio.to_thread(_current_text, dst)
    new = await asyncio.to_thread(_current_text, src)
    if new is None:
        return [
            FileChange(path=shown, diff=f"Binary file {shown} would be replaced\n", old_text=old)
        ]
    return [FileChange(path=shown, diff=unified_diff(shown, old, new), old_text=old, new_text=new)]


copy_file: ToolSpec = _copy_file.with_preview(_preview_copy)


def _target_for_delete(ctx: ToolContext, path: str) -> Path:
    """The entry to delete, without following a final symlink (delete the link, not its target)."""
    raw = Path(path)
    lexical = raw if raw.is_absolute() else ctx.workspace.root / raw
    try:
        is_link = "\x00" not in path and raw.name not in ("", ".", "..") and lexical.is_symlink()
    except OSError:  # e.g. a name too long: resolve() below reports it properly
        is_link = False
    if is_link:
        # The link's directory must be inside the workspace; the link itself may point anywhere.
        return ctx.workspace.resolve(str(raw.parent), write=True) / raw.name
    return ctx.workspace.resolve(path, write=True)


def _delete(target: Path, shown: str, recursive: bool) -> tuple[EntryKind, int]:
    try:
        info = target.lstat()
    except FileNotFoundError:
        raise ToolExecutionError(f"delete_file: '{shown}' does not exist") from None
    kind = kind_of(info)
    if kind != "dir":
        target.unlink()
        return kind, 1
    if not recursive:
        raise ToolExecutionError(
            f"delete_file: '{shown}' is a directory; "
            "pass recursive=true to delete it and its contents"
        )
    count = sum(1 for _ in target.rglob("*")) + 1
    shutil.rmtree(target)  # rmtree never follows symlinks inside the tree
    return "dir", count


@tool(family="files", name="delete_file", destructive=True, needs_approval=True)
async def _delete_file(
    ctx: ToolContext,
    *,
    path: PathArg,
    recursive: Annotated[
        bool, Field(description="Required to delete a directory and its contents")
    ] = False,
) -> DeleteFileResult:
    """Delete a file, a symlink (not its target) or, with recursive=true, a directory."""
    target = _target_for_delete(ctx, path)
    if ctx.workspace.is_root(target):
        raise ToolExecutionError("delete_file: refusing to delete a workspace root")
    shown = ctx.workspace.relative(target)
    kind, count = await asyncio.to_thread(_delete, target, shown, recursive)
    return DeleteFileResult(path=shown, kind=kind, entries_deleted=count)


async def _preview_delete(ctx: ToolContext, args: BaseModel) -> list[FileChange]:
    target = _target_for_delete(ctx, args.model_dump()["path"])
    shown = ctx.workspace.relative(target)
    if target.is_dir() and not target.is_symlink():
        count = sum(1 for _ in target.rglob("*"))
        return [FileChange(path=shown, diff=f"Deletes directory {shown} ({count} entries)\n")]
    old = await asyncio.to_thread(_current_text, target)
    return [FileChange(path=shown, diff=unified_diff(shown, old or "", None), old_text=old)]


delete_file: ToolSpec = _delete_file.with_preview(_preview_delete)

TOOLS: tuple[ToolSpec, ...] = (
    read_file,
    write_file,
    copy_file,
    delete_file,
    list_directory,
    file_search,
)
