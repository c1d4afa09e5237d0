"""copy_file: a file copied atomically with its mode, or a directory tree with links kept links.

An existing destination is refused unless ``overwrite=true``; the approval policy (see
``approval.py``) then asks before the copy replaces anything.

In an editor that takes writes (ACP's ``fs/write_text_file``), a plain text file is copied
through it instead, as write_file writes: the source as the editor has it (unsaved edits
included, when it serves reads) becomes the destination's buffer, and the editor records the
change. The protocol has only whole-text reads and writes, so what it cannot carry is copied
on disk as before: directories, binary or non-UTF-8 files, files with an executable bit (a
text write cannot keep the mode), files above ``limits.max_write_bytes``.
"""

from __future__ import annotations

import asyncio
import errno
import os
import secrets
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, Field

from luminamind.errors import PathEscapeError, ToolExecutionError
from luminamind.security.nofollow import open_dir_nofollow, open_nofollow
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


# A directory or file opened during a tree copy: never through a symlink.
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_STAGING_ATTEMPTS = 100


@dataclass(slots=True)
class _TreeCopy:
    """One directory copy: every file and directory opened relative to its parent's descriptor.

    ``shutil.copytree`` works by path, so a directory of the source swapped for a symlink while
    it runs would copy outside content into the workspace. Here each entry is opened from its
    directory's descriptor with ``O_NOFOLLOW``: a swap makes that entry fail, and a failed entry
    makes the whole copy fail (nothing is kept). Written here rather than taken from shutil,
    which has no descriptor-relative copytree.
    """

    hardlink_ok: Callable[[tuple[str, ...]], bool]
    files: int = 0
    size: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)

    def copy_dir(self, src_fd: int, dst_fd: int, rel: tuple[str, ...]) -> None:
        """Copy the entries of the directory ``src_fd`` into the empty directory ``dst_fd``."""
        with os.scandir(src_fd) as scan:
            entries = sorted(scan, key=lambda e: e.name)
        for entry in entries:
            here = (*rel, entry.name)
            try:
                info = entry.stat(follow_symlinks=False)
                if stat.S_ISLNK(info.st_mode):
                    # Links stay links: a link to outside is copied as a link, never its target.
                    target = os.readlink(entry.name, dir_fd=src_fd)
                    os.symlink(target, entry.name, dir_fd=dst_fd)
                elif stat.S_ISDIR(info.st_mode):
                    self._subdir(src_fd, dst_fd, entry.name, here)
                elif stat.S_ISREG(info.st_mode):
                    self._file(src_fd, dst_fd, entry.name, here)
                else:
                    raise OSError(errno.EINVAL, "not a regular file, directory or symlink")
            except OSError as exc:
                self.failures.append(("/".join(here), exc.strerror or str(exc)))
            except PathEscapeError as exc:
                self.failures.append(("/".join(here), str(exc)))

    def _subdir(self, src_fd: int, dst_fd: int, name: str, rel: tuple[str, ...]) -> None:
        child_src = os.open(name, _DIR_FLAGS, dir_fd=src_fd)
        try:
            info = os.fstat(child_src)
            os.mkdir(name, 0o700, dir_fd=dst_fd)
            child_dst = os.open(name, _DIR_FLAGS, dir_fd=dst_fd)
            try:
                self.copy_dir(child_src, child_dst, rel)
                os.fchmod(child_dst, stat.S_IMODE(info.st_mode))
                os.utime(child_dst, ns=(info.st_atime_ns, info.st_mtime_ns))
            finally:
                os.close(child_dst)
        finally:
            os.close(child_src)

    def _file(self, src_fd: int, dst_fd: int, name: str, rel: tuple[str, ...]) -> None:
        # O_NONBLOCK: a FIFO put in the file's place opens at once and is refused below.
        src = os.open(
            name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=src_fd
        )
        with os.fdopen(src, "rb") as inp:
            info = os.fstat(src)
            if not stat.S_ISREG(info.st_mode):
                raise OSError(errno.EINVAL, "not a regular file")
            if info.st_nlink > 1 and not self.hardlink_ok(rel):
                raise OSError(
                    errno.EMLINK,
                    f"a file with {info.st_nlink} hard links (another may be outside the "
                    "workspace; see the hardlinks setting)",
                )
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            with os.fdopen(os.open(name, flags, 0o600, dir_fd=dst_fd), "wb") as out:
                shutil.copyfileobj(inp, out, 1 << 20)
                out.flush()
                os.fchmod(out.fileno(), stat.S_IMODE(info.st_mode))
                os.utime(out.fileno(), ns=(info.st_atime_ns, info.st_mtime_ns))
                self.files += 1
                self.size += out.tell()


def _make_staging(parent_fd: int, destination: str) -> str:
    """A new private directory beside the destination, made relative to its parent's fd."""
    for _ in range(_STAGING_ATTEMPTS):
        name = f".{destination}.{secrets.token_hex(4)}.tmp"
        try:
            os.mkdir(name, 0o700, dir_fd=parent_fd)
        except FileExistsError:
            continue
        return name
    raise ToolExecutionError(f"copy_file: cannot make a staging directory beside '{destination}'")


