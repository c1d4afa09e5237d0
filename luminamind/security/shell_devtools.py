"""Argument rules for developer tools: git, python, node, npm/npx, pip, cargo, go.

These programs exist to run code, so the rules do not try to stop a project's own scripts, tests
or Makefile from doing what they do (see docs/shell-policy.md). They stop the ways of running
code that do not go through a file in the workspace, which a reviewer can read first: inline
code (``python -c``), configuration injected on the command line (``git -c``), git aliases,
hooks named in arguments, and package installs that download and run code from the network.
"""

from __future__ import annotations

from collections.abc import Callable

from luminamind.security.shell_programs import (
    INLINE_CODE,
    LAUNCHERS,
    SHELLS,
    TEXT_RULES,
    WRAPPERS,
    Stage,
    options_of,
    positionals_of,
    rule_name,
    walk,
    words,
)

__all__ = ["DEV_RULES", "GIT_SUBCOMMANDS", "PYTHON_MODULES"]

# Built-in git commands; anything else would be an alias, and an alias can be '!shell code'.
GIT_SUBCOMMANDS = words(
    """add am annotate apply archive bisect blame branch bundle cat-file check-attr check-
        ignore check-mailmap check-ref-format checkout cherry cherry-pick clean clone commit
        commit-tree config count-objects describe diff diff-files diff-index diff-tree fetch
        for-each-ref format-patch fsck gc grep hash-object init log ls-files ls-remote ls-tree
        merge merge-base merge-file merge-tree mktree mv name-rev notes pull push range-diff
        read-tree rebase reflog remote repack replace reset restore rev-list rev-parse revert rm
        shortlog show show-branch show-ref sparse-checkout stash status stripspace submodule
        switch symbolic-ref tag update-index update-ref var verify-commit verify-pack verify-tag
        version whatchanged worktree write-tree"""
)
_GIT_FLAGS = words(
    """-p -P --paginate --no-pager --bare --no-replace-objects --literal-pathspecs --glob-
        pathspecs --noglob-pathspecs --icase-pathspecs --no-optional-locks --version --html-path
        --man-path --info-path --exec-path"""
)
_GIT_DIR_OPTIONS = ("-C", "--git-dir", "--work-tree")
_GIT_CONFIG_READS = frozenset(
    ["--get", "--get-all", "--get-regexp", "--get-urlmatch", "--list", "-l", "get", "list"]
)
_GIT_CONFIG_WRITES = words(
    """--add --unset --unset-all --replace-all --rename-section --remove-section --edit -e set
        unset edit rename-section remove-section"""
)
# Options whose value is free text (a message, a search string), not a path.
_GIT_TEXT_OPTIONS: tuple[str, ...] = (
    "-m",
    "--message",
    "--grep",
    "--author",
    "--committer",
    "-S",
    "-G",
)
_GIT_TEXT_OPTIONS += ("--format", "--pretty", "--since", "--until", "--date")


def _git(stage: Stage) -> None:
    args = stage.args
    i = 0
    while i < len(args) and args[i].startswith("-"):
        arg = args[i]
        name = arg.split("=", 1)[0]
        if arg == "-c" or name == "--config-env" or (arg.startswith("-c") and len(arg) > 2):
            raise stage.refuse(
                f"with '{name}' (command-line configuration can run programs, e.g. "
                "core.pager or core.sshCommand)",
                "run git without it; configuration belongs in the repository's config",
            )
        if name == "--exec-path" and "=" in arg:
            raise stage.refuse("with '--exec-path=' (it picks the programs git runs)", "drop it")
        if name in _GIT_DIR_OPTIONS or arg == "--namespace":
            if "=" not in arg:
                if i + 1 >= len(args):
                    raise stage.refuse(f"with '{arg}' and no value", "give a directory")
                i += 1
            i += 1
            continue  # the directory is confined to the workspace like any other argument
        if arg not in _GIT_FLAGS:
            raise stage.refuse(f"with the option '{arg}' before the command", "drop it")
        i += 1
    if i >= len(args):
        return  # 'git --version' or usage text
    sub = args[i]
    if sub not in GIT_SUBCOMMANDS:
        raise stage.refuse(
            f"'{sub}' (not a built-in git command; aliases are refused because an alias "
            "can run shell code)",
            "use the built-in command the alias stands for",
        )
    rest = args[i + 1 :]
    offset = i + 1
    _git_common(stage, sub, rest)
    items = walk(rest, takes_value=("-m", "--message", "-S", "-G", "-F", "--file"))
    for opt in options_of(items):
        if opt.name in _GIT_TEXT_OPTIONS and opt.value_index is not None:
            stage.mark_data(offset + opt.value_index)
    positionals = positionals_of(items)
    if sub == "grep" and positionals and not any(o.name == "-e" for o in options_of(items)):
        stage.mark_data(offset + positionals[0].index)


