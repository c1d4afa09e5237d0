"""copy_file: a file copied atomically with its mode, or a directory tree with links kept links.

An existing destination is refused unless ``overwrite=true``; the approval policy (see
``approval.py``) then asks before the copy replaces anything.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, Field

from luminamind.errors import ToolExecutionError
from luminamind.security.nofollow import open_nofollow
from luminamind.tools.context import ToolContext
from luminamind.tools.files.atomic import stage_temp
from luminamind.tools.files.fileinfo import EntryKind, lstat_or_none, make_parents, preview_text
from luminamind.tools.preview import FileChange, unified_diff
from luminamind.tools.registry import ToolSpec, tool

__all__ = ["CopyFileResult", "copy_file"]


class CopyFileResult(BaseModel):
    """What copy_file did."""

    source: str
    destination: str
    kind: EntryKind
    files_copied: int
    bytes_copied: int
    overwritten: bool = Field(description="True if the destination existed before")


def _copy_one(source: Path, destination: Path, mode: int) -> int:
    """Copy a regular file atomically, streamed (never held in memory); returns its size.

    Both ends are opened without following symlinks (luminamind.security.nofollow), so a
    directory swapped for a symlink mid-call makes the copy fail instead of reaching outside.
    """
    src_fd = open_nofollow(source, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(src_fd).st_mode):
            raise ToolExecutionError(f"copy_file: '{source.name}' is not a regular file")
        staged, fd = stage_temp(destination)
    except BaseException:
        os.close(src_fd)
        raise
    try:
        with os.fdopen(fd, "wb") as out, os.fdopen(src_fd, "rb") as inp:
            shutil.copyfileobj(inp, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
            size = out.tell()
            os.fchmod(out.fileno(), mode)
        staged.commit()
    finally:
        staged.discard()
    return size


def _copy_tree(source: Path, destination: Path, shown: tuple[str, str]) -> tuple[int, int]:
    """Copy a directory tree to a new path; all or nothing (a failure leaves no partial copy)."""
    tally = [0, 0]

    def copy(src: str, dst: str) -> object:
        # copy2 keeps mode and times; it refuses FIFOs (SpecialFileError) rather than block.
        result = shutil.copy2(src, dst)
        tally[0] += 1
        tally[1] += os.path.getsize(dst)
        return result

    try:
        # symlinks=True copies links as links: a link to outside stays a link, never its target.
        shutil.copytree(source, destination, symlinks=True, copy_function=copy)
    except shutil.Error as exc:
        failures = exc.args[0] if exc.args and isinstance(exc.args[0], list) else []
        first = "; ".join(f"{f[0]}: {f[2]}" for f in failures[:3]) or str(exc)
        raise ToolExecutionError(
            f"copy_file: {len(failures) or 'some'} entries of '{shown[0]}' could not be copied "
            f"({first}); nothing was copied"
        ) from None
    return tally[0], tally[1]


def _replace_dir(source: Path, destination: Path, shown: tuple[str, str]) -> tuple[int, int]:
    """Copy ``source`` into a staging directory beside ``destination``, then swap it in.

    The copy never writes into an existing destination: a symlink planted there could otherwise
    lead the copy out of the workspace. Overwriting replaces the old tree as a whole.
    """
    staging = Path(
        tempfile.mkdtemp(prefix=f".{destination.name}.", suffix=".tmp", dir=destination.parent)
    )
    try:
        tree = staging / "tree"
        counts = _copy_tree(source, tree, shown)
        if destination.exists():
            old = staging / "old"
            os.rename(destination, old)
            try:
                os.rename(tree, destination)
            except OSError:
                os.rename(old, destination)
                raise
        else:
            os.rename(tree, destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return counts


def _copy(
    source: Path, destination: Path, shown: tuple[str, str], overwrite: bool
) -> tuple[EntryKind, int, int, bool]:
    try:
        info = source.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise ToolExecutionError(
            f"copy_file: '{shown[0]}' does not exist; check the path with list_directory"
        ) from None
    if source == destination:
        raise ToolExecutionError("copy_file: source and destination are the same file")
    target = lstat_or_none(destination)
    if target is not None and not overwrite:
        raise ToolExecutionError(
            f"copy_file: '{shown[1]}' already exists; pass overwrite=true to replace it"
        )
    if stat.S_ISDIR(info.st_mode):
        if destination.is_relative_to(source):
            raise ToolExecutionError("copy_file: cannot copy a directory into itself")
        if target is not None and not stat.S_ISDIR(target.st_mode):
            raise ToolExecutionError(
                f"copy_file: '{shown[1]}' is not a directory; a directory cannot replace it"
            )
        make_parents(destination, shown[1], "copy_file")
        files, size = _replace_dir(source, destination, shown)
        return "dir", files, size, target is not None
    if not stat.S_ISREG(info.st_mode):
        raise ToolExecutionError(f"copy_file: '{shown[0]}' is not a regular file or directory")
    if target is not None and not stat.S_ISREG(target.st_mode):
        raise ToolExecutionError(
            f"copy_file: '{shown[1]}' exists and is not a regular file; give the full target path"
        )
    make_parents(destination, shown[1], "copy_file")
    size = _copy_one(source, destination, stat.S_IMODE(info.st_mode))
    return "file", 1, size, target is not None


@tool(family="files", name="copy_file", destructive=True, asks_to_overwrite="destination")
async def _copy_file(
    ctx: ToolContext,
    *,
    source: Annotated[str, Field(description="File or directory to copy, inside the workspace")],
    destination: Annotated[
        str, Field(description="Full target path (not a directory to copy into)")
    ],
    overwrite: Annotated[
        bool, Field(description="Replace an existing destination (file, or directory as a whole)")
    ] = False,
) -> CopyFileResult:
    """Copy a file (atomically, with its mode) or a directory tree (symlinks stay links).

    An existing destination is refused unless overwrite=true, and overwriting asks for approval.
    A directory copied over a directory replaces it as a whole (no merge).
    """
    src = ctx.workspace.resolve(source)
    dst = ctx.workspace.resolve(destination, write=True)
    for root in ctx.workspace.roots:
        if root.path == dst or root.path.is_relative_to(dst):
            raise ToolExecutionError(
                f"copy_file: '{destination}' is or contains the workspace root {root.path}; "
                "copy to a new path inside it"
            )
    shown = (ctx.workspace.relative(src), ctx.workspace.relative(dst))
    kind, files, size, existed = await asyncio.to_thread(_copy, src, dst, shown, overwrite)
    return CopyFileResult(
        source=shown[0],
        destination=shown[1],
        kind=kind,
        files_copied=files,
        bytes_copied=size,
        overwritten=existed,
    )


async def _preview_copy(ctx: ToolContext, args: BaseModel) -> list[FileChange]:
    values = args.model_dump()
    src = ctx.workspace.resolve(values["source"])
    dst = ctx.workspace.resolve(values["destination"], write=True)
    shown = ctx.workspace.relative(dst)
    if src.is_dir():
        verb = "Replaces directory" if dst.exists() else "Creates directory"
        source = ctx.workspace.relative(src)
        return [FileChange(path=shown, diff=f"{verb} {shown} with a copy of {source}\n")]
    old = await asyncio.to_thread(preview_text, dst)
    new = await asyncio.to_thread(preview_text, src)
    if new is None or (old is None and dst.is_file()):
        diff = f"Binary file {shown} would be {'replaced' if dst.exists() else 'created'}\n"
        return [FileChange(path=shown, diff=diff, old_text=old, new_text=new)]
    return [FileChange(path=shown, diff=unified_diff(shown, old, new), old_text=old, new_text=new)]


copy_file: ToolSpec = _copy_file.with_preview(_preview_copy)
