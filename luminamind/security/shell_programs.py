"""Argument rules for allowlisted programs that have escape hatches.

Allowlisting ``git`` or ``find`` is not enough: ``git -c core.pager=sh``, ``find -exec`` or
``sed 1e`` turn them into a shell. Each rule here knows one program's dangerous options and
marks which arguments are data (a grep pattern, a commit message) rather than paths; the policy
then confines every other argument to the workspace. Rules refuse what they do not understand.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

from luminamind.errors import CommandBlockedError
from luminamind.security.shell_scripts import scan_awk, scan_sed

__all__ = [
    "DANGEROUS_LONG_OPTIONS",
    "LAUNCHERS",
    "NO_FILE_PROGRAMS",
    "SHELLS",
    "TEXT_RULES",
    "WRAPPERS",
    "Opt",
    "Pos",
    "Stage",
    "canonical_long_options",
    "check_program",
    "mark_value",
    "options_of",
    "positionals_of",
    "rule_name",
    "walk",
    "words",
]


def words(text: str) -> frozenset[str]:
    """A set of names written as one whitespace-separated string (easier to read and diff)."""
    return frozenset(text.split())


SHELLS = words(
    """sh bash zsh dash ksh mksh pdksh ash yash fish csh tcsh rbash elvish nu xonsh pwsh
        powershell cmd cmd.exe busybox toybox"""
)
# Programs whose job is to start another program the policy would not see.
LAUNCHERS = words(
    """sudo doas su runuser pkexec eval exec command builtin nohup setsid
        chrt taskset unbuffer time watch flock strace ltrace gdb lldb valgrind chroot
        unshare nsenter firejail script expect ssh rsh socat nc ncat netcat osascript xdg-open
        open at batch crontab systemd-run parallel entr"""
)
# Programs that run the command after their own options, unchanged: the policy checks that
# command in full (``timeout 5 bash`` is refused as ``bash`` is). Their options taking a value,
# and how many positionals come before the command (timeout's duration).
WRAPPERS: dict[str, tuple[frozenset[str], int]] = {
    "timeout": (frozenset({"-s", "-k", "--signal", "--kill-after"}), 1),
    "nice": (frozenset({"-n", "--adjustment"}), 0),
    "ionice": (frozenset({"-c", "-n", "-p", "-P", "-u", "--class", "--classdata"}), 0),
    "stdbuf": (frozenset({"-i", "-o", "-e", "--input", "--output", "--error"}), 0),
}
# Long options that make a program run code, name files from its input or change the system.
# GNU getopt_long, git's parse-options, npm's nopt and argparse accept any unambiguous prefix
# (``make --eva``, ``git --upload-pac``, ``date --se``), so every argument that is a prefix of
# one of these is read as it before the rules look (see `canonical_long_options`).
DANGEROUS_LONG_OPTIONS: dict[str, tuple[str, ...]] = {
    "make": ("--eval", "--file", "--makefile"),
    "git": (
        "--upload-pack",
        "--receive-pack",
        "--exec",
        "--exec-path",
        "--config-env",
        "--config",
        "--open-files-in-pager",
        "--unsafe-paths",
        "--git-dir",
        "--work-tree",
        "--namespace",
    ),
    "date": ("--set",),
    "sort": ("--compress-program", "--files0-from", "--output"),
    "rg": ("--pre", "--hostname-bin", "--pre-glob"),
    "npx": ("--call", "--shell", "--package", "--yes"),
    "npm": ("--call", "--shell", "--package", "--yes", "--global", "--location"),
    "xargs": ("--interactive", "--open-tty", "--arg-file"),
    "node": ("--eval", "--print", "--interactive", "--require", "--import", "--loader"),
    "cargo": ("--config",),
    "du": ("--files0-from", "--exclude-from"),
    "wc": ("--files0-from",),
    "grep": ("--file", "--exclude-from"),
    "tee": ("--output-error",),
    "env": ("--split-string", "--chdir"),
}
# The shortest prefix read as a dangerous option: ``--e`` alone is too short to mean --eval
# to anyone reading the command, but getopt takes it, so one letter is enough.
_MIN_PREFIX = 1


def canonical_long_options(name: str, args: list[str]) -> list[str]:
    """``args`` with each unambiguous-or-not prefix of a dangerous long option spelled out.

    A prefix that is also a prefix of a harmless option would be ambiguous to getopt, which
    then refuses to run: reading it as the dangerous option refuses nothing that could run.
    """
    dangerous = DANGEROUS_LONG_OPTIONS.get(name)
    if not dangerous:
        return args
    out: list[str] = []
    for arg in args:
        option, eq, value = arg.partition("=")
        if option.startswith("--") and len(option) - 2 >= _MIN_PREFIX and option not in dangerous:
            full = next((d for d in dangerous if d.startswith(option)), None)
            if full is not None:
                arg = full + eq + value
        out.append(arg)
    return out


# Programs that never open a file named by an argument: all their arguments are data.
NO_FILE_PROGRAMS = words("echo printf basename dirname which true false sleep uname pwd seq yes")
# Programs xargs may run: no argument appended from stdin can make them run code or write.
XARGS_SAFE = words(
    "echo cat head tail wc ls stat file du basename dirname realpath md5sum sha256sum grep"
)
# Interpreters a user might allowlist, and their inline-code options.
INLINE_CODE = {
    "perl": ("-e", "-E"),
    "ruby": ("-e",),
    "php": ("-r",),
    "lua": ("-e",),
    "luajit": ("-e",),
    "Rscript": ("-e",),
    "bun": ("-e", "--eval", "-p", "--print"),
    "deno": ("eval",),
    "tclsh": (),
}


# Options naming a file that holds code (or config that loads code): never stdin.
CODE_FILE_OPTIONS: dict[str, tuple[str, ...]] = {
    "sed": ("-f", "--file"),
    "awk": ("-f", "--file", "-i", "--include"),
    "make": ("-f", "--file", "--makefile"),
    "mypy": ("--config-file",),
    "pytest": ("-c", "--config-file"),
    "ruff": ("--config",),
}


@dataclass(slots=True)
class Stage:
    """One pipeline stage being checked: what the rules learn about its arguments."""

    program: str
    name: str  # the rule's name for the program ("python" for python3.12)
    args: list[str]
    has_stdin: bool
    allow_package_install: bool
    check_subcommand: Callable[[list[str]], None]
    python_modules: frozenset[str] = frozenset()  # beyond the built-in ``python -m`` list
    data: set[int] = field(default_factory=set)
    writes: set[int] = field(default_factory=set)
    named_reads: list[str] = field(default_factory=list)
    named_writes: list[str] = field(default_factory=list)
    base: int = 0  # where ``args`` starts in the original stage (for tail views)

    def mark_data(self, *indices: int) -> None:
        """Arguments at ``indices`` are data (patterns, messages): not checked as paths."""
        self.data.update(self.base + i for i in indices)

    def mark_write(self, *indices: int) -> None:
        """Arguments at ``indices`` are files the program writes."""
        self.writes.update(self.base + i for i in indices)

    def tail(self, start: int) -> Stage:
        """A view of the arguments from ``start`` on, sharing this stage's findings."""
        return replace(self, args=self.args[start:], base=self.base + start)

    def refuse(self, what: str, instead: str) -> CommandBlockedError:
        return CommandBlockedError(f"refused {self.program} {what}: {instead}. Nothing was run.")

    def needs_install_permission(self, what: str) -> None:
        if not self.allow_package_install:
            raise self.refuse(
                what,
                "installing packages runs code from the network and is off by default; "
                "ask the user to install it, or to set shell.allow_package_install = true",
            )


