"""read_file: a bounded slice of a text file, by line, in whatever encoding it is stored.

Lines end at ``\\n`` only (``\\r\\n`` stays one line), the way ripgrep and editors number them,
so an offset taken from grep_search points at the same line here. Files up to
``limits.max_file_bytes`` are read whole (hashed, counted, decoded with detection); larger files
are streamed for an explicit slice and never held in memory.
"""

from __future__ import annotations

import asyncio
import codecs
import io
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, BinaryIO, TextIO

from pydantic import BaseModel, Field

from luminamind.errors import PathEscapeError, ToolArgumentsError, ToolExecutionError
from luminamind.security.nofollow import open_nofollow
from luminamind.tools.context import ToolContext
from luminamind.tools.files.fileinfo import (
    decode_text,
    describe_binary,
    is_binary,
    is_wide_encoding,
    needs_detection,
)
from luminamind.tools.files.textfile import sha256_hex
from luminamind.tools.registry import tool

__all__ = ["ReadFileResult", "read_file"]

# Enough of a large file's head to sniff binary content and detect its charset.
_HEAD_BYTES = 65_536
# Characters read at a time while skipping over a (possibly gigantic) line.
_SKIP_CHUNK = 65_536
# Text files up to this size are read on the event loop (see _read_on_loop).
_ON_LOOP_BYTES = 65_536


class ReadFileResult(BaseModel):
    """A slice of a text file."""

    path: str
    content: str = Field(description="The lines read, with their line endings")
    offset: int = Field(description="0-based index of the first line returned")
    lines_returned: int
    total_lines: int | None = Field(
        description="Lines in the file; None for files above limits.max_file_bytes (not counted)"
    )
    truncated: bool = Field(
        description="True when the file goes on past what was returned (or a long line was cut)"
    )
    next_offset: int | None = Field(description="Pass as offset to read on; None at the end")
    size: int = Field(description="File size in bytes")
    encoding: str = Field(description="Encoding used to decode the file")
    sha256: str | None = Field(
        description="Hash of the whole file; pass to write_file as expected_sha256 "
        "(None for files above limits.max_file_bytes)"
    )
    hint: str | None = Field(default=None, description="How to read on, when truncated")


@dataclass(frozen=True, slots=True)
class _Window:
    text: str
    count: int
    more: bool  # lines follow the window
    cut: bool  # the window's only line was longer than the byte cap and was cut


def _utf8_size(text: str) -> int:
    return len(text.encode("utf-8", "replace"))


def _fits(text: str, max_bytes: int) -> bool:
    """True when ``text`` is at most ``max_bytes`` UTF-8 bytes (no encoding when it surely is)."""
    return len(text) * 4 <= max_bytes or _utf8_size(text) <= max_bytes


def _skip_line(stream: TextIO) -> bool:
    """Consume one line of any length; False at the end of the stream."""
    chunk = stream.readline(_SKIP_CHUNK)
    if not chunk:
        return False
    while not chunk.endswith("\n"):
        chunk = stream.readline(_SKIP_CHUNK)
        if not chunk:
            break
    return True


def _window(stream: TextIO, limit: int | None, max_bytes: int) -> _Window:
    """Up to ``limit`` lines and ``max_bytes`` UTF-8 bytes from the stream's position."""
    chosen: list[str] = []
    used = 0
    while limit is None or len(chosen) < limit:
        # A character is at least one byte, so max_bytes + 1 characters always overflow the cap.
        line = stream.readline(max_bytes + 1)
        if not line:
            return _Window("".join(chosen), len(chosen), more=False, cut=False)
        whole = line.endswith("\n") or len(line) <= max_bytes
        size = _utf8_size(line)
        if whole and used + size <= max_bytes:
            chosen.append(line)
            used += size
            continue
        if chosen:  # this line is left for the next call
            return _Window("".join(chosen), len(chosen), more=True, cut=False)
        # A single line above the cap: return its head rather than nothing, and say so.
        head = line.encode("utf-8", "replace")[:max_bytes].decode("utf-8", "ignore")
        if not line.endswith("\n"):
            _skip_line(stream)
        more = bool(stream.readline(1))
        return _Window(head, 1, more=more, cut=True)
    return _Window("".join(chosen), len(chosen), more=bool(stream.readline(1)), cut=False)


def _line_count(text: str) -> int:
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


def _refuse_binary(shown: str, path: Path, data: bytes, size: int, encoding: str | None) -> None:
    # NUL bytes are normal in UTF-16/32 text, so an explicit wide encoding skips the NUL test.
    if is_binary(data) and not (encoding and is_wide_encoding(encoding)):
        raise ToolExecutionError(
            f"read_file: '{shown}' is a binary file ({describe_binary(path, data)}, "
            f"{size} bytes); only text files can be read"
        )


@dataclass(frozen=True, slots=True)
class _Read:
    window: _Window
    total_lines: int | None
    encoding: str
    sha256: str | None


