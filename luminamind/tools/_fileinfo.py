"""Facts about files the file tools share: kind, binary sniffing, text decoding, parents."""

from __future__ import annotations

import codecs
import mimetypes
import stat
from datetime import UTC, datetime
from os import stat_result
from pathlib import Path
from typing import Literal

from charset_normalizer import from_bytes

from luminamind.errors import ToolExecutionError

__all__ = [
    "EntryKind",
    "decode_text",
    "describe_binary",
    "is_binary",
    "is_wide_encoding",
    "kind_of",
    "lstat_or_none",
    "make_parents",
    "mtime_iso",
    "preview_text",
]

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
# Text whose NUL bytes are part of its characters; UTF-32 first (its LE mark starts like UTF-16's).
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
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


def _wide_bom(data: bytes) -> str | None:
    for bom, name in _WIDE_BOMS:
        if data.startswith(bom):
            return name
    return None


def is_wide_encoding(encoding: str) -> bool:
    """True for UTF-16 and UTF-32 (any byte order), where NUL bytes are ordinary text."""
    return codecs.lookup(encoding).name.startswith(("utf-16", "utf-32"))


def is_binary(data: bytes) -> bool:
    """True when ``data`` looks like a binary file rather than text.

    UTF-16 and UTF-32 text with a byte-order mark counts as text.
    """
    wide = _wide_bom(data)
    if wide is not None:
        # A BOM alone proves little (binary formats may start with FF FE): the head must decode
        # and hold no NUL characters.
        try:
            head = codecs.getincrementaldecoder(wide)().decode(data[:_BINARY_PROBE], final=False)
        except UnicodeDecodeError:
            return True
        return "\x00" in head
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
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    wide = _wide_bom(data)
    if wide is not None:  # the utf-16/utf-32 codecs read the byte order from the BOM and drop it
        return data.decode(wide, errors="replace"), wide
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


def lstat_or_none(path: Path) -> stat_result | None:
    """``path.lstat()``, or None when nothing is there."""
    try:
        return path.lstat()
    except FileNotFoundError:
        return None


def make_parents(path: Path, shown: str, tool_name: str, *, create: bool = True) -> None:
    """Make sure ``path``'s directory exists (creating it unless ``create`` is false).

    ``path`` is already confined, so every directory created lies inside the workspace.
    """
    if path.parent.is_dir():
        return
    if not create:
        raise ToolExecutionError(
            f"{tool_name}: the directory of '{shown}' does not exist; pass create_parents=true"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise ToolExecutionError(
            f"{tool_name}: a parent of '{shown}' is a file, not a directory"
        ) from None


def preview_text(path: Path) -> str | None:
    """The text a preview shows for ``path``: None when it is missing, a directory or binary."""
    try:
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    return None if is_binary(data) else decode_text(data, None)[0]