def rule_name(basename: str) -> str:
    """The rule that applies to a program: python3.12 is python, egrep is grep."""
    if re.fullmatch(r"python[0-9.]*", basename):
        return "python"
    if re.fullmatch(r"pip[0-9.]*", basename):
        return "pip"
    aliases = {"egrep": "grep", "fgrep": "grep", "gawk": "awk", "mawk": "awk", "nawk": "awk"}
    aliases |= {"gsed": "sed", "nodejs": "node"}
    return aliases.get(basename, basename)


@dataclass(frozen=True, slots=True)
class Opt:
    index: int
    name: str  # "-e" or "--regexp"
    value: str | None = None
    value_index: int | None = None  # where the value is (the option's own index if attached)


@dataclass(frozen=True, slots=True)
class Pos:
    index: int
    text: str


def walk(
    args: list[str],
    *,
    takes_value: Iterable[str] = (),
    optional_attached: Iterable[str] = (),
    stop_at_positional: bool = False,
) -> list[Opt | Pos]:
    """Classify arguments as options (with their values) or positionals, getopt-style."""
    valued, optional = frozenset(takes_value), frozenset(optional_attached)
    out: list[Opt | Pos] = []
    i, only_positional = 0, False
    while i < len(args):
        arg = args[i]
        if only_positional or arg == "-" or not arg.startswith("-"):
            out.append(Pos(i, arg))
            only_positional = only_positional or stop_at_positional
        elif arg == "--":
            only_positional = True
        elif arg.startswith("--"):
            name, eq, value = arg.partition("=")
            if eq:
                out.append(Opt(i, name, value, i))
            elif name in valued and i + 1 < len(args):
                out.append(Opt(i, name, args[i + 1], i + 1))
                i += 1
            else:
                out.append(Opt(i, name))
        else:
            for k in range(1, len(arg)):
                flag = "-" + arg[k]
                rest = arg[k + 1 :]
                if flag in optional:
                    out.append(Opt(i, flag, rest or None, i if rest else None))
                    break
                if flag in valued:
                    if rest:
                        out.append(Opt(i, flag, rest, i))
                    elif i + 1 < len(args):
                        out.append(Opt(i, flag, args[i + 1], i + 1))
                        i += 1
                    else:
                        out.append(Opt(i, flag))
                    break
                out.append(Opt(i, flag))
        i += 1
    return out


