"""Scanners for the small programs ``sed`` and ``awk`` take as arguments.

Both languages can run commands (sed's ``e`` command and ``s///e`` flag; awk's ``system()``,
``print | "cmd"`` and ``"cmd" | getline``) and read or write arbitrary files. The scanners parse
just enough of each language to find those constructs; anything they cannot parse is refused
rather than guessed at, so a script the scanner misreads is an error, not a hole.

Regular expressions are parsed the way GNU sed, gawk and mawk do: a delimiter inside a bracket
expression (``s/[/]/x/``) does not end the regex, and a backslash inside brackets is literal.
A sed or awk that did not understand brackets would see an unterminated bracket there and
refuse to compile the script, so the difference cannot be used to hide a command.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from luminamind.errors import CommandBlockedError

__all__ = ["ScriptFiles", "scan_awk", "scan_sed"]

# Special files the programs treat as streams, never as files on disk.
STREAM_FILES = frozenset({"/dev/stdin", "/dev/stdout", "/dev/stderr", "-"})


@dataclass(slots=True)
class ScriptFiles:
    """Files a script reads or writes by name; each is checked against the workspace."""

    reads: list[str] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)


def _refuse(program: str, what: str, instead: str) -> CommandBlockedError:
    return CommandBlockedError(f"refused {program} {what}: {instead}. Nothing was run.")


def _skip_bracket(s: str, i: int) -> int:
    """``s[i]`` is '['; return the index just after the matching ']' (POSIX rules)."""
    j = i + 1
    if j < len(s) and s[j] == "^":
        j += 1
    if j < len(s) and s[j] == "]":  # a ']' first in the list is a member, not the end
        j += 1
    while j < len(s):
        if s[j] == "[" and j + 1 < len(s) and s[j + 1] in ":.=":
            close = s.find(s[j + 1] + "]", j + 2)
            if close < 0:
                raise ValueError("unterminated character class")
            j = close + 2
            continue
        if s[j] == "]":
            return j + 1
        j += 1
    raise ValueError("unterminated bracket expression")


def _skip_delimited(s: str, i: int, delim: str, *, regex: bool) -> int:
    """Skip from ``s[i]`` to just after the next unescaped ``delim``."""
    while i < len(s):
        ch = s[i]
        if ch == "\\":
            i += 2
            continue
        if ch == delim:
            return i + 1
        if ch == "\n" and regex:
            raise ValueError("newline inside a regular expression")
        if ch == "[" and regex:
            i = _skip_bracket(s, i)
            continue
        i += 1
    raise ValueError(f"missing closing '{delim}'")


# -- sed -----------------------------------------------------------------------------------------

_SED_SIMPLE = frozenset("=dDgGhHnNpPxzF")
_SED_S_FLAGS = frozenset("gpiImM0123456789")


def _sed_address(s: str, i: int) -> int:
    if i < len(s) and (s[i].isdigit() or s[i] == "$"):
        i += 1
        while i < len(s) and (s[i].isdigit() or s[i] == "~"):
            i += 1
    elif i < len(s) and s[i] == "/":
        i = _skip_delimited(s, i + 1, "/", regex=True)
    elif i < len(s) and s[i] == "\\":
        if i + 1 >= len(s) or s[i + 1] in "\n\\":
            raise ValueError("bad address delimiter")
        i = _skip_delimited(s, i + 2, s[i + 1], regex=True)
    else:
        return i
    while i < len(s) and s[i] in "IM":
        i += 1
    return i


def _rest_of_line(s: str, i: int) -> tuple[str, int]:
    end = s.find("\n", i)
    end = len(s) if end < 0 else end
    return s[i:end], end


def scan_sed(script: str) -> ScriptFiles:
    """Parse a sed script; refuse ``e`` commands/flags, report files it reads or writes.

    Raises:
        CommandBlockedError: the script runs commands or cannot be parsed.
    """
    try:
        return _scan_sed(script)
    except ValueError as exc:
        raise _refuse(
            "sed script",
            f"that could not be verified ({exc})",
            "simplify it (one 's' or 'p' command is best), or use multi_replace_in_file",
        ) from None


def _scan_sed(s: str) -> ScriptFiles:
    found = ScriptFiles()
    i = 0
    while i < len(s):
        ch = s[i]
        if ch in " \t\n;":
            i += 1
            continue
        if ch == "#":
            i = _rest_of_line(s, i)[1]
            continue
        i = _sed_address(s, i)
        while i < len(s) and s[i] in " \t":
            i += 1
        if i < len(s) and s[i] == ",":
            i += 1
            while i < len(s) and s[i] in " \t":
                i += 1
            if i < len(s) and s[i] in "+~":
                i += 1
                while i < len(s) and s[i].isdigit():
                    i += 1
            else:
                i = _sed_address(s, i)
        while i < len(s) and s[i] in " \t!":
            i += 1
        if i >= len(s):
            raise ValueError("missing command")
        cmd = s[i]
        i += 1
        if cmd == "e":
            raise _refuse(
                "sed script",
                "with the 'e' command (it runs a shell command)",
                "run the command with the shell tool on its own",
            )
        if cmd in "{}" or cmd in _SED_SIMPLE:
            continue
        if cmd in "qQlLv":
            while i < len(s) and (s[i].isdigit() or s[i] in " \t"):
                i += 1
        elif cmd in "bBtT:":
            while i < len(s) and s[i] not in ";\n":
                i += 1
        elif cmd in "aic":
            i = _skip_text(s, i)
        elif cmd in "rRwW":
            name, i = _rest_of_line(s, i)
            _record(found, name.strip(), write=cmd in "wW")
        elif cmd == "s":
            i = _sed_substitute(s, i, found)
        elif cmd == "y":
            if i >= len(s) or s[i] in "\n\\":
                raise ValueError("bad 'y' delimiter")
            delim = s[i]
            i = _skip_delimited(s, i + 1, delim, regex=False)
            i = _skip_delimited(s, i, delim, regex=False)
        else:
            raise ValueError(f"unknown command '{cmd}'")
    return found


def _skip_text(s: str, i: int) -> int:
    """Skip the text of a/i/c: to the end of the line, following backslash-newlines."""
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s):
            i += 2
            continue
        if s[i] == "\n":
            return i
        i += 1
    return i


def _sed_substitute(s: str, i: int, found: ScriptFiles) -> int:
    if i >= len(s) or s[i] in "\n\\":
        raise ValueError("bad 's' delimiter")
    delim = s[i]
    i = _skip_delimited(s, i + 1, delim, regex=True)
    i = _skip_delimited(s, i, delim, regex=False)
    while i < len(s) and s[i] not in ";\n}# \t":
        flag = s[i]
        if flag == "e":
            raise _refuse(
                "sed script",
                "with the 's///e' flag (it runs the pattern space as a command)",
                "drop the 'e' flag",
            )
        if flag == "w":
            name, i = _rest_of_line(s, i + 1)
            _record(found, name.strip(), write=True)
            return i
        if flag not in _SED_S_FLAGS:
            raise ValueError(f"unknown 's' flag '{flag}'")
        i += 1
    return i


def _record(found: ScriptFiles, name: str, *, write: bool) -> None:
    if not name:
        raise ValueError("a file command without a file name")
    if name in STREAM_FILES:
        return
    (found.writes if write else found.reads).append(name)


# -- awk -----------------------------------------------------------------------------------------

# After these, a '/' starts a regex; after an operand (name, number, ')' ']' '$'), it divides.
_AWK_REGEX_AFTER = frozenset("(,~!&|{};:?=\n")
_AWK_OPS2 = ("||", "&&", ">>", "|&", "<=", ">=", "==", "!=", "++", "--", "+=", "-=", "*=")


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # "str", "re", "name", "num", "op", "nl"
    text: str


def _awk_tokens(s: str) -> list[_Tok]:
    out: list[_Tok] = []
    i = 0
    last_sig = "\n"
    while i < len(s):
        ch = s[i]
        if ch in " \t":
            i += 1
        elif ch == "\\" and s[i + 1 : i + 2] == "\n":
            i += 2
        elif ch == "#":
            i = _rest_of_line(s, i)[1]
        elif ch == "\n":
            out.append(_Tok("nl", ch))
            last_sig = ch
            i += 1
        elif ch == '"':
            end = _skip_delimited(s, i + 1, '"', regex=False)
            out.append(_Tok("str", _awk_unescape(s[i + 1 : end - 1])))
            last_sig = '"'
            i = end
        elif ch == "/" and last_sig in _AWK_REGEX_AFTER:
            end = _skip_delimited(s, i + 1, "/", regex=True)
            out.append(_Tok("re", s[i:end]))
            last_sig = "/"
            i = end
        elif ch.isalpha() or ch == "_":
            j = i
            while j < len(s) and (s[j].isalnum() or s[j] == "_"):
                j += 1
            out.append(_Tok("name", s[i:j]))
            last_sig = "a"
            i = j
        elif ch.isdigit() or ch == ".":
            j = i
            while j < len(s) and (s[j].isalnum() or s[j] in "._"):
                j += 1
            out.append(_Tok("num", s[i:j]))
            last_sig = "0"
            i = j
        else:
            op = next((o for o in _AWK_OPS2 if s.startswith(o, i)), ch)
            out.append(_Tok("op", op))
            # "++"/"--" may follow an operand (x++ / 2); treat the '/' after them as division.
            last_sig = "a" if op in ("++", "--", ")", "]", "$") else op[-1]
            i += len(op)
    return out


def _awk_unescape(text: str) -> str:
    return text.replace('\\"', '"').replace("\\/", "/").replace("\\\\", "\\")


def scan_awk(program: str) -> ScriptFiles:
    """Scan an awk program; refuse commands and pipes, report files it reads or writes.

    Raises:
        CommandBlockedError: the program runs commands, uses pipes or gawk extensions, redirects
            to a computed file name, or cannot be tokenised.
    """
    try:
        tokens = _awk_tokens(program)
    except ValueError as exc:
        raise _refuse(
            "awk program",
            f"that could not be verified ({exc})",
            "simplify it, or use grep_search or a Python script in the workspace",
        ) from None
    found = ScriptFiles()
    for k, tok in enumerate(tokens):
        if tok.kind == "name" and tok.text in ("ARGV", "ARGC"):
            raise _refuse(
                "awk program",
                f"using {tok.text} (changing it makes awk read files the policy never saw)",
                "name the files as arguments",
            )
        if tok.kind == "name" and tok.text == "system":
            raise _refuse(
                "awk program",
                "calling system() (it runs a shell command)",
                "run the command with the shell tool on its own",
            )
        if tok.kind == "op" and tok.text in ("|", "|&"):
            raise _refuse(
                "awk program",
                f"with a '{tok.text}' pipe (it runs a shell command)",
                "pipe the output with '|' between shell-tool stages instead, or write "
                "'[|]' for a literal bar inside a regex",
            )
        if tok.kind == "op" and tok.text == "@":
            raise _refuse("awk program", "with a gawk '@' directive", "inline the code instead")
        if tok.kind == "name" and tok.text == "getline":
            _awk_getline(tokens, k, found)
        if tok.kind == "name" and tok.text in ("print", "printf"):
            _awk_print(tokens, k, found)
    return found


def _awk_target(tokens: list[_Tok], k: int, found: ScriptFiles, *, write: bool) -> None:
    target = tokens[k] if k < len(tokens) else None
    if target is None or target.kind != "str":
        raise _refuse(
            "awk program",
            "redirecting to a computed file name",
            "use a literal file name in double quotes",
        )
    _record_awk(found, target.text, write=write)


def _record_awk(found: ScriptFiles, name: str, *, write: bool) -> None:
    if name in STREAM_FILES:
        return
    (found.writes if write else found.reads).append(name)


def _awk_getline(tokens: list[_Tok], k: int, found: ScriptFiles) -> None:
    j = k + 1
    if j < len(tokens) and (tokens[j].kind == "name" or tokens[j].text == "$"):
        j += 1
        if j < len(tokens) and tokens[j].kind in ("name", "num"):
            j += 1  # getline $NF or $1
    if j < len(tokens) and tokens[j].text == "<":
        _awk_target(tokens, j + 1, found, write=False)


def _awk_print(tokens: list[_Tok], k: int, found: ScriptFiles) -> None:
    depth = 0
    for j in range(k + 1, len(tokens)):
        tok = tokens[j]
        if tok.kind == "nl" or (tok.kind == "op" and tok.text in (";", "}") and depth == 0):
            return
        if tok.kind == "op" and tok.text in ("(", "["):
            depth += 1
        elif tok.kind == "op" and tok.text in (")", "]"):
            depth -= 1
        elif tok.kind == "op" and tok.text in (">", ">>") and depth <= 0:
            _awk_target(tokens, j + 1, found, write=True)
            return