def _replace_dir(
    source: Path,
    destination: Path,
    shown: tuple[str, str],
    hardlink_ok: Callable[[tuple[str, ...]], bool],
) -> tuple[int, int]:
    """Copy ``source`` into a staging directory beside ``destination``, then swap it in.

    The copy never writes into an existing destination: a symlink planted there could otherwise
    lead the copy out of the workspace. Overwriting replaces the old tree as a whole. The
    source, the destination's parent and the staging directory are held as descriptors opened
    without following symlinks; every step works relative to them.
    """
    src_fd = open_dir_nofollow(source)
    try:
        parent_fd = open_dir_nofollow(destination.parent)
    except BaseException:
        os.close(src_fd)
        raise
    try:
        staging = _make_staging(parent_fd, destination.name)
        try:
            staging_fd = os.open(staging, _DIR_FLAGS, dir_fd=parent_fd)
            try:
                copier = _TreeCopy(hardlink_ok)
                os.mkdir("tree", 0o700, dir_fd=staging_fd)
                tree_fd = os.open("tree", _DIR_FLAGS, dir_fd=staging_fd)
                try:
                    copier.copy_dir(src_fd, tree_fd, ())
                    info = os.fstat(src_fd)
                    os.fchmod(tree_fd, stat.S_IMODE(info.st_mode))
                    os.utime(tree_fd, ns=(info.st_atime_ns, info.st_mtime_ns))
                finally:
                    os.close(tree_fd)
                if copier.failures:
                    first = "; ".join(f"{path}: {why}" for path, why in copier.failures[:3])
                    raise ToolExecutionError(
                        f"copy_file: {len(copier.failures)} entries of '{shown[0]}' could not "
                        f"be copied ({first}); nothing was copied"
                    )
                _swap_in(staging_fd, parent_fd, destination.name)
            finally:
                os.close(staging_fd)
        finally:
            shutil.rmtree(staging, dir_fd=parent_fd, ignore_errors=True)
    finally:
        os.close(parent_fd)
        os.close(src_fd)
    return copier.files, copier.size


def _swap_in(staging_fd: int, parent_fd: int, name: str) -> None:
    """Rename the staged ``tree`` to ``name``; an existing ``name`` goes to the staging dir."""
    try:
        os.rename("tree", name, src_dir_fd=staging_fd, dst_dir_fd=parent_fd)
        return
    except OSError as exc:
        if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
            raise
    os.rename(name, "old", src_dir_fd=parent_fd, dst_dir_fd=staging_fd)
    try:
        os.rename("tree", name, src_dir_fd=staging_fd, dst_dir_fd=parent_fd)
    except OSError:
        os.rename("old", name, src_dir_fd=staging_fd, dst_dir_fd=parent_fd)
        raise


def _copy(
    source: Path,
    destination: Path,
    shown: tuple[str, str],
    overwrite: bool,
    hardlink_ok: Callable[[tuple[str, ...]], bool],
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
        files, size = _replace_dir(source, destination, shown, hardlink_ok)
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


def _editor_text(
    source: Path, destination: Path, overwrite: bool, cap: int
) -> tuple[str, bool] | None:
    """The source's text and whether the destination exists, when the editor can copy it.

    None when the copy must happen on disk (see the module docstring); the same refusals as
    `_copy` for a missing source, the same file, or an existing destination.
    """
    try:
        info = source.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None  # `_copy` says so
    if not stat.S_ISREG(info.st_mode) or info.st_mode & 0o111 or info.st_size > cap:
        return None
    if source == destination:
        return None
    target = lstat_or_none(destination)
    if target is not None and (not overwrite or not stat.S_ISREG(target.st_mode)):
        return None  # `_copy` refuses it with its message
    fd = open_nofollow(source, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as inp:
        data = inp.read(cap + 1)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text, target is not None


async def _copy_in_editor(
    ctx: ToolContext, src: Path, dst: Path, shown: tuple[str, str], overwrite: bool
) -> CopyFileResult | None:
    editor = ctx.editor
    if editor is None or not editor.writes:
        return None
    cap = ctx.settings.limits.max_write_bytes
    found = await asyncio.to_thread(_editor_text, src, dst, overwrite, cap)
    if found is None:
        return None
    text, existed = found
    if editor.reads:  # what the user sees, unsaved edits included
        text = await editor.read_text(src)
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > cap:
        raise ToolExecutionError(
            f"copy_file: '{shown[0]}' is {size} bytes in the editor, above the {cap}-byte limit "
            "(limits.max_write_bytes); save it and copy a smaller file, or raise the limit"
        )
    await editor.write_text(dst, text)
    return CopyFileResult(
        source=shown[0],
        destination=shown[1],
        kind="file",
        files_copied=1,
        bytes_copied=size,
        overwritten=existed,
    )


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
    through_editor = await _copy_in_editor(ctx, src, dst, shown, overwrite)
    if through_editor is not None:
        return through_editor
    # A file inside a copied directory obeys the hard-link rule as if it were named itself.
    src_root = next((r.path for r in ctx.workspace.roots if r.contains(src)), src)
    base = src.relative_to(src_root).parts
    hardlinks = ctx.workspace.hardlinks

    def hardlink_ok(rel: tuple[str, ...]) -> bool:
        return hardlinks.allows((*base, *rel))

    kind, files, size, existed = await asyncio.to_thread(
        _copy, src, dst, shown, overwrite, hardlink_ok
    )
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