def positionals_of(items: list[Opt | Pos]) -> list[Pos]:
    return [x for x in items if isinstance(x, Pos)]


def options_of(items: list[Opt | Pos]) -> list[Opt]:
    return [x for x in items if isinstance(x, Opt)]


def mark_value(stage: Stage, opt: Opt) -> None:
    if opt.value_index is not None:
        stage.mark_data(opt.value_index)


# -- search and text tools -----------------------------------------------------------------------

_GREP_VALUED = words(
    """-e -f -m -A -B -C -d -D --regexp --file --max-count --after-context --before-context
    --context --directories --devices --include --exclude --exclude-dir --exclude-from --label
    --binary-files --group-separator"""
)
_RG_VALUED = words(
    """-e -f -g -t -T -m -A -B -C -M -j -r -E -d --regexp --file --glob --iglob --type --type-not
    --type-add --type-clear --max-count --after-context --before-context --context --max-columns
    --threads --replace --encoding --max-depth --ignore-file --max-filesize --path-separator
    --sort --sortr --colors --color --context-separator --field-context-separator --field-match-
    separator --engine --dfa-size-limit --regex-size-limit --pre-glob --hyperlink-format
    --generate"""
)


def _pattern_program(stage: Stage, valued: frozenset[str], pattern_opts: tuple[str, ...]) -> None:
    """grep/rg/git grep: the first positional is the pattern unless -e/-f give it."""
    items = walk(stage.args, takes_value=valued)
    given = False
    for opt in options_of(items):
        if opt.name in pattern_opts:
            mark_value(stage, opt)
            given = True
        elif opt.name in ("-f", "--file"):
            given = True
    positionals = positionals_of(items)
    if not given and positionals:
        stage.mark_data(positionals[0].index)


def _grep(stage: Stage) -> None:
    _pattern_program(stage, _GREP_VALUED, ("-e", "--regexp"))


