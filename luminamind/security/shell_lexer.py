"""The shell tool's lexer: a command line becomes argv lists, or a refusal.

The shell tool never starts a shell, so anything a shell would *interpret* (lists, redirections,
substitutions, expansions, globs, comments, backgrounding) would silently mean something else here.
Rather than guess, the lexer refuses it and says what to do instead. Quoting follows POSIX
``sh`` rules, so the text the user approved is split exactly as a shell would split it, and a
quoted metacharacter (``grep 'a|b' f``) stays data.

`shlex` is not used: with ``punctuation_chars`` it returns ``'|'`` and ``|`` as the same token,
and that difference (data versus syntax) is the whole point here.
"""

from __future__ import annotations

import re
import unicodedata

from luminamind.errors import CommandBlockedError

__all__ = ["MAX_COMMAND_LENGTH", "tokenize"]

MAX_COMMAND_LENGTH = 16_384

# Characters a shell treats as syntax when unquoted; used to spot Unicode look-alikes.
_SHELL_META = frozenset("|&;<>()$`\\\"' \t\n*?[]{}~#=!")
# Escapes inside double quotes that a shell removes the backslash from.
_DQ_ESCAPABLE = frozenset('$`"\\\n')
# After a '$', these start an expansion (parameter, command, arithmetic, ANSI-C/locale quoting).
_EXPANSION_START = frozenset("{('\"?#@*!$-_0123456789")

_REDIRECT_HINT = {
    ">": "use write_file to create a file, or read stdout from the result",
    ">>": "use write_file (read the file first to append) instead of a '>>' redirection",
    "<": "pass the file name as an argument, or give the text in the stdin parameter",
    "<<": "give the text in the stdin parameter instead of a here-document",
    "<<<": "give the text in the stdin parameter instead of a here-string",
    ">&": "stdout and stderr are already captured separately; drop the redirection",
    "&>": "stdout and stderr are already captured separately; drop the redirection",
    "<>": "pass the file name as an argument instead",
    ">|": "use write_file to create a file",
}


def _blocked(what: str, instead: str) -> CommandBlockedError:
    return CommandBlockedError(f"refused {what}: {instead}. Nothing was run.")


def _describe(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" ({name})" if name else "")


def _check_characters(command: str) -> None:
    """Refuse characters that are never data a command needs, wherever they appear.

    Control and format characters (NUL, ESC, CR, bidi overrides, zero-width spaces) can make the
    command a human approves look different from the one that runs, so they are refused even
    inside quotes. Tab and newline are allowed here; unquoted newlines are refused by the lexer.
    """
    if not command.strip():
        raise CommandBlockedError("command is empty; give a program and its arguments")
    if len(command) > MAX_COMMAND_LENGTH:
        raise CommandBlockedError(
            f"command is {len(command)} characters long (limit {MAX_COMMAND_LENGTH}); "
            "put long inputs in a file or in the stdin parameter"
        )
    for ch in command:
        if ch in "\t\n":
            continue
        category = unicodedata.category(ch)
        if ch == "\x00":
            raise _blocked("a NUL byte in the command", "remove it")
        if category in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            raise _blocked(
                f"the invisible or control character {_describe(ch)}",
                "retype the command with printable characters only",
            )