def _read_small(
    raw: BinaryIO,
    path: Path,
    shown: str,
    offset: int,
    limit: int | None,
    encoding: str | None,
    max_bytes: int,
) -> _Read:
    return _slice_small(raw.read(), path, shown, offset, limit, encoding, max_bytes)


def _slice_small(
    data: bytes,
    path: Path,
    shown: str,
    offset: int,
    limit: int | None,
    encoding: str | None,
    max_bytes: int,
) -> _Read:
    _refuse_binary(shown, path, data, len(data), encoding)
    text, used = decode_text(data, encoding)
    total = _line_count(text)
    if offset > total:
        raise ToolExecutionError(
            f"read_file: offset {offset} is past the end of '{shown}' ({total} lines)"
        )
    if offset == 0 and limit is None and _fits(text, max_bytes):
        # The usual call, a whole file within the cap: what `_rest_if_it_fits` would return,
        # without copying the text into a stream and out again.
        return _Read(_Window(text, total, more=False, cut=False), total, used, sha256_hex(data))
    stream = io.StringIO(text, newline="\n")
    for _ in range(offset):
        _skip_line(stream)
    window = _rest_if_it_fits(stream, max_bytes) if limit is None else None
    if window is None:
        window = _window(stream, limit, max_bytes)
    return _Read(window, total, used, sha256_hex(data))


def _rest_if_it_fits(stream: io.StringIO, max_bytes: int) -> _Window | None:
    """The rest of the text in one piece when it fits the cap, else None (stream unmoved).

    This is what `_window` returns in that case, without its line-by-line loop: when the whole
    rest is at most ``max_bytes`` UTF-8 bytes, every line is whole and fits, so it takes them all.
    """
    start = stream.tell()
    rest = stream.read()
    if _fits(rest, max_bytes):
        return _Window(rest, _line_count(rest), more=False, cut=False)
    stream.seek(start)
    return None


def _head_encoding(head: bytes, encoding: str | None) -> str:
    """The encoding of a large file, judged from its head (which may end mid-character)."""
    if encoding:
        return encoding
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return decode_text(head, None)[1]


def _read_large(
    raw: BinaryIO,
    path: Path,
    shown: str,
    offset: int,
    limit: int | None,
    encoding: str | None,
    max_bytes: int,
) -> _Read:
    # ``raw`` belongs to the caller, which opened it without following symlinks.
    head = raw.read(_HEAD_BYTES)
    size = raw.seek(0, io.SEEK_END)
    raw.seek(0)
    _refuse_binary(shown, path, head, size, encoding)
    used = _head_encoding(head, encoding)
    # newline="\n": split at \n only and hand back \r\n untouched, as the small-file path does.
    with io.TextIOWrapper(raw, encoding=used, errors="replace", newline="\n") as stream:
        for skipped in range(offset):
            if not _skip_line(stream):
                raise ToolExecutionError(
                    f"read_file: offset {offset} is past the end of '{shown}' ({skipped} lines)"
                )
        return _Read(_window(stream, limit, max_bytes), None, used, None)


def _read_on_loop(
    ctx: ToolContext, path: Path, shown: str, offset: int, limit: int | None, encoding: str | None
) -> tuple[_Read, int] | None:
    """Read a small text file without a worker thread, or None to leave it to `_read`.

    Waking a worker thread costs more than reading, hashing and decoding a small file (about
    1 ms against a few tens of microseconds for 10 KB). Only regular files up to
    ``_ON_LOOP_BYTES`` that decode without charset detection qualify: detection can take tens
    of milliseconds, which would stall every other request on the loop. A slow file system is no
    new risk here: ``Workspace.resolve`` already stats each component of the path on the loop.
    Anything unusual (errors included) goes to `_read`, which reports it.
    """
    limits = ctx.settings.limits
    most = min(_ON_LOOP_BYTES, limits.max_file_bytes)
    try:
        # O_NONBLOCK: a FIFO opens without waiting for a writer, and fstat turns it away.
        fd = open_nofollow(path, os.O_RDONLY | os.O_NONBLOCK)
    except (OSError, PathEscapeError):
        return None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_size > most:
        os.close(fd)
        return None
    with os.fdopen(fd, "rb") as raw:
        data = raw.read(most + 1)
    if len(data) > most or needs_detection(data, encoding):
        return None
    read = _slice_small(data, path, shown, offset, limit, encoding, limits.max_read_bytes)
    return read, len(data)