def _rg(stage: Stage) -> None:
    for opt in options_of(walk(stage.args, takes_value=_RG_VALUED)):
        if opt.name in ("--pre", "--hostname-bin"):
            raise stage.refuse(f"with '{opt.name}' (it runs another program)", "search without it")
        if opt.name in ("-g", "--glob", "--iglob", "-r", "--replace", "--type-add"):
            mark_value(stage, opt)
    _pattern_program(stage, _RG_VALUED, ("-e", "--regexp"))


def _jq(stage: Stage) -> None:
    args = stage.args
    filter_given, i = False, 0
    while i < len(args):
        arg = args[i]
        if arg in ("--arg", "--argjson"):
            stage.mark_data(i + 1, i + 2)
            i += 3
            continue
        if arg in ("--slurpfile", "--rawfile"):
            stage.mark_data(i + 1)
            i += 3
            continue
        if arg in ("--args", "--jsonargs"):
            # The rest are positional values for $ARGS, except a leading filter.
            stage.mark_data(*range(i + 1, len(args)))
            break
        if arg in ("-f", "--from-file"):
            filter_given = True
            i += 2
            continue
        if arg in ("-L", "--indent", "--tab"):
            i += 2 if arg != "--tab" else 1
            continue
        if not arg.startswith("-") and not filter_given:
            stage.mark_data(i)
            filter_given = True
        i += 1


def _sed(stage: Stage) -> None:
    items = walk(
        stage.args,
        takes_value=("-e", "-f", "-l", "--expression", "--file", "--line-length"),
        optional_attached=("-i",),
    )
    known = words("-e -f -l -i -n -r -E -s -u -z -b") | {
        "--expression",
        "--file",
        "--line-length",
        "--in-place",
        "--quiet",
        "--silent",
        "--regexp-extended",
        "--separate",
        "--unbuffered",
        "--null-data",
        "--zero-terminated",
        "--posix",
        "--sandbox",
        "--debug",
        "--follow-symlinks",
        "--binary",
        "--help",
        "--version",
    }
    scripts: list[str] = []
    in_place = from_file = False
    for opt in options_of(items):
        if opt.name not in known:
            raise stage.refuse(f"with the unknown option '{opt.name}'", "use plain sed options")
        if opt.name in ("-e", "--expression"):
            if opt.value is None:
                raise stage.refuse("with '-e' and no script", "give the script after -e")
            scripts.append(opt.value)
            mark_value(stage, opt)
        elif opt.name in ("-f", "--file"):
            from_file = True
        elif opt.name in ("-i", "--in-place"):
            in_place = True
    positionals = positionals_of(items)
    if not scripts and not from_file:
        if not positionals:
            raise stage.refuse("without a script", "give a sed script")
        scripts.append(positionals[0].text)
        stage.mark_data(positionals[0].index)
        positionals = positionals[1:]
    for script in scripts:
        found = scan_sed(script)
        stage.named_reads += found.reads
        stage.named_writes += found.writes
    if in_place:
        stage.mark_write(*(p.index for p in positionals))


def _awk(stage: Stage) -> None:
    args = stage.args
    program_given, i = False, 0
    while i < len(args):
        arg = args[i]
        name = arg.split("=", 1)[0]
        if arg == "--":
            i += 1
            break
        if arg in ("-F", "-v", "--field-separator", "--assign"):
            stage.mark_data(i + 1)  # a separator or var=value: data
            i += 2
        elif arg.startswith(("-F", "-v")) or name in ("--field-separator", "--assign"):
            stage.mark_data(i)
            i += 1
        elif arg in ("-f", "--file"):
            program_given = True
            i += 2
        elif arg in ("-e", "--source"):
            if i + 1 >= len(args):
                raise stage.refuse(f"with '{arg}' and no program", "give the program text")
            _scan_awk_into(stage, args[i + 1])
            stage.mark_data(i + 1)
            program_given = True
            i += 2
        elif arg in ("--posix", "--traditional", "--sandbox", "--version", "--help"):
            i += 1
        elif arg.startswith("-") and arg != "-":
            raise stage.refuse(
                f"with the option '{arg}'", "use -F, -v, -f or the program text only"
            )
        else:
            break
    if not program_given:
        if i >= len(args):
            raise stage.refuse("without a program", "give the awk program")
        _scan_awk_into(stage, args[i])
        stage.mark_data(i)
        i += 1
    for k in range(i, len(args)):
        if re.match(r"[A-Za-z_][A-Za-z0-9_]*=", args[k]):
            stage.mark_data(k)  # an operand assignment, not a file