def _git_common(stage: Stage, sub: str, rest: list[str]) -> None:
    given = set(rest)
    for arg in rest:
        name = arg.split("=", 1)[0]
        if sub == "apply" and name == "--unsafe-paths":
            raise stage.refuse(
                "apply with '--unsafe-paths' (it writes outside the repository)", "drop it"
            )
        if name in ("--upload-pack", "--receive-pack", "--exec") or (
            sub in ("clone", "ls-remote", "archive") and arg == "-u"
        ):
            raise stage.refuse(f"{sub} with '{name}' (it names a program to run)", "drop it")
        if arg.startswith(("ext::", "fd::")):
            raise stage.refuse(
                f"{sub} with the '{arg.split('::')[0]}::' transport (it runs a command)",
                "use an https or ssh URL",
            )
        if sub == "clone" and name in ("-c", "--config"):
            raise stage.refuse("clone with '--config'", "clone, then inspect the config")
        if sub == "grep" and (name in ("-O", "--open-files-in-pager") or arg.startswith("-O")):
            raise stage.refuse("grep with '--open-files-in-pager' (it runs a program)", "drop it")
        if sub == "rebase" and (name in ("-x", "--exec") or arg.startswith("-x")):
            raise stage.refuse("rebase with '--exec' (it runs shell commands)", "drop it")
    if sub == "submodule" and "foreach" in given:
        raise stage.refuse("submodule foreach (it runs shell commands)", "run git per submodule")
    if sub == "bisect" and rest[:1] == ["run"]:
        raise stage.refuse(
            "bisect run (it runs a command at each step)", "step with 'git bisect good/bad'"
        )
    if sub == "config" and (not given & _GIT_CONFIG_READS or given & _GIT_CONFIG_WRITES):
        raise stage.refuse(
            "config other than reading (configuration can make git run programs)",
            "read with 'git config --get NAME' or 'git config --list'; ask the user to change it",
        )


def _python(stage: Stage) -> None:
    args = stage.args
    i, runs_something, info_only, interactive = 0, False, False, False
    while i < len(args):
        arg = args[i]
        if arg == "--":
            i += 1
            runs_something = i < len(args)
            if args[i : i + 1] in (["-"], ["/dev/stdin"]):
                raise stage.refuse("reading its program from stdin", "run a script file")
            break
        if arg in ("-", "/dev/stdin"):
            raise stage.refuse(
                "reading its program from stdin", "write a script to the workspace and run it"
            )
        if arg.startswith("--"):
            if arg in ("--version", "--help", "--help-all", "--help-env", "--help-xoptions"):
                info_only = True
            elif arg.split("=", 1)[0] != "--check-hash-based-pycs":
                raise stage.refuse(f"with the option '{arg}'", "drop it")
            i += 1 if "=" in arg or arg != "--check-hash-based-pycs" else 2
            continue
        if not arg.startswith("-"):
            runs_something = True  # the script; later arguments are its own
            break
        skip, module = _python_flags(stage, args, i)
        if module is not None:
            _python_module(stage, module)
            if module == "pip":
                pip_args = args[i + skip :]
                _pip(_sub_stage(stage, pip_args))
            return
        info_only = info_only or any(c in "Vh" for c in arg[1:])
        interactive = interactive or "i" in arg[1:]
        i += skip
    if stage.has_stdin and (interactive or not (runs_something or info_only)):
        raise stage.refuse(
            "with code on stdin", "write a script to the workspace with write_file and run it"
        )


# Modules ``python -m`` may run: tools that run the project's own files (as ``python script.py``
# does) or only read them. Not the ones that take code as an argument or on stdin (timeit -s,
# pdb -c, code, cProfile -c...), extract archives (tarfile, zipfile), serve (http.server) or
# install (ensurepip). shell.extra_python_modules adds more.
PYTHON_MODULES = words(
    """pytest unittest doctest pip mypy ruff black isort flake8 pyflakes pylint coverage
    build venv json.tool py_compile compileall tokenize tabnanny ast dis pydoc_data
    platform sysconfig site calendar"""
)


