"""Facts about files the file tools report: kind, binary sniffing, text decoding."""

from __future__ import annotations

import mimetypes
import stat
from datetime import UTC, datetime
from os import stat_result
from pathlib import Path
from typing import Literal

from charset_normalizer import from_bytes

__all__ = ["EntryKind", "decode_text", "describe_binary", "is_binary", "kind_of", "mtime_iso"]

EntryKind = Literal["file", "dir", "symlink", "other"]
# Git's heuristic: a NUL byte in the first 8000 bytes makes a file binary.
_BINARY_PROBE = 8000
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF8", "GIF image"),
    (b"%PDF-", "PDF document"),
    (b"PK\x03\x04", "ZIP archive"),
    (b"\x7fELF", "ELF executable"),
    (b"\x1f\x8b", "gzip archive"),
    (b"SQLite format 3\x00", "SQLite database"),
    (b"\xcf\xfa\xed\xfe", "Mach-O executable"),
    (b"MZ", "Windows executable"),
)


def kind_of(info: stat_result) -> EntryKind:
    """The kind of an ``lstat`` result."""
    if stat.S_ISLNK(info.st_mode):
        return "symlink"
    if stat.S_ISDIR(info.st_mode):
        return "dir"
    if stat.S_ISREG(info.st_mode):
        return "file"
    return "other"


def mtime_iso(info: stat_result) -> str:
    """Modification time as an ISO 8601 UTC timestamp (seconds)."""
    return datetime.fromtimestamp(info.st_mtime, UTC).isoformat(timespec="seconds")


def is_binary(data: bytes) -> bool:
    """True when ``data`` looks like a binary file rather than text."""
    return b"\x00" in data[:_BINARY_PROBE] or any(data.startswith(m) for m, _ in _MAGIC[:4])


def describe_binary(path: Path, data: bytes) -> str:
    """A human name for a binary file's type, from its first bytes or its name."""
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "binary data"


def decode_text(data: bytes, encoding: str | None) -> tuple[str, str]:
    """Decode ``data`` as ``encoding``, else UTF-8, else the detected charset, else Latin-1.

    Returns:
        The text and the encoding actually used.
    """
    if encoding:
        return data.decode(encoding, errors="replace"), encoding
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(data[:65536]).best()
    if best is not None and best.encoding:
        try:
            return data.decode(best.encoding), best.encoding
        except (UnicodeDecodeError, LookupError):
            pass
    # Latin-1 maps every byte to a character: the text is readable and nothing is lost.
    return data.decode("latin-1"), "latin-1"