def _scan_awk_into(stage: Stage, program: str) -> None:
    found = scan_awk(program)
    stage.named_reads += found.reads
    stage.named_writes += found.writes


def _find(stage: Stage) -> None:
    actions: tuple[str, ...] = (
        "-exec",
        "-execdir",
        "-ok",
        "-okdir",
        "-delete",
        "-fprint",
        "-fprint0",
    )
    actions += ("-fprintf", "-fls")
    patterns = "-name -iname -path -ipath -wholename -iwholename -regex -iregex -lname -ilname"
    pattern_opts = set(patterns.split()) | {"-printf", "-fstype", "-user", "-group", "-perm"}
    for k, arg in enumerate(stage.args):
        if arg in actions:
            hint = (
                "list the files with find, then delete them with delete_file"
                if arg == "-delete"
                else "list the files with find, then run the next command on them yourself"
                if arg.startswith(("-exec", "-ok"))
                else "print to stdout and save it with write_file"
            )
            raise stage.refuse(f"with '{arg}'", hint)
        if arg in pattern_opts and k + 1 < len(stage.args):
            stage.mark_data(k + 1)


def _xargs(stage: Stage) -> None:
    valued = "-a -d -E -I -L -n -P -s --arg-file --delimiter --max-args --max-lines --max-procs"
    valued += " --max-chars --process-slot-var"
    items = walk(
        stage.args,
        takes_value=valued.split(),
        optional_attached=("-i", "-l", "-e"),
        stop_at_positional=True,
    )
    for opt in options_of(items):
        if opt.name in ("-p", "--interactive", "-o", "--open-tty"):
            raise stage.refuse(f"with '{opt.name}'", "the command has no terminal; drop it")
        if opt.name not in ("-a", "--arg-file"):
            mark_value(stage, opt)
    positionals = positionals_of(items)
    if not positionals:
        return  # xargs runs echo
    start = positionals[0].index
    sub = stage.args[start:]
    stage.mark_data(*range(start, len(stage.args)))
    program = rule_name(sub[0].rsplit("/", 1)[-1])
    if program not in XARGS_SAFE or "/" in sub[0]:
        raise stage.refuse(
            f"running '{sub[0]}'",
            "xargs appends arguments from its input that the policy cannot see, so it may run "
            f"only {', '.join(sorted(XARGS_SAFE))}; otherwise run the command on the listed "
            "files yourself",
        )
    stage.check_subcommand(sub)


def _env(stage: Stage) -> None:
    items = walk(stage.args, takes_value=("-u", "--unset"))
    if positionals_of(items) or any(
        o.name not in ("-0", "--null", "-u", "--unset") for o in options_of(items)
    ):
        raise stage.refuse(
            "running a program or changing the environment",
            "call the program directly; 'env' on its own prints the environment",
        )


def _tee(stage: Stage) -> None:
    stage.mark_write(*(p.index for p in positionals_of(walk(stage.args))))


def _sort(stage: Stage) -> None:
    items = walk(stage.args, takes_value=("-o", "-T", "-S", "-k", "-t", "--output"))
    for opt in options_of(items):
        if opt.name == "--compress-program":
            raise stage.refuse("with '--compress-program' (it runs a program)", "drop it")
        if opt.name == "--files0-from":
            raise stage.refuse(
                "with '--files0-from' (it reads the names of its files from a file the policy "
                "cannot see)",
                "name the files as arguments",
            )
        if opt.name in ("-o", "--output") and opt.value_index is not None:
            stage.mark_write(opt.value_index)
        elif opt.name in ("-k", "-t", "-S"):
            mark_value(stage, opt)