def _python_module(stage: Stage, module: str) -> None:
    if module in PYTHON_MODULES or module in stage.python_modules:
        return
    raise stage.refuse(
        f"-m {module} (only these modules may run: {', '.join(sorted(PYTHON_MODULES))}; "
        "others can run code given inline, extract archives or serve)",
        "run a script in the workspace, or ask the user to add the module to "
        "shell.extra_python_modules",
    )


def _python_flags(stage: Stage, args: list[str], i: int) -> tuple[int, str | None]:
    """Read one short-option cluster; return (arguments consumed, module for -m or None)."""
    arg = args[i]
    for k, letter in enumerate(arg[1:], start=1):
        rest = arg[k + 1 :]
        if letter == "c":
            raise stage.refuse(
                "with inline code ('-c')",
                "write the code to a script in the workspace with write_file, then run "
                "'python3 script.py' (or 'python3 -m module')",
            )
        if letter in "mWX":
            if not rest and i + 1 >= len(args):
                raise stage.refuse(f"with '-{letter}' and no value", "give the value")
            value = rest or args[i + 1]
            return (1 if rest else 2), (value if letter == "m" else None)
        if letter not in "bBdEhiIOPqRsSuvVx3?":
            raise stage.refuse(f"with the option '-{letter}'", "drop it")
    return 1, None


def _sub_stage(stage: Stage, args: list[str]) -> Stage:
    """A view of ``stage`` whose arguments start later (``python -m pip ...``, ``npm exec``)."""
    return stage.tail(len(stage.args) - len(args))


_PIP_INSTALLS = frozenset({"install", "uninstall", "download", "wheel"})


def _pip(stage: Stage) -> None:
    positionals = positionals_of(
        walk(
            stage.args,
            takes_value=words(
                """--log --proxy --retries --timeout --exists-action --trusted-host --cert
                --client-cert --cache-dir --python"""
            ),
            stop_at_positional=True,
        )
    )
    sub = positionals[0].text if positionals else None
    if sub in _PIP_INSTALLS:
        stage.needs_install_permission(f"{sub}")
    if sub == "config" and len(positionals) > 1 and positionals[1].text in ("set", "unset", "edit"):
        raise stage.refuse("config changes", "ask the user to change pip's configuration")


_NPM_INSTALLS = words(
    """install i in ins inst insta instal isnt isnta isntal isntall add ci clean-install ic
        install-clean install-test it install-ci-test cit update up upgrade udpate uninstall un
        unlink remove rm r link ln dedupe ddp rebuild rb prune"""
)
_NPM_ALLOWED = words(
    """run run-script rum urn test t tst start stop restart ls list ll la outdated view v info
        show why explain pack audit doctor help version prefix root bin get search fund query
        sbom pkg init config c exec x"""
)


def _npm(stage: Stage) -> None:
    args = stage.args
    for k, arg in enumerate(args):
        if arg in ("-g", "--global", "--location=global") or (
            arg == "--location" and args[k + 1 : k + 2] == ["global"]
        ):
            raise stage.refuse("with a global install location", "install into the project only")
    positionals = positionals_of(walk(args))
    sub = positionals[0].text if positionals else None
    if sub is None:
        return
    if sub in _NPM_INSTALLS or (sub == "audit" and "fix" in args):
        stage.needs_install_permission(sub)
    elif sub not in _NPM_ALLOWED:
        raise stage.refuse(
            f"'{sub}' (publishing, logins and unknown commands are refused)",
            "ask the user to run it",
        )
    elif sub in ("exec", "x"):
        _npx(_sub_stage(stage, args[positionals[0].index + 1 :]))
    elif sub in ("config", "c") and any(w in args for w in ("set", "delete", "edit", "fix")):
        raise stage.refuse("config changes", "ask the user to change npm's configuration")
    elif sub == "init" and len(positionals) > 1:
        stage.needs_install_permission("init with an initializer (it downloads and runs it)")