class _Lexer:
    """One pass over the command, POSIX quoting, refusing shell syntax as it meets it."""

    def __init__(self, command: str) -> None:
        self.src = command
        self.i = 0
        self.stages: list[list[str]] = [[]]
        self.word: list[str] | None = None  # None: no word started (an empty '' starts one)

    def run(self) -> list[list[str]]:
        src = self.src
        while self.i < len(src):
            ch = src[self.i]
            if ch in " \t":
                self._end_word()
                self.i += 1
            elif ch == "'":
                self._single_quoted()
            elif ch == '"':
                self._double_quoted()
            elif ch == "\\":
                self._backslash()
            elif ch == "|":
                self._pipe()
            else:
                self._unquoted(ch)
        self._end_word()
        self._check_stage(final=True)
        return self.stages

    # -- words ---------------------------------------------------------------------------------

    def _append(self, text: str) -> None:
        if self.word is None:
            self.word = []
        self.word.append(text)

    def _end_word(self) -> None:
        if self.word is not None:
            self.stages[-1].append("".join(self.word))
            self.word = None

    def _single_quoted(self) -> None:
        end = self.src.find("'", self.i + 1)
        if end < 0:
            raise _blocked("an unterminated single quote", "close the quote")
        self._append(self.src[self.i + 1 : end])
        self.i = end + 1

    def _double_quoted(self) -> None:
        src, j = self.src, self.i + 1
        self._append("")
        while j < len(src):
            ch = src[j]
            if ch == '"':
                self.i = j + 1
                return
            if ch == "\\" and j + 1 < len(src) and src[j + 1] in _DQ_ESCAPABLE:
                if src[j + 1] == "\n":
                    raise _blocked("a line continuation", "write the command on one line")
                self._append(src[j + 1])
                j += 2
                continue
            if ch == "`":
                raise _blocked(
                    "a backtick command substitution",
                    "run the inner command on its own first and use its output",
                )
            # Inside double quotes "$'" and '$"' are literal; only real expansions start here.
            if (
                ch == "$"
                and j + 1 < len(src)
                and src[j + 1] not in "'\""
                and _starts_expansion(src[j + 1])
            ):
                raise self._dollar_error(j)
            self._append(ch)
            j += 1
        raise _blocked("an unterminated double quote", "close the quote")

    def _backslash(self) -> None:
        if self.i + 1 >= len(self.src):
            raise _blocked("a trailing backslash", "remove it or quote the argument")
        nxt = self.src[self.i + 1]
        if nxt == "\n":
            raise _blocked("a line continuation", "write the command on one line")
        self._append(nxt)
        self.i += 2

    # -- syntax --------------------------------------------------------------------------------

    def _pipe(self) -> None:
        nxt = self.src[self.i + 1 : self.i + 2]
        if nxt == "|":
            raise _blocked(
                "'||' (run on failure)",
                "run one command per call and decide on the next from its exit code",
            )
        if nxt == "&":
            raise _blocked("'|&'", "stderr is captured separately; use a plain '|'")
        self._end_word()
        self._check_stage(final=False)
        self.stages.append([])
        self.i += 1

    def _check_stage(self, *, final: bool) -> None:
        if self.stages[-1]:
            return
        if len(self.stages) == 1 and final:
            raise CommandBlockedError("command is empty; give a program and its arguments")
        where = "after the last '|'" if final else "before a '|'"
        raise _blocked(f"an empty pipeline stage {where}", "give a command on both sides of '|'")

    def _unquoted(self, ch: str) -> None:
        src, i = self.src, self.i
        two = src[i : i + 2]
        if ch in "\n\r":
            raise _blocked(
                "a newline outside quotes (a second command)", "run one command per call"
            )
        if ch == "&":
            if two == "&&":
                raise _blocked(
                    "'&&' (a command list)",
                    "run one command per call and check its exit code before the next",
                )
            if two == "&>":
                raise _blocked("the redirection '&>'", _REDIRECT_HINT["&>"])
            raise _blocked("'&' (running in the background)", "run the command in the foreground")
        if ch == ";":
            raise _blocked("';' (a second command)", "run one command per call")
        if ch in "<>":
            raise self._redirect_error()
        if ch in "()":
            if ch == "(" and i > 0 and src[i - 1] in "<>":
                raise _blocked("process substitution", "write the data to a file first")
            raise _blocked(
                f"'{ch}' (a subshell or grouping)",
                "run the command without parentheses, quoting any '(' that is data",
            )
        if ch == "`":
            raise _blocked(
                "a backtick command substitution",
                "run the inner command on its own first and use its output",
            )
        if ch == "$":
            nxt = src[i + 1 : i + 2]
            if nxt and nxt not in " \t|":
                raise self._dollar_error(i)
        elif ch in "*?[":
            raise _blocked(
                f"the unquoted glob character '{ch}' (this tool does not expand globs)",
                "quote the argument if it is data (e.g. '*.py'), or use file_search to list files",
            )
        elif ch == "{":
            self._check_brace(i)
        elif ch == "~" and self.word is None:
            raise _blocked(
                "an unquoted '~' (home-directory expansion)",
                "use a path relative to the workspace",
            )
        elif ch == "#" and self.word is None:
            raise _blocked(
                "an unquoted '#' (a shell comment)",
                "remove the comment, or quote '#' if it is data",
            )
        elif not ch.isascii():
            self._check_lookalike(ch)
        self._append(ch)
        self.i += 1

    def _check_brace(self, i: int) -> None:
        src, end = self.src, i + 1
        while end < len(src) and src[end] not in " \t'\"}|":
            end += 1
        if end < len(src) and src[end] == "}":
            inner = src[i + 1 : end]
            if "," in inner or ".." in inner:
                raise _blocked(
                    f"the brace expansion '{{{inner}}}'",
                    "write each argument out, or quote it if the braces are data",
                )

    def _check_lookalike(self, ch: str) -> None:
        folded = unicodedata.normalize("NFKC", ch)
        if ch.isspace():
            raise _blocked(
                f"the non-ASCII space {_describe(ch)}", "use an ordinary space between arguments"
            )
        if folded in _SHELL_META:
            raise _blocked(
                f"{_describe(ch)}, which looks like '{folded}'",
                f"type an ASCII '{folded}' (quoted if it is data) or quote the character",
            )

    def _redirect_error(self) -> CommandBlockedError:
        src, i = self.src, self.i
        op = src[i]
        for candidate in ("<<<", "<<", ">>", ">&", "<>", ">|", "<(", ">("):
            if src.startswith(candidate, i):
                op = candidate
                break
        if op in ("<(", ">("):
            return _blocked("process substitution", "write the data to a file first")
        return _blocked(f"the redirection '{op}'", _REDIRECT_HINT.get(op, _REDIRECT_HINT[">"]))

    def _dollar_error(self, i: int) -> CommandBlockedError:
        rest = self.src[i + 1 : i + 3]
        if rest.startswith("(("):
            what = "arithmetic expansion '$((...))'"
        elif rest.startswith("("):
            what = "command substitution '$(...)'"
        elif rest.startswith("{"):
            what = "parameter expansion '${...}'"
        elif rest[:1] in ("'", '"'):
            what = "'$' quoting ($'...')"
        else:
            name = re.match(r"[A-Za-z_][A-Za-z0-9_]*|.", self.src[i + 1 :])
            what = f"variable expansion '${name.group(0) if name else ''}'"
        return _blocked(
            what,
            "this tool does not expand variables or run substitutions: write the value "
            "literally, or quote it with single quotes if the '$' is data",
        )


def _starts_expansion(ch: str) -> bool:
    return ch in _EXPANSION_START or ch.isalpha()


def tokenize(command: str) -> list[list[str]]:
    """Split ``command`` into pipeline stages of argv lists, POSIX quoting, no expansion.

    Raises:
        CommandBlockedError: the command uses shell syntax other than '|' between stages,
            unbalanced quotes, control characters or look-alike characters.
    """
    _check_characters(command)
    return _Lexer(command).run()
