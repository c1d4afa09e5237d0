"""list_directory and file_search: bounded, sorted listings that respect ignore rules."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from typing import Annotated

import pathspec
from pathspec.patterns.gitwildmatch import GitWildMatchPatternError
from pydantic import BaseModel, Field

from luminamind.errors import ToolArgumentsError, ToolExecutionError
from luminamind.security.nofollow import exists_beneath, open_dir_nofollow
from luminamind.tools.context import ToolContext
from luminamind.tools.files.fileinfo import EntryKind, kind_of, mtime_iso
from luminamind.tools.registry import tool
from luminamind.tools.rg import find_rg

__all__ = [
    "DirectoryEntry",
    "FileSearchResult",
    "ListDirectoryResult",
    "file_search",
    "list_directory",
]


class DirectoryEntry(BaseModel):
    """One entry of a directory."""

    name: str
    kind: EntryKind
    size: int | None = Field(description="Bytes, for files")
    modified: str = Field(description="Last modification, ISO 8601 UTC")


class ListDirectoryResult(BaseModel):
    """A directory's entries: directories first, then files, each by name."""

    path: str
    entries: list[DirectoryEntry]
    total: int = Field(description="Entries in the directory (hidden ones only if asked for)")
    truncated: bool = Field(description="True when entries follow the ones returned")
    next_offset: int | None = Field(description="Pass as offset to list on; None at the end")


class FileSearchResult(BaseModel):
    """Paths matching a glob, sorted."""

    pattern: str
    paths: list[str]
    total: int = Field(description="Matches found (may exceed the paths returned)")
    truncated: bool = Field(description="True when matches follow the ones returned")
    next_offset: int | None = Field(description="Pass as offset to read on; None at the end")


_OffsetArg = Annotated[int, Field(ge=0, description="Skip this many results (to read on)")]


def _page(total: int, offset: int, limit: int | None, max_entries: int) -> tuple[int, int | None]:
    """End of the page starting at ``offset`` and the offset of the next page (None: no more)."""
    end = offset + min(limit or max_entries, max_entries)
    return end, end if end < total else None


def _list(dir_fd: int, show_hidden: bool) -> list[DirectoryEntry]:
    """The entries of the directory open as ``dir_fd`` (each stat'ed relative to it)."""
    entries: list[DirectoryEntry] = []
    with os.scandir(dir_fd) as it:
        for item in it:
            if not show_hidden and item.name.startswith("."):
                continue
            with contextlib.suppress(FileNotFoundError):  # removed while listing
                info = item.stat(follow_symlinks=False)
                kind = kind_of(info)
                size = info.st_size if kind == "file" else None
                entries.append(
                    DirectoryEntry(name=item.name, kind=kind, size=size, modified=mtime_iso(info))
                )
    entries.sort(key=lambda e: (e.kind != "dir", e.name))
    return entries


# A brace pattern like '*.{a,b,c}' expands to one glob per choice; more than this is refused.
_MAX_ALTERNATIVES = 64


def _expand_braces(pattern: str) -> list[str]:
    """``src/*.{py,pyi}`` -> ``["src/*.py", "src/*.pyi"]`` (one level of braces, as in shells)."""
    start = pattern.find("{")
    if start == -1:
        return [pattern]
    end = pattern.find("}", start)
    if end == -1:
        raise ValueError("'{' has no closing '}'")
    choices = pattern[start + 1 : end]
    if "{" in choices:
        raise ValueError("nested braces are not supported")
    expanded: list[str] = []
    for choice in choices.split(","):
        expanded += _expand_braces(pattern[:start] + choice + pattern[end + 1 :])
        if len(expanded) > _MAX_ALTERNATIVES:
            raise ValueError(f"braces expand to more than {_MAX_ALTERNATIVES} globs")
    return expanded


def _compile_glob(pattern: str) -> pathspec.GitIgnoreSpec:
    """The pattern as .gitignore-style globs, or `ToolArgumentsError` naming ``pattern``."""
    if "\x00" in pattern or pattern.startswith("!"):
        raise ToolArgumentsError(
            "file_search: pattern must be a glob (no NUL byte, no leading '!')",
            fields=["pattern"],
        )
    try:
        return pathspec.GitIgnoreSpec.from_lines(_expand_braces(pattern))
    except (ValueError, GitWildMatchPatternError) as exc:
        raise ToolArgumentsError(
            f"file_search: invalid glob pattern '{pattern}': {exc}", fields=["pattern"]
        ) from None