def _npx(stage: Stage) -> None:
    no_install = False
    command: list[str] = []
    for k, arg in enumerate(stage.args):
        name = arg.split("=", 1)[0]
        if name in ("-c", "--call", "--shell"):
            raise stage.refuse(f"with '{name}' (it runs a shell command)", "run it directly")
        if name in ("-p", "--package", "-y", "--yes"):
            stage.needs_install_permission(f"with '{name}' (it downloads and runs a package)")
            no_install = True
        if arg in ("--no", "--no-install", "--offline"):
            no_install = True
        if arg == "--":
            command = stage.args[k + 1 :]
            break
        if not arg.startswith("-"):
            command = stage.args[k:]
            break
    if not (no_install or stage.allow_package_install):
        raise stage.refuse(
            "without '--no' (without a terminal, npx downloads and runs missing packages)",
            "run 'npx --no NAME' to use only packages the project has installed",
        )
    if command:
        _check_run_command(stage, command)


def _check_run_command(stage: Stage, command: list[str]) -> None:
    """The program npx / npm exec runs: a known program is checked in full, like a stage.

    A package binary the policy does not know (tsc, eslint) runs the project's own code, as
    ``npm test`` does; shells, launchers and interpreters get their usual checks, so
    ``npx --no -- bash -c ...`` or ``npm exec -- node -e ...`` are refused.
    """
    base = rule_name(command[0].rsplit("/", 1)[-1])
    known = base in DEV_RULES or base in TEXT_RULES or base in WRAPPERS
    if known or base in SHELLS or base in LAUNCHERS or base in INLINE_CODE:
        stage.check_subcommand(command)


def _node(stage: Stage) -> None:
    valued = ("-r", "--require", "--import", "--loader", "--experimental-loader", "-C")
    runs_script = False
    i = 0
    while i < len(stage.args):
        arg = stage.args[i]
        name = arg.split("=", 1)[0]
        value = stage.args[i + 1] if arg in valued and i + 1 < len(stage.args) else ""
        if "data:" in arg or value.startswith("data:"):
            raise stage.refuse(
                f"with a data: URL ('{arg[:40]}'), which is inline code",
                "write the code to a script in the workspace and run the script",
            )
        if arg == "/dev/stdin":
            raise stage.refuse("reading code from stdin", "write a script and run it")
        if not arg.startswith("-"):
            runs_script = True
            break
        if name in ("-e", "--eval", "-p", "--print", "-i", "--interactive") or (
            not arg.startswith("--") and any(c in "epi" for c in arg[1:])
        ):
            raise stage.refuse(
                f"with inline code ('{arg}')",
                "write the code to a script in the workspace with write_file and run the script",
            )
        if arg == "-":
            raise stage.refuse("reading code from stdin", "write a script and run it")
        i += 2 if arg in valued else 1
    if stage.has_stdin and not runs_script and "--version" not in stage.args:
        raise stage.refuse("with code on stdin", "write a script to the workspace and run it")


def _cargo(stage: Stage) -> None:
    for arg in stage.args:
        if arg.split("=", 1)[0] == "--config":
            raise stage.refuse(
                "with '--config' (it can set programs cargo runs)", "use the project's config"
            )
    positionals = positionals_of(walk(stage.args, stop_at_positional=True))
    sub = positionals[0].text if positionals and not positionals[0].text.startswith("+") else None
    if sub in ("install", "uninstall"):
        stage.needs_install_permission(sub)
    if sub in ("publish", "login", "logout", "owner", "yank"):
        raise stage.refuse(f"'{sub}'", "ask the user to run it")


def _go(stage: Stage) -> None:
    for arg in stage.args:
        name = arg.lstrip("-").split("=", 1)[0]
        if arg.startswith("-") and name in ("toolexec", "exec"):
            raise stage.refuse(f"with '-{name}' (it names a program to run)", "drop it")
    positionals = positionals_of(walk(stage.args))
    sub = positionals[0].text if positionals else None
    if sub in ("install", "get") or (sub == "run" and any("@" in p.text for p in positionals[1:])):
        stage.needs_install_permission(f"{sub} of a remote module")
    if sub == "env" and any(a in ("-w", "-u") for a in stage.args):
        raise stage.refuse("env -w/-u (it changes the user's Go settings)", "ask the user")


DEV_RULES: dict[str, Callable[[Stage], None]] = {
    "git": _git,
    "python": _python,
    "pip": _pip,
    "npm": _npm,
    "npx": _npx,
    "node": _node,
    "cargo": _cargo,
    "go": _go,
}
