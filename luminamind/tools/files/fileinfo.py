"""Facts about files the file tools share: kind, binary sniffing, text decoding, parents."""

from __future__ import annotations

import codecs
import contextlib
import errno
import mimetypes
import os
import stat
import unicodedata
from datetime import UTC, datetime
from os import stat_result
from pathlib import Path
from typing import Literal

from luminamind.errors import PathEscapeError, ToolExecutionError
from luminamind.security.nofollow import open_dir_nofollow

__all__ = [
    "PREVIEW_MAX_BYTES",
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
# How much of a non-UTF-8 file the charset detection looks at.
_DETECT_BYTES = 65_536
# Non-letters common in Western European text (typography, currency, marks).
_WESTERN_SYMBOLS = frozenset("\u00a0«»“”„‘’‚–—…•·°€£¥¢©®™§¶¿¡×÷±µ¼½¾ªº†‡‰‹›")
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
    for candidate in _legacy_candidates(data[:_DETECT_BYTES]):
        try:
            return data.decode(candidate), candidate
        except (UnicodeDecodeError, LookupError):
            continue
    # Latin-1 maps every byte to a character: the text is readable and nothing is lost.
    return data.decode("latin-1"), "latin-1"


def needs_detection(data: bytes, encoding: str | None) -> bool:
    """True when `decode_text` would have to guess ``data``'s charset (slow: tens of ms)."""
    if encoding or data.startswith(codecs.BOM_UTF8) or _wide_bom(data) is not None:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _non_latin_script(text: str) -> bool:
    """True when most non-ASCII letters of ``text`` are not Latin (Cyrillic, Greek, Hebrew...)."""
    letters = [c for c in text if ord(c) > 127 and c.isalpha()]
    foreign = sum(1 for c in letters if not unicodedata.name(c, "").startswith("LATIN"))
    return bool(letters) and foreign * 2 > len(letters)


def _looks_western(text: str) -> bool:
    """True when every non-ASCII character is a Latin letter or common Western punctuation."""
    return all(
        ord(c) < 128
        or c in _WESTERN_SYMBOLS
        or (c.isalpha() and unicodedata.name(c, "").startswith("LATIN"))
        for c in text
    )


def _legacy_candidates(head: bytes) -> list[str]:
    """Encodings to try, best first, for bytes that are not UTF-8.

    charset_normalizer alone often names a wrong Latin code page for short Western text (French
    in cp1252 comes back as mac_latin2 or cp1257), so Windows-1252 goes first whenever the
    detected text is in the Latin script and cp1252 decodes to plausible Western text; a
    non-Latin detection (cp1251 Cyrillic, say) is trusted as is.
    """
    from charset_normalizer import from_bytes  # loaded when a file first needs it

    best = from_bytes(head).best()
    detected = best.encoding if best is not None and best.encoding else None
    if detected is not None and _non_latin_script(str(best)):
        return [detected]
    try:
        western = _looks_western(head.decode("cp1252"))
    except UnicodeDecodeError:
        western = False
    if western:
        return ["cp1252"]
    return [detected] if detected else []


def lstat_or_none(path: Path) -> stat_result | None:
    """``path.lstat()``, or None when nothing is there (or a parent is not a directory)."""
    try:
        return path.lstat()
    except (FileNotFoundError, NotADirectoryError):
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
        _make_dirs_nofollow(path.parent)
    except (FileExistsError, NotADirectoryError):
        raise ToolExecutionError(
            f"{tool_name}: a parent of '{shown}' is a file, not a directory"
        ) from None


def _make_dirs_nofollow(directory: Path) -> None:
    """``mkdir -p`` of a resolved path, each directory made relative to its parent's descriptor.

    ``Path.mkdir(parents=True)`` would follow a parent swapped for a symlink after the path was
    checked and create directories outside; here no symlink is followed (luminamind.security.
    nofollow), so such a swap makes the call fail.
    """
    missing: list[str] = []
    current = directory
    while True:
        try:
            fd = open_dir_nofollow(current)
            break
        except FileNotFoundError:
            if current.parent == current:
                raise
            missing.append(current.name)
            current = current.parent
    try:
        for name in reversed(missing):
            with contextlib.suppress(FileExistsError):
                os.mkdir(name, dir_fd=fd)
            step = os.open(
                name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd
            )
            os.close(fd)
            fd = step
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise PathEscapeError(
                f"'{directory}' changed while its directories were made (a symlink appeared "
                "on it); nothing was created outside. Try again"
            ) from None
        raise
    finally:
        os.close(fd)


PREVIEW_MAX_BYTES = 512 * 1024  # of the current file, read for a preview's diff


def preview_text(path: Path) -> str | None:
    """The text a preview shows for ``path``: None when it is missing, a directory or binary.

    Only a regular file is read: the file is opened without following a final symlink and
    without blocking (a FIFO would wait forever for a writer), and anything but a regular file
    is refused before a byte is read. At most `PREVIEW_MAX_BYTES` are read; a larger file's
    text ends with a line saying how much of it was compared, so a 2 GiB file (sparse or not)
    costs half a megabyte, not two gigabytes.

    Raises:
        ToolExecutionError: ``path`` is a FIFO, device or socket.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # the final component became a symlink: not ours to read
            raise ToolExecutionError(f"{path.name} is a symlink; previews follow none") from None
        raise
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            return None
        if not stat.S_ISREG(info.st_mode):
            raise ToolExecutionError(
                f"{path.name} is a {_special_kind(info.st_mode)}, not a regular file: the file "
                "tools neither preview nor change it; pick a regular file"
            )
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(PREVIEW_MAX_BYTES + 1)
    finally:
        os.close(fd)
    if is_binary(data):
        return None
    if len(data) <= PREVIEW_MAX_BYTES:
        return decode_text(data, None)[0]
    head = data[:PREVIEW_MAX_BYTES]
    cut = head.rfind(b"\n") + 1 or len(head)
    text = decode_text(head[:cut], None)[0]
    return text + (
        f"[... preview cut: the file is {info.st_size:,} bytes; only the first "
        f"{cut:,} are compared ...]\n"
    )


def _special_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"