@tool(family="files", read_only=True)
async def list_directory(
    ctx: ToolContext,
    *,
    path: Annotated[str, Field(description="Directory relative to the workspace root")] = ".",
    show_hidden: Annotated[bool, Field(description="Include names starting with '.'")] = False,
    offset: _OffsetArg = 0,
    limit: Annotated[int | None, Field(ge=1, description="Most entries to return")] = None,
) -> ListDirectoryResult:
    """List a directory: kind, size and modification time of each entry, directories first.

    Capped (limits.max_entries); when `truncated` is true, call again with `offset` =
    `next_offset`.
    """
    resolved = ctx.workspace.resolve(path)
    shown = ctx.workspace.relative(resolved)
    # Listed through a descriptor opened without following any symlink (as the other file
    # tools read): a directory swapped for a symlink after the check makes the call fail.
    try:
        dir_fd = open_dir_nofollow(resolved)
    except FileNotFoundError:
        raise ToolExecutionError(f"list_directory: '{shown}' does not exist") from None
    except NotADirectoryError:
        if resolved.exists():
            raise ToolExecutionError(
                f"list_directory: '{shown}' is not a directory; use read_file"
            ) from None
        raise ToolExecutionError(f"list_directory: '{shown}' does not exist") from None
    except PermissionError:
        raise ToolExecutionError(f"list_directory: permission denied for '{shown}'") from None
    try:
        entries = await asyncio.to_thread(_list, dir_fd, show_hidden)
    except PermissionError:
        raise ToolExecutionError(f"list_directory: permission denied for '{shown}'") from None
    finally:
        os.close(dir_fd)
    end, following = _page(len(entries), offset, limit, ctx.settings.limits.max_entries)
    return ListDirectoryResult(
        path=shown,
        entries=entries[offset:end],
        total=len(entries),
        truncated=following is not None,
        next_offset=following,
    )


@tool(family="files", read_only=True)
async def file_search(
    ctx: ToolContext,
    *,
    pattern: Annotated[
        str, Field(min_length=1, description="Glob, e.g. '*.py', 'src/**/test_*.py', '**/README*'")
    ],
    path: Annotated[str, Field(description="Directory to search under")] = ".",
    show_hidden: Annotated[bool, Field(description="Include hidden files and directories")] = False,
    offset: _OffsetArg = 0,
    limit: Annotated[int | None, Field(ge=1, description="Most paths to return")] = None,
) -> FileSearchResult:
    """Find files by glob, honouring .gitignore (a ripgrep file walk); `.git` is never listed.

    Globs follow .gitignore rules: a pattern without '/' ('*.py') matches names at any depth, one
    with '/' ('src/*.py') is anchored at `path`, '**' spans directories ('src/**/test_*.py'), a
    trailing '/' takes a whole directory ('docs/') and braces give choices ('*.{md,rst}').
    Results are sorted paths relative to the workspace root, capped (limits.max_entries); when
    `truncated` is true, call again with `offset` = `next_offset`.
    """
    spec = _compile_glob(pattern)
    resolved = ctx.workspace.resolve(path)
    rg = find_rg()
    if rg is None:
        raise ToolExecutionError(
            "file_search: the rg binary is missing; reinstall luminamind (ripgrep wheel)"
        )
    try:
        dir_fd = open_dir_nofollow(resolved)
    except OSError:
        raise ToolExecutionError(
            f"file_search: '{ctx.workspace.relative(resolved)}' is not a directory"
        ) from None
    try:
        found = await _search(ctx, rg, dir_fd, resolved, spec, show_hidden)
    finally:
        os.close(dir_fd)
    base = ctx.workspace.relative(resolved)
    end, following = _page(len(found), offset, limit, ctx.settings.limits.max_entries)
    paths = [p if base == "." else f"{base}/{p}" for p in found[offset:end]]
    return FileSearchResult(
        pattern=pattern,
        paths=paths,
        total=len(found),
        truncated=following is not None,
        next_offset=following,
    )


# rg starts in the directory itself, not in whatever its path names by then (Linux: the
# descriptor's /proc entry, a link to the open directory).
_FD_DIR = "/proc/self/fd" if sys.platform == "linux" else None


async def _search(
    ctx: ToolContext,
    rg: str,
    dir_fd: int,
    resolved: os.PathLike[str],
    spec: pathspec.GitIgnoreSpec,
    show_hidden: bool,
) -> list[str]:
    """The sorted paths under ``dir_fd`` that rg lists and ``spec`` matches.

    rg walks by path: a directory swapped for a symlink mid-walk could show it names from
    outside. Every name it lists is therefore checked to exist beneath ``dir_fd`` with no
    symlink on the way (``exists_beneath``) before it is returned.
    """
    # rg lists the files its ignore rules keep (.gitignore at every level, .ignore, git's
    # excludes); the pattern is matched here, because an rg --glob would override those rules.
    # --no-require-git: honour .gitignore in a workspace that is not (yet) a git repository.
    argv = [rg, "--files", "--no-config", "--no-require-git", "--no-messages", "--glob", "!.git"]
    if show_hidden:
        argv.append("--hidden")
    argv += ["--", "."]
    timeout = ctx.settings.limits.search_timeout_seconds
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=resolved if _FD_DIR is None else f"{_FD_DIR}/{dir_fd}",
        pass_fds=() if _FD_DIR is None else (dir_fd,),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except (TimeoutError, asyncio.CancelledError) as exc:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        if isinstance(exc, asyncio.CancelledError):
            raise
        raise ToolExecutionError(
            f"file_search: stopped after {timeout:g} s (limits.search_timeout_seconds); "
            "search a smaller directory or use a narrower pattern"
        ) from None
    listed = (
        line.removeprefix("./") for line in out.decode("utf-8", "surrogateescape").splitlines()
    )
    matched = [rel for rel in listed if rel and spec.match_file(rel)]
    return await asyncio.to_thread(_existing, dir_fd, matched)


def _existing(dir_fd: int, paths: list[str]) -> list[str]:
    return sorted(rel for rel in paths if exists_beneath(dir_fd, rel))
