"""Reading a text file that is about to be edited: size cap, binary and encoding checks, hash.

The editing tools (``multi_replace_in_file``, ``apply_patch``) refuse anything they could not
write back byte-for-byte: binary files and files that are not UTF-8. The SHA-256 of what was read
is kept so the write can check that nobody changed the file in between.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from luminamind.errors import ToolExecutionError
from luminamind.security.nofollow import open_nofollow

__all__ = ["TextFile", "detect_newline", "ensure_unchanged", "read_text_file", "sha256_hex"]

# Git's heuristic: a NUL byte in the first 8000 bytes makes a file binary.
_BINARY_PROBE = 8000


@dataclass(frozen=True, slots=True)
class TextFile:
    """A UTF-8 text file as read from disk."""

    path: Path
    text: str
    sha256: str
    size: int


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def detect_newline(text: str) -> str:
    """``\\r\\n`` if most of the file's line ends are CRLF, else ``\\n``."""
    crlf = text.count("\r\n")
    return "\r\n" if crlf and crlf >= text.count("\n") - crlf else "\n"


def read_text_file(path: Path, *, shown: str, max_bytes: int, tool: str) -> TextFile:
    """Read ``path`` as UTF-8 text or raise `ToolExecutionError` saying why not.

    Args:
        path: resolved, confined path.
        shown: how the path is named in messages (workspace-relative).
        max_bytes: larger files are refused (``limits.max_file_bytes``).
        tool: the calling tool's name, for messages.
    """
    try:
        # No symlink followed (the path is resolved already): a directory swapped for a link
        # to the outside after the check fails the call (luminamind.security.nofollow).
        fd = open_nofollow(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise ToolExecutionError(
            f"{tool}: '{shown}' does not exist; check the path (file_search or tree_view help)"
        ) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
        os.close(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ToolExecutionError(f"{tool}: '{shown}' is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise ToolExecutionError(f"{tool}: '{shown}' is not a regular file")
        raise ToolExecutionError(
            f"{tool}: '{shown}' is {info.st_size} bytes, above the {max_bytes}-byte limit "
            "(limits.max_file_bytes); edit it with a narrower tool or raise the limit"
        )
    with os.fdopen(fd, "rb") as handle:
        data = handle.read()
    if b"\x00" in data[:_BINARY_PROBE]:
        raise ToolExecutionError(
            f"{tool}: '{shown}' is a binary file ({len(data)} bytes); only text files can be edited"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ToolExecutionError(
            f"{tool}: '{shown}' is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start}); convert it to UTF-8 first (e.g. iconv) or edit it another way"
        ) from None
    return TextFile(path=path, text=text, sha256=sha256_hex(data), size=len(data))


def ensure_unchanged(path: Path, *, sha256: str | None, shown: str, tool: str) -> None:
    """Raise if ``path`` no longer has the content hashed as ``sha256`` (None: must not exist).

    Called right before the atomic replace, so an edit made by someone else after the tool read
    the file is never silently overwritten.
    """
    try:
        with os.fdopen(open_nofollow(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as handle:
            current: str | None = sha256_hex(handle.read())
    except FileNotFoundError:
        current = None
    if current == sha256:
        return
    if sha256 is None:
        raise ToolExecutionError(
            f"{tool}: '{shown}' appeared while the change was being prepared; nothing was written"
        )
    state = "was deleted" if current is None else "changed"
    raise ToolExecutionError(
        f"{tool}: '{shown}' {state} while the change was being prepared; nothing was written. "
        "Read it again and redo the edit"
    )
