"""Unified diffs: parsing, and applying hunks to text in memory.

Written here rather than taken from a library: ``unidiff`` parses but does not apply, and
``whatthepatch``/``patch-ng`` apply but neither validates every file before writing, reports
which hunk failed and why, nor lets the caller confine each path. The format is small: this
module does no I/O, so ``apply_patch`` can check every hunk of every file before writing one.

Application follows patch(1) with fuzz 0: every context and removed line must match (trailing
``\\r`` ignored, so a CRLF file takes an LF patch), but a hunk may be found some lines away from
the line its header names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["FilePatch", "Hunk", "PatchApplyError", "PatchParseError", "apply_hunks", "parse_patch"]

_HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_DEV_NULL = "/dev/null"
_SHOWN_CHARS = 80


class PatchParseError(ValueError):
    """The patch text is not a unified diff this module understands."""


class PatchApplyError(ValueError):
    """A hunk does not match the file it is meant for."""


@dataclass(slots=True)
class Hunk:
    """One ``@@`` block: the lines it expects (context and removals) and what replaces them."""

    old_start: int
    old_count: int
    new_start: int
    new_count: int
    # (op, text) with op in " -+" and text without its line ending.
    lines: list[tuple[str, str]] = field(default_factory=list)
    old_no_eol: bool = False
    new_no_eol: bool = False

    @property
    def old_lines(self) -> list[str]:
        return [text for op, text in self.lines if op != "+"]


@dataclass(slots=True)
class FilePatch:
    """The changes to one file. ``old_path`` None means creation, ``new_path`` None deletion."""

    old_path: str | None
    new_path: str | None
    hunks: list[Hunk] = field(default_factory=list)
    new_mode: int | None = None
    crlf_added: int = 0  # added lines that ended in \r (a diff of a CRLF file)
    lf_added: int = 0

    @property
    def newline(self) -> str:
        """The line ending the added lines were written with (for files the patch creates)."""
        return "\r\n" if self.crlf_added and not self.lf_added else "\n"

    @property
    def path(self) -> str:
        """The path the change applies to (the new name, or the old one for a deletion)."""
        path = self.new_path if self.new_path is not None else self.old_path
        assert path is not None  # parse_patch never yields both /dev/null
        return path


def _unquote(raw: str) -> str:
    """A path from a ---/+++ line: timestamp dropped, git's C-style quoting undone."""
    raw = raw.split("\t", 1)[0].rstrip("\r")
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        body = raw[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
        # unicode_escape yields code points for the bytes git escaped (UTF-8 as octal escapes).
        return body.encode("latin-1", "surrogateescape").decode("utf-8", "replace")
    return raw.rstrip()


def _strip(path: str, strip: int, lineno: int) -> str | None:
    if path == _DEV_NULL:
        return None
    # As patch -pN: drop the prefix holding N slashes (runs of slashes count once), so -p0
    # keeps an absolute path absolute, for the workspace to refuse.
    parts = re.sub("/+", "/", path).split("/")
    if len(parts) <= strip or not parts[-1]:
        raise PatchParseError(
            f"patch line {lineno}: cannot strip {strip} leading component(s) from '{path}'; "
            "pass a smaller strip"
        )
    return "/".join(parts[strip:])


def _git_paths(line: str) -> tuple[str, str] | None:
    """``diff --git a/x b/x`` → ("a/x", "b/x") when the split is unambiguous."""
    rest = line[len("diff --git ") :].rstrip("\r")
    half = len(rest) // 2
    if len(rest) % 2 == 1 and rest[half] == " " and rest[:half][1:] == rest[half + 1 :][1:]:
        return rest[:half], rest[half + 1 :]
    parts = rest.split(" ")
    return (parts[0], parts[1]) if len(parts) == 2 else None


def parse_patch(text: str, *, strip: int) -> list[FilePatch]:
    """Parse a unified diff (plain ``diff -u`` or ``git diff``) into per-file changes.

    Raises:
        PatchParseError: malformed headers or hunks, binary patches, renames, or no changes.
    """
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    patches: list[FilePatch] = []
    git: dict[str, object] = {}
    i = 0

    def finish_git_section() -> None:
        # git writes no ---/+++ for an empty file created or deleted: only the header says so.
        paths = git.get("paths")
        if isinstance(paths, tuple) and ("new_mode" in git or "deleted" in git):
            old, new = (_strip(p, strip, int(str(git["line"]))) for p in paths)
            patch = FilePatch(
                old_path=None if "new_mode" in git else old,
                new_path=None if "deleted" in git else new,
            )
            mode = git.get("new_mode")
            patch.new_mode = mode if isinstance(mode, int) else None
            patches.append(patch)
        git.clear()

    while i < len(lines):
        line = lines[i].rstrip("\r")
        if line.startswith("diff --git "):
            finish_git_section()
            git.update(paths=_git_paths(line), line=i + 1)
        elif line.startswith("new file mode "):
            git["new_mode"] = int(line.split()[-1], 8) & 0o777
        elif line.startswith("deleted file mode "):
            git["deleted"] = True
        elif line.startswith(("rename from ", "copy from ")):
            raise PatchParseError(
                f"patch line {i + 1}: renames and copies are not supported; "
                "use copy_file / delete_file, then patch the contents"
            )
        elif line.startswith(("GIT binary patch", "Binary files ")):
            raise PatchParseError(f"patch line {i + 1}: binary patches are not supported")
        elif line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            old = _strip(_unquote(line[4:]), strip, i + 1)
            new = _strip(_unquote(lines[i + 1][4:]), strip, i + 2)
            if old is None and new is None:
                raise PatchParseError(f"patch line {i + 1}: both sides are /dev/null")
            patch = FilePatch(old_path=old, new_path=new)
            mode = git.get("new_mode")
            patch.new_mode = mode if isinstance(mode, int) and old is None else None
            git.clear()
            i = _parse_hunks(lines, i + 2, patch)
            if not patch.hunks:
                raise PatchParseError(f"patch line {i}: '{patch.path}' has no hunks")
            patches.append(patch)
            continue
        elif line.startswith("@@"):
            raise PatchParseError(f"patch line {i + 1}: hunk without a ---/+++ file header")
        i += 1
    finish_git_section()
    if not patches:
        raise PatchParseError("the patch contains no file changes (no ---/+++ headers found)")
    return patches


def _parse_hunks(lines: list[str], i: int, patch: FilePatch) -> int:
    """Read the hunks following a file header; return the index of the first line after them."""
    while i < len(lines):
        match = _HUNK_HEADER.match(lines[i])
        if match is None:
            _check_after_hunks(lines, i, patch)
            return i
        old_start, old_count, new_start, new_count = (
            int(g) if g is not None else 1 for g in match.groups()
        )
        hunk = Hunk(old_start, old_count, new_start, new_count)
        number = len(patch.hunks) + 1
        header_line = i + 1
        i += 1
        old_left, new_left = old_count, new_count
        while old_left > 0 or new_left > 0:
            if i >= len(lines):
                raise PatchParseError(
                    f"hunk {number} of {patch.path} (patch line {header_line}) ends early: "
                    f"{old_left} old and {new_left} new line(s) missing"
                )
            raw = lines[i]
            # A CRLF patch's empty context line is a bare "\r": as empty as "".
            raw = "" if raw == "\r" else raw
            # Editors and mail clients strip the space of an empty context line.
            op, text = (raw[0], raw[1:]) if raw else (" ", "")
            if op == "\\":
                _mark_no_eol(hunk)
                i += 1
                continue
            if op not in " -+" or (op != "+" and old_left == 0) or (op != "-" and new_left == 0):
                raise PatchParseError(
                    f"hunk {number} of {patch.path} (patch line {header_line}): line {i + 1} "
                    f"does not fit the hunk's counts -{old_count} +{new_count}: {raw[:60]!r}"
                )
            hunk.lines.append((op, text.rstrip("\r")))
            if op == "+":
                if text.endswith("\r"):
                    patch.crlf_added += 1
                else:
                    patch.lf_added += 1
            old_left -= op != "+"
            new_left -= op != "-"
            i += 1
        if i < len(lines) and lines[i].startswith("\\"):
            _mark_no_eol(hunk)
            i += 1
        patch.hunks.append(hunk)
    return i


def _check_after_hunks(lines: list[str], i: int, patch: FilePatch) -> None:
    """A +/-/space line right after a hunk means its @@ counts are wrong: never drop it."""
    if i >= len(lines) or not patch.hunks:
        return
    line = lines[i].rstrip("\r")
    # "--- " opens the next file; "-- " alone is the signature format-patch appends.
    if line[:1] in ("+", "-", " ") and not line.startswith("--- ") and line != "-- ":
        hunk = patch.hunks[-1]
        raise PatchParseError(
            f"hunk {len(patch.hunks)} of {patch.path}: patch line {i + 1} {line[:60]!r} does "
            f"not fit the hunk's counts -{hunk.old_count} +{hunk.new_count}; fix the @@ line"
        )


def _mark_no_eol(hunk: Hunk) -> None:
    """``\\ No newline at end of file`` applies to the line just before it."""
    if not hunk.lines:
        return
    op = hunk.lines[-1][0]
    hunk.old_no_eol = hunk.old_no_eol or op != "+"
    hunk.new_no_eol = hunk.new_no_eol or op != "-"


def split_lines(text: str) -> list[str]:
    """Lines with their endings, split on ``\\n`` only (str.splitlines also splits on \\f...)."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _key(line: str) -> str:
    return line.rstrip("\n").rstrip("\r")


def _shown(text: str | None) -> str:
    if text is None:
        return "end of file"
    text = _key(text)
    return repr(text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "...")


def _find(keys: list[str], old: list[str], expected: int, lo: int) -> int | None:
    """Where ``old`` occurs in ``keys`` at or after ``lo``, nearest to ``expected`` first."""
    hi = len(keys) - len(old)
    if hi < lo:
        return None
    expected = min(max(expected, lo), hi)
    first = old[0] if old else None
    for distance in range(max(expected - lo, hi - expected) + 1):
        for pos in (expected - distance, expected + distance) if distance else (expected,):
            # Compare the first line alone before slicing: most positions fail there.
            if (
                lo <= pos <= hi
                and (first is None or keys[pos] == first)
                and keys[pos : pos + len(old)] == old
            ):
                return pos
    return None


def apply_hunks(path: str, text: str, hunks: list[Hunk], *, newline: str) -> tuple[str, list[int]]:
    """Apply ``hunks`` in order to ``text``.

    Args:
        path: the file's name in messages.
        text: current content ("" for a file being created).
        hunks: parsed hunks, in file order.
        newline: line ending for added lines (the file's own).

    Returns:
        The new text and, per hunk, its offset in lines from where its header placed it.

    Raises:
        PatchApplyError: a hunk's context or removed lines are not in the file.
    """
    lines = split_lines(text)
    keys = [_key(line) for line in lines]
    delta = 0  # lines added minus removed by the hunks applied so far
    shift = 0  # delta, plus how far the previous hunk was from where its header said
    lo = 0  # hunks apply in order and never overlap
    offsets: list[int] = []
    for number, hunk in enumerate(hunks, 1):
        old = hunk.old_lines
        # "-5,0" means "insert after line 5"; "-5,3" means "lines 5..7".
        declared = hunk.old_start if hunk.old_count == 0 else hunk.old_start - 1
        expected = declared + shift
        pos = _find(keys, old, expected, lo) if old else expected
        if pos is None or not lo <= pos <= len(lines):
            raise PatchApplyError(_mismatch(path, number, keys, old, expected, lo))
        new_lines: list[str] = []
        cursor = pos
        for op, line_text in hunk.lines:
            if op == " ":
                new_lines.append(lines[cursor])  # the file's own line, ending included
                cursor += 1
            elif op == "-":
                cursor += 1
            else:
                new_lines.append(line_text + newline)
        end = pos + len(old)
        lines[pos:end] = new_lines
        keys[pos:end] = [_key(line) for line in new_lines]
        _fix_endings(lines, pos, pos + len(new_lines), hunk, newline)
        # Offsets as patch(1) reports them: against the header, corrected for earlier hunks.
        offsets.append(pos - (declared + delta))
        delta += len(new_lines) - len(old)
        shift = pos - declared + len(new_lines) - len(old)
        lo = pos + len(new_lines)
    return "".join(lines), offsets


def _fix_endings(lines: list[str], start: int, stop: int, hunk: Hunk, newline: str) -> None:
    """Every line but the last ends with a newline; the last follows the hunk's EOF markers."""
    for i in range(max(start - 1, 0), min(stop, len(lines) - 1)):
        if not lines[i].endswith("\n"):
            lines[i] += newline
    if stop == len(lines) and lines and stop > start:
        last = lines[-1]
        if hunk.new_no_eol:
            lines[-1] = last.rstrip("\n").rstrip("\r")
        elif not last.endswith("\n"):
            lines[-1] = last + newline


def _mismatch(
    path: str, number: int, keys: list[str], old: list[str], expected: int, lo: int
) -> str:
    where = min(max(expected, lo), len(keys))
    found: str | None = None
    line = where + 1
    for j, want in enumerate(old):
        have = keys[where + j] if where + j < len(keys) else None
        if have != want:
            found, line = have, where + j + 1
            return (
                f"hunk {number} of {path} does not apply at line {line}: expected "
                f"{_shown(want)}, found {_shown(found)} (its {len(old)} context/removed lines "
                "are nowhere in the file after the previous hunk); read the file again and "
                "regenerate the patch"
            )
    return (
        f"hunk {number} of {path} does not apply at line {line}: the file has "
        f"only {len(keys)} lines"
    )