def _read(
    ctx: ToolContext, path: Path, shown: str, offset: int, limit: int | None, encoding: str | None
) -> tuple[_Read, int]:
    try:
        # Opened without following any symlink (the path is already resolved), so a directory
        # swapped for a link to the outside after the check fails the call instead.
        fd = open_nofollow(path, os.O_RDONLY | os.O_NONBLOCK)
    except (FileNotFoundError, NotADirectoryError):
        raise ToolExecutionError(
            f"read_file: '{shown}' does not exist; check the path with list_directory or "
            "file_search"
        ) from None
    except IsADirectoryError:
        raise ToolExecutionError(
            f"read_file: '{shown}' is a directory; use list_directory"
        ) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ToolExecutionError(f"read_file: '{shown}' is a directory; use list_directory")
        raise ToolExecutionError(f"read_file: '{shown}' is not a regular file")
    with os.fdopen(fd, "rb") as raw:
        limits = ctx.settings.limits
        cap = limits.max_read_bytes
        if info.st_size <= limits.max_file_bytes:
            return _read_small(raw, path, shown, offset, limit, encoding, cap), info.st_size
        if offset == 0 and limit is None:
            raise ToolExecutionError(
                f"read_file: '{shown}' is {info.st_size} bytes, above the "
                f"{limits.max_file_bytes}-byte limit (limits.max_file_bytes); read a slice with "
                "offset and limit (e.g. limit=200), or find the lines you need with grep_search"
            )
        return _read_large(raw, path, shown, offset, limit, encoding, cap), info.st_size


async def _read_in_editor(
    ctx: ToolContext, path: Path, shown: str, offset: int, limit: int | None
) -> tuple[_Read, int]:
    """The editor's text of ``path`` (unsaved edits included), sliced as a file on disk is.

    Editors hold text, so the slice is of its UTF-8 form; the hash is of that text, which is
    what a write through the same editor compares against.
    """
    assert ctx.editor is not None
    if await asyncio.to_thread(path.is_dir):
        raise ToolExecutionError(f"read_file: '{shown}' is a directory; use list_directory")
    data = (await ctx.editor.read_text(path)).encode("utf-8", "surrogatepass")
    limits = ctx.settings.limits
    if len(data) > limits.max_file_bytes and offset == 0 and limit is None:
        raise ToolExecutionError(
            f"read_file: '{shown}' is {len(data)} bytes, above the {limits.max_file_bytes}-byte "
            "limit (limits.max_file_bytes); read a slice with offset and limit (e.g. limit=200)"
        )
    read = _slice_small(data, path, shown, offset, limit, "utf-8", limits.max_read_bytes)
    return read, len(data)


def _hint(read: _Read, offset: int, max_bytes: int) -> str | None:
    window = read.window
    following = offset + window.count
    if window.cut:
        rest = f"; read on with offset={following}" if window.more else ""
        return (
            f"line {offset} is longer than the {max_bytes}-byte read cap "
            f"(limits.max_read_bytes) and was cut; grep_search can find text in it{rest}"
        )
    if not window.more:
        return None
    if read.total_lines is None:
        return f"more lines follow: read_file with offset={following}"
    return f"{read.total_lines - following} more lines: read_file with offset={following}"


@tool(family="files", read_only=True)
async def read_file(
    ctx: ToolContext,
    *,
    path: Annotated[
        str, Field(description="Path relative to the workspace root (or absolute inside it)")
    ],
    offset: Annotated[int, Field(ge=0, description="First line to read (0-based)")] = 0,
    limit: Annotated[
        int | None, Field(ge=1, description="Most lines to read (default: all that fit)")
    ] = None,
    encoding: Annotated[
        str | None,
        Field(min_length=1, description="Force a text encoding (default: UTF-8, else detected)"),
    ] = None,
) -> ReadFileResult:
    """Read a text file, or part of it by line offset and limit.

    Output is capped (limits.max_read_bytes); when `truncated` is true, call again with
    `offset` = `next_offset`. The result's `sha256` can be passed to write_file to make sure the
    file did not change in between. Binary files are refused with their size and type; files
    above limits.max_file_bytes can be read only in slices (give `limit`).
    """
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ToolArgumentsError(
                f"read_file: unknown encoding '{encoding}'; try utf-8, latin-1 or cp1252",
                fields=["encoding"],
            ) from None
    resolved = ctx.workspace.resolve(path)
    shown = ctx.workspace.relative(resolved)
    editor = ctx.editor
    done: tuple[_Read, int] | None
    if editor is not None and editor.reads:
        done = await _read_in_editor(ctx, resolved, shown, offset, limit)
    else:
        done = _read_on_loop(ctx, resolved, shown, offset, limit, encoding)
    if done is None:
        done = await asyncio.to_thread(_read, ctx, resolved, shown, offset, limit, encoding)
    read, size = done
    window = read.window
    truncated = window.more or window.cut
    return ReadFileResult(
        path=shown,
        content=window.text,
        offset=offset,
        lines_returned=window.count,
        total_lines=read.total_lines,
        truncated=truncated,
        next_offset=offset + window.count if window.more else None,
        size=size,
        encoding=read.encoding,
        sha256=read.sha256,
        hint=_hint(read, offset, ctx.settings.limits.max_read_bytes),
    )