def _date(stage: Stage) -> None:
    for k, arg in enumerate(stage.args):
        if arg in ("-s", "--set") or arg.startswith("--set="):
            raise stage.refuse("setting the clock", "read the date only")
        if arg.startswith(("+", "-d", "--date")):
            stage.mark_data(k)
            if arg in ("-d", "--date"):
                stage.mark_data(k + 1)


def _make(stage: Stage) -> None:
    for arg in stage.args:
        name, eq, value = arg.partition("=")
        if name in ("--eval", "-E") or arg.startswith("-E"):
            raise stage.refuse("with '--eval' (it runs make code given inline)", "use a Makefile")
        if eq and not name.startswith("-") and ("$(" in value or "${" in value):
            raise stage.refuse(
                f"with the variable '{name}' holding make code ('$(...)' runs functions such "
                "as $(shell ...) when expanded)",
                "put the value in the Makefile, or give a plain value",
            )
        if "=" in arg and name in ("SHELL", ".SHELLFLAGS", "MAKEFLAGS", "MAKESHELL"):
            raise stage.refuse(
                f"overriding {name} (it changes the program recipes run under)",
                "run make without it",
            )


def _wrapper(stage: Stage) -> None:
    """timeout, nice, ionice, stdbuf: their own options, then a command checked in full."""
    valued, before = WRAPPERS[stage.name]
    items = walk(stage.args, takes_value=valued, stop_at_positional=True)
    for opt in options_of(items):
        mark_value(stage, opt)
    positionals = positionals_of(items)
    if len(positionals) <= before:
        return  # no command: the wrapper prints usage or its own state
    start = positionals[before].index
    stage.mark_data(*range(len(stage.args)))  # every argument is checked by the sub-check
    stage.check_subcommand(stage.args[start:])


def check_program(stage: Stage, rules: Mapping[str, Callable[[Stage], None]]) -> None:
    """Apply the program's rule from ``rules`` (if it has one); raise if it is refused."""
    stage.args = canonical_long_options(stage.name, stage.args)
    if stage.name in WRAPPERS:
        _wrapper(stage)
        return
    if stage.name in NO_FILE_PROGRAMS:
        stage.mark_data(*range(len(stage.args)))
        return
    if stage.name in INLINE_CODE:
        _inline_code(stage, INLINE_CODE[stage.name])
    if stage.name in CODE_FILE_OPTIONS:
        _code_file_from_stdin(stage, CODE_FILE_OPTIONS[stage.name])
    rule = rules.get(stage.name)
    if rule is not None:
        rule(stage)


def _code_file_from_stdin(stage: Stage, options: tuple[str, ...]) -> None:
    """Refuse a program (or config) file read from stdin: that is inline code by another name."""
    for k, arg in enumerate(stage.args):
        name, eq, value = arg.partition("=")
        if name in options and not eq:
            value = stage.args[k + 1] if k + 1 < len(stage.args) else ""
        elif not (name in options and eq):
            short = next((o for o in options if len(o) == 2 and arg.startswith(o)), None)
            value = arg[2:] if short else ""
        if value in ("-", "/dev/stdin"):
            raise stage.refuse(
                f"reading its program or configuration from stdin ('{arg}')",
                "write the file to the workspace with write_file and name it instead",
            )


def _inline_code(stage: Stage, flags: tuple[str, ...]) -> None:
    for arg in stage.args:
        if not arg.startswith("-") and arg not in flags:
            return  # the script: later arguments belong to it
        letters = arg[1:] if arg.startswith("-") and not arg.startswith("--") else ""
        if arg in flags or arg.split("=", 1)[0] in flags or any(f"-{c}" in flags for c in letters):
            raise stage.refuse(
                f"with inline code ('{arg}')",
                "write the code to a script in the workspace with write_file and run the script",
            )


TEXT_RULES: dict[str, Callable[[Stage], None]] = {
    "grep": _grep,
    "rg": _rg,
    "jq": _jq,
    "sed": _sed,
    "awk": _awk,
    "find": _find,
    "xargs": _xargs,
    "env": _env,
    "tee": _tee,
    "sort": _sort,
    "date": _date,
    "make": _make,
}
