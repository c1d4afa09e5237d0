"""The shell tool's command policy: decide what may run, before anything runs.

`ShellPolicy.check` takes the command line a model (or a user) wrote and returns the argv of each
pipeline stage, or raises `CommandBlockedError` saying what was refused and what to do instead.
It is pure: the only outside knowledge it uses is the `PathResolver` the caller passes in, which
confines path-like arguments to the workspace (the shell tool passes one built on
`Workspace.resolve`). The rules, in order:

1. Lexing (``shell_lexer``): POSIX quoting, no shell syntax but '|' between stages.
2. The program: never a shell or a program launcher; named by basename and on the allowlist
   (a path only when allowlisted by that exact path); not on the blocklist, which wins.
3. Its arguments (``shell_programs``, ``shell_devtools``): per-program escape hatches refused
   (``find -exec``, ``git -c``, ``sed 1e``, ``python -c``...), data arguments marked.
4. Every other argument that could name a file is resolved against the workspace.

See docs/shell-policy.md for the reasoning and the risks that remain.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from luminamind.config import ShellSettings
from luminamind.errors import CommandBlockedError, SecurityError
from luminamind.security.shell_devtools import DEV_RULES
from luminamind.security.shell_lexer import tokenize
from luminamind.security.shell_programs import (
    LAUNCHERS,
    SHELLS,
    TEXT_RULES,
    Stage,
    check_program,
    rule_name,
)
from luminamind.security.shell_scripts import STREAM_FILES

__all__ = ["CheckedCommand", "PathResolver", "ShellPolicy"]

# Confines one argument: (text as the program will see it, will it be written). Raises
# SecurityError (PathEscapeError, ReadOnlyPathError) when the path leaves the workspace.
PathResolver = Callable[[str, bool], object]

_RULES = {**TEXT_RULES, **DEV_RULES}
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=(.*)", re.DOTALL)
_MAX_NAME_BYTES = 255  # longer than any file name can be, so not a file


@dataclass(frozen=True, slots=True)
class CheckedCommand:
    """A command the policy accepted: one argv per pipeline stage."""

    stages: tuple[tuple[str, ...], ...]

    @property
    def programs(self) -> tuple[str, ...]:
        """The program of each stage, as written."""
        return tuple(argv[0] for argv in self.stages)


@dataclass(frozen=True, slots=True)
class ShellPolicy:
    """Which commands the shell tool may run.

    Attributes:
        allowed_programs: program basenames (or exact paths) that may run.
        blocked_programs: never run, even when allowlisted (basename or exact path).
        allow_pipelines: accept ``a | b`` (each stage checked on its own).
        allow_package_install: accept ``pip install``, ``npm install``, ``npx`` downloads...
        max_stages: most stages in one pipeline.
    """

    allowed_programs: frozenset[str]
    blocked_programs: frozenset[str] = frozenset()
    allow_pipelines: bool = True
    allow_package_install: bool = False
    max_stages: int = 8
    extra_python_modules: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, shell: ShellSettings) -> ShellPolicy:
        """The policy the ``[shell]`` settings describe."""
        return cls(
            allowed_programs=frozenset(shell.allowed_programs) | set(shell.extra_allowed_programs),
            blocked_programs=frozenset(shell.blocked_programs),
            allow_pipelines=shell.allow_pipelines,
            allow_package_install=shell.allow_package_install,
            extra_python_modules=frozenset(shell.extra_python_modules),
        )

    def check(
        self, command: str, *, resolve_path: PathResolver, has_stdin: bool = False
    ) -> CheckedCommand:
        """Accept ``command`` and return its stages, or raise `CommandBlockedError`.

        Args:
            command: the command line as written (POSIX quoting).
            resolve_path: confines path arguments; raises `SecurityError` outside.
            has_stdin: the caller will feed text to the first stage's stdin.
        """
        stages = tokenize(command)
        if len(stages) > 1 and not self.allow_pipelines:
            raise CommandBlockedError(
                "refused a pipeline: pipelines are turned off (shell.allow_pipelines); "
                "run each command on its own. Nothing was run."
            )
        if len(stages) > self.max_stages:
            raise CommandBlockedError(
                f"refused a pipeline of {len(stages)} stages (limit {self.max_stages}): "
                "split the work into several calls. Nothing was run."
            )
        for k, argv in enumerate(stages):
            # A later stage's stdin is the previous stage's output: text it did not write.
            self.check_argv(argv, resolve_path=resolve_path, has_stdin=has_stdin or k > 0)
        return CheckedCommand(tuple(tuple(argv) for argv in stages))

    def check_argv(
        self, argv: list[str], *, resolve_path: PathResolver, has_stdin: bool = False
    ) -> None:
        """Check one already-split command (a pipeline stage, or the command xargs runs)."""
        program = argv[0]
        self._check_program(program, resolve_path)
        stage = Stage(
            program=program,
            name=rule_name(program.rsplit("/", 1)[-1]),
            args=list(argv[1:]),
            has_stdin=has_stdin,
            allow_package_install=self.allow_package_install,
            python_modules=self.extra_python_modules,
            check_subcommand=lambda sub: self.check_argv(
                sub, resolve_path=resolve_path, has_stdin=True
            ),
        )
        check_program(stage, _RULES)
        for index, arg in enumerate(stage.args):
            if index not in stage.data:
                for candidate in _path_candidates(arg):
                    _confine(program, arg, candidate, resolve_path, write=index in stage.writes)
        for name, write in [(n, False) for n in stage.named_reads] + [
            (n, True) for n in stage.named_writes
        ]:
            _confine(program, name, name, resolve_path, write=write)

    def _check_program(self, program: str, resolve_path: PathResolver) -> None:
        base = program.rsplit("/", 1)[-1]
        if not base:
            raise CommandBlockedError("refused an empty program name. Nothing was run.")
        if _ASSIGNMENT.fullmatch(program):
            raise CommandBlockedError(
                f"refused the environment assignment '{program.split('=', 1)[0]}=...' before "
                "the command: the environment is fixed by LuminaMind; pass the value as an "
                "argument. Nothing was run."
            )
        if program in self.blocked_programs or base in self.blocked_programs:
            raise CommandBlockedError(
                f"refused '{program}': it is in shell.blocked_programs. Nothing was run."
            )
        if base in SHELLS:
            raise CommandBlockedError(
                f"refused '{program}': the shell tool never starts a shell. Run the program "
                "directly (pipes with '|' work); to run a script, use its interpreter "
                "(python3 script.py) or make. Nothing was run."
            )
        if base in LAUNCHERS:
            raise CommandBlockedError(
                f"refused '{program}': it runs another program the policy cannot check. "
                "Run the program directly. Nothing was run."
            )
        if "/" in program:
            if program not in self.allowed_programs:
                raise CommandBlockedError(
                    f"refused '{program}': programs are run by name, not by path (a path could "
                    "name a file written a moment ago). Use the program's name, or ask the "
                    "user to add this exact path to shell.extra_allowed_programs. "
                    "Nothing was run."
                )
            if not program.startswith("/"):
                _confine(program, program, program, resolve_path, write=False)
            return
        if base not in self.allowed_programs:
            raise CommandBlockedError(
                f"refused '{program}': it is not an allowed program. Allowed: "
                f"{', '.join(sorted(p for p in self.allowed_programs if '/' not in p))}. "
                "Use one of these or another tool, or ask the user to add it to "
                "shell.extra_allowed_programs. Nothing was run."
            )


def _path_candidates(arg: str) -> Iterable[str]:
    """The parts of an argument that a program might open as a file."""
    if arg.startswith("--"):
        _name, eq, value = arg.partition("=")
        return [value] if eq and value else []
    if arg.startswith("-") and arg != "-":
        # An attached value such as -o/etc/x, -f../x or -rf/etc/x (flags first): every
        # suffix that starts like a path. Plain flags such as -rn have none.
        return [arg[k:] for k in range(2, len(arg)) if arg[k] in "./" and arg[k - 1] not in "./"]
    match = _ASSIGNMENT.fullmatch(arg)
    if match:  # make VAR=value, awk var=value: the value may be a path
        return [match.group(1)] if match.group(1) else []
    if arg.startswith("file://"):
        return [arg.removeprefix("file://")]
    return [arg]


def _confine(
    program: str, arg: str, candidate: str, resolve_path: PathResolver, *, write: bool
) -> None:
    if candidate in STREAM_FILES or candidate == "/dev/null":
        return
    if "/" not in candidate and len(candidate.encode("utf-8", "surrogatepass")) > _MAX_NAME_BYTES:
        return  # too long to be a file name: data
    try:
        resolve_path(candidate, write)
    except SecurityError as exc:
        raise CommandBlockedError(
            f"refused the argument '{_shorten(arg)}' of {program}: {exc.message}. Nothing was run."
        ) from exc


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
