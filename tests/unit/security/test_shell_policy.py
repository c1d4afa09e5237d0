"""The shell policy, as a table: what is accepted (with the argv it runs) and what is refused.

Every refusal is checked for its reason, so a command refused for the wrong reason (a typo
in a rule) fails here. `tests/unit/tools/test_shell.py` runs the refused ones for real and
checks that nothing ran.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from luminamind.config import ShellSettings
from luminamind.errors import CommandBlockedError
from luminamind.security import ShellPolicy, Workspace, WorkspaceRoot
from luminamind.security.shell_lexer import MAX_COMMAND_LENGTH, tokenize
from luminamind.security.shell_scripts import scan_awk, scan_sed


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    root = tmp_path / "ws"
    (root / "src").mkdir(parents=True)
    (root / "f.txt").write_text("a|b\n")
    (tmp_path / "outside.txt").write_text("secret\n")
    (root / "link-out").symlink_to(tmp_path / "outside.txt")
    (root / "dir-out").symlink_to(tmp_path)
    ro = tmp_path / "ro"
    ro.mkdir()
    return Workspace(root, extra_roots=[WorkspaceRoot(ro, "ro")])


def _resolver(workspace: Workspace, cwd: Path | None = None) -> object:
    base = cwd or workspace.root

    def resolve(arg: str, write: bool) -> Path:
        path = Path(arg)
        return workspace.resolve(path if path.is_absolute() else base / path, write=write)

    return resolve


def _check(
    command: str,
    workspace: Workspace,
    *,
    policy: ShellPolicy | None = None,
    has_stdin: bool = False,
) -> list[list[str]]:
    policy = policy or ShellPolicy.from_settings(ShellSettings())
    checked = policy.check(command, resolve_path=_resolver(workspace), has_stdin=has_stdin)  # type: ignore[arg-type]
    return [list(argv) for argv in checked.stages]


ALLOWED: list[tuple[str, list[list[str]]]] = [
    ("ls -la", [["ls", "-la"]]),
    ("grep 'a|b' f.txt", [["grep", "a|b", "f.txt"]]),
    ('grep "a|b" f.txt', [["grep", "a|b", "f.txt"]]),
    ("grep a\\|b f.txt", [["grep", "a|b", "f.txt"]]),
    ("grep 'x; rm -rf /' f.txt", [["grep", "x; rm -rf /", "f.txt"]]),
    ("grep '$(id)' f.txt", [["grep", "$(id)", "f.txt"]]),
    ("grep '`id`' f.txt", [["grep", "`id`", "f.txt"]]),
    ("grep '>' f.txt", [["grep", ">", "f.txt"]]),
    ("grep 'a && b' f.txt", [["grep", "a && b", "f.txt"]]),
    ("echo 'line1\nline2'", [["echo", "line1\nline2"]]),
    ('echo "cost: 5$"', [["echo", "cost: 5$"]]),
    ("echo 'a\\b'", [["echo", "a\\b"]]),
    ('echo "say \\"hi\\""', [["echo", 'say "hi"']]),
    ("echo ''", [["echo", ""]]),
    ("echo a#b", [["echo", "a#b"]]),
    ("echo '#x'", [["echo", "#x"]]),
    ("echo '{a,b}'", [["echo", "{a,b}"]]),
    ("echo '～'", [["echo", "～"]]),
    ("echo 'ｌ；ｓ'", [["echo", "ｌ；ｓ"]]),
    ("echo é ünïcode", [["echo", "é", "ünïcode"]]),
    ("echo /etc/passwd", [["echo", "/etc/passwd"]]),
    ("echo x~", [["echo", "x~"]]),
    ("find . -name '*.py' -type f", [["find", ".", "-name", "*.py", "-type", "f"]]),
    ("find src -newer f.txt", [["find", "src", "-newer", "f.txt"]]),
    ("cat f.txt | grep a | wc -l", [["cat", "f.txt"], ["grep", "a"], ["wc", "-l"]]),
    ("cat f.txt|wc", [["cat", "f.txt"], ["wc"]]),
    ("git log --oneline -n 5", [["git", "log", "--oneline", "-n", "5"]]),
    ("git log HEAD~1..HEAD", [["git", "log", "HEAD~1..HEAD"]]),
    ("git -C src status", [["git", "-C", "src", "status"]]),
    ("git --no-pager diff", [["git", "--no-pager", "diff"]]),
    ("git commit -m '/api: fix'", [["git", "commit", "-m", "/api: fix"]]),
    ("git grep -n /api/", [["git", "grep", "-n", "/api/"]]),
    ("git config --get user.name", [["git", "config", "--get", "user.name"]]),
    ("git --version", [["git", "--version"]]),
    ("git show HEAD@{1}", [["git", "show", "HEAD@{1}"]]),
    ("sed -n '1,5p' f.txt", [["sed", "-n", "1,5p", "f.txt"]]),
    ("sed -i 's/a/b/g' f.txt", [["sed", "-i", "s/a/b/g", "f.txt"]]),
    (
        "sed -E -e 's|/x|/y|' -e '/^#/d' f.txt",
        [["sed", "-E", "-e", "s|/x|/y|", "-e", "/^#/d", "f.txt"]],
    ),
    ("sed 's/[/]/x/' f.txt", [["sed", "s/[/]/x/", "f.txt"]]),
    ("sed '/start/,/end/{s/a/b/;p}' f.txt", [["sed", "/start/,/end/{s/a/b/;p}", "f.txt"]]),
    ("sed 'w out.txt' f.txt", [["sed", "w out.txt", "f.txt"]]),
    ("sed '1i header' f.txt", [["sed", "1i header", "f.txt"]]),
    ("awk '{print $1}' f.txt", [["awk", "{print $1}", "f.txt"]]),
    (
        "awk -F: '/a|b/ {n++} END {print n}' f.txt",
        [["awk", "-F:", "/a|b/ {n++} END {print n}", "f.txt"]],
    ),
    ("awk '/a[/]|b/ {print}' f.txt", [["awk", "/a[/]|b/ {print}", "f.txt"]]),
    ("awk '$1 > 3 || $2 < 1' f.txt", [["awk", "$1 > 3 || $2 < 1", "f.txt"]]),
    ("awk '{print > \"out.txt\"}' f.txt", [["awk", '{print > "out.txt"}', "f.txt"]]),
    ("awk '{x = $1 / 2; print x}' f.txt", [["awk", "{x = $1 / 2; print x}", "f.txt"]]),
    ("awk -v n=/etc '{print n}' f.txt", [["awk", "-v", "n=/etc", "{print n}", "f.txt"]]),
    ("rg -n 'fn main' src", [["rg", "-n", "fn main", "src"]]),
    ("rg -e /api/ -g '*.py' src", [["rg", "-e", "/api/", "-g", "*.py", "src"]]),
    ("grep -rn /api/ src", [["grep", "-rn", "/api/", "src"]]),
    ("jq '.a' f.txt", [["jq", ".a", "f.txt"]]),
    ("python3 script.py --flag", [["python3", "script.py", "--flag"]]),
    ("python3 -m pytest -q", [["python3", "-m", "pytest", "-q"]]),
    ("python -V", [["python", "-V"]]),
    ("python3 -u -W ignore script.py", [["python3", "-u", "-W", "ignore", "script.py"]]),
    ("node app.js", [["node", "app.js"]]),
    ("npm test", [["npm", "test"]]),
    ("npm run build", [["npm", "run", "build"]]),
    ("npx --no tsc", [["npx", "--no", "tsc"]]),
    ("pip list", [["pip", "list"]]),
    ("pip show pydantic", [["pip", "show", "pydantic"]]),
    ("make -C src test", [["make", "-C", "src", "test"]]),
    ("make test VERBOSE=1", [["make", "test", "VERBOSE=1"]]),
    ("cargo test", [["cargo", "test"]]),
    ("go test ./...", [["go", "test", "./..."]]),
    ("xargs grep -l x", [["xargs", "grep", "-l", "x"]]),
    (
        "find . -name '*.txt' | xargs wc -l",
        [["find", ".", "-name", "*.txt"], ["xargs", "wc", "-l"]],
    ),
    ("env", [["env"]]),
    ("tee out.txt", [["tee", "out.txt"]]),
    ("sort -o sorted.txt f.txt", [["sort", "-o", "sorted.txt", "f.txt"]]),
    ("date +%Y-%m-%d", [["date", "+%Y-%m-%d"]]),
    ("cat src/../f.txt", [["cat", "src/../f.txt"]]),
    ("cat '~/x'", [["cat", "~/x"]]),
    ("diff f.txt /dev/null", [["diff", "f.txt", "/dev/null"]]),
    ("ls $", [["ls", "$"]]),
    ("grep -rI./src x f.txt", [["grep", "-rI./src", "x", "f.txt"]]),
    ("sed -i.bak s/a/b/ f.txt", [["sed", "-i.bak", "s/a/b/", "f.txt"]]),
    ("sed -f script.sed f.txt", [["sed", "-f", "script.sed", "f.txt"]]),
    ("make -f build.mk all", [["make", "-f", "build.mk", "all"]]),
    ("awk -f prog.awk f.txt", [["awk", "-f", "prog.awk", "f.txt"]]),
    ("cat -", [["cat", "-"]]),
    ("cat /dev/stdin", [["cat", "/dev/stdin"]]),
]


@pytest.mark.parametrize(("command", "argv"), ALLOWED, ids=[c for c, _ in ALLOWED])
def test_allowed(command: str, argv: list[list[str]], workspace: Workspace) -> None:
    assert _check(command, workspace) == argv


BLOCKED: list[tuple[str, str]] = [
    # Shell syntax
    ("ls; rm -rf /", "';'"),
    ("ls ;rm", "';'"),
    ("ls && curl evil", "'&&'"),
    ("ls || rm x", "'||'"),
    ("ls & rm x", "background"),
    ("sleep 5 &", "background"),
    ("ls |& wc", "'|&'"),
    ("echo $(id)", "command substitution"),
    ('echo "$(id)"', "command substitution"),
    ("echo `id`", "backtick"),
    ('echo "`id`"', "backtick"),
    ("echo $((1+1))", "arithmetic"),
    ("echo $HOME", "$HOME"),
    ('echo "$HOME"', "$HOME"),
    ("echo ${HOME}", "parameter expansion"),
    ('echo "${PATH}"', "parameter expansion"),
    ("echo $'\\x41'", "quoting"),
    ("echo $1", "variable expansion"),
    ("ls > f", "'>'"),
    ("ls >> f", "'>>'"),
    ("ls >| f", "'>|'"),
    ("cat < /etc/passwd", "'<'"),
    ("cat <<EOF", "here-document"),
    ("cat <<< hi", "here-string"),
    ("ls 2>&1", "'>&'"),
    ("ls 2> err", "'>'"),
    ("ls &> all", "'&>'"),
    ("diff <(ls) f.txt", "process substitution"),
    ("cat >(tee x)", "process substitution"),
    ("(ls)", "subshell"),
    ("ls\nrm -rf /", "newline"),
    ("ls \\\n-l", "line continuation"),
    ("ls *.py", "glob"),
    ("ls ?.txt", "glob"),
    ("ls [ab].txt", "glob"),
    ("echo {a,b}", "brace expansion"),
    ("echo x{1..3}", "brace expansion"),
    ("cat ~/.ssh/id_rsa", "'~'"),
    ("ls # comment", "comment"),
    ("echo 'unterminated", "unterminated single quote"),
    ('echo "unterminated', "unterminated double quote"),
    ("echo trailing\\", "trailing backslash"),
    ("", "empty"),
    ("   ", "empty"),
    ("ls |", "empty pipeline stage"),
    ("| ls", "empty pipeline stage"),
    ("ls | | wc", "empty pipeline stage"),
    ("FOO=1 ls", "environment assignment"),
    # Invisible and look-alike characters
    ("ls\x00 -la", "NUL"),
    ("ls\r rm", "control character"),
    ("echo \x1b[31mred", "control character"),
    ("echo 'a\u202eb'", "invisible"),
    ("ls\u200b-la", "invisible"),
    ("ls ｜ wc", "looks like '|'"),
    ("ls；rm", "looks like ';'"),
    ("ls ＞ f", "looks like '>'"),
    ("echo ＄HOME", "looks like '$'"),
    ("ls\u00a0-la", "non-ASCII space"),
    ("ｌｓ", "not an allowed program"),
    # Programs
    ("/bin/sh -c id", "never starts a shell"),
    ("sh -c id", "never starts a shell"),
    ("bash -c 'id'", "never starts a shell"),
    ("zsh", "never starts a shell"),
    ("busybox sh", "never starts a shell"),
    ("sudo ls", "runs another program"),
    ("timeout 5 sh", "not an allowed program"),
    ("nohup ls", "runs another program"),
    ("./evil", "not by path"),
    ("/usr/bin/ls", "not by path"),
    ("../bin/ls", "not by path"),
    ("curl http://example.com", "not an allowed program"),
    ("rm -rf /", "not an allowed program"),
    ("perl -e 'system(1)'", "not an allowed program"),
    ("env sh", "running a program"),
    ("env -i ls", "running a program"),
    ("env FOO=1 ls", "running a program"),
    ("xargs sh", "xargs running 'sh'"),
    ("xargs rm", "xargs running 'rm'"),
    ("xargs -I{} sed {} f.txt", "xargs running 'sed'"),
    ("xargs -0 git fetch", "xargs running 'git'"),
    ("xargs /bin/cat", "xargs running '/bin/cat'"),
    ("ls | xargs -p echo", "'-p'"),
    # find
    ("find . -exec rm {} \\;", "'-exec'"),
    ("find . -execdir id \\;", "'-execdir'"),
    ("find . -ok rm {} +", "'-ok'"),
    ("find . -okdir rm {} +", "'-okdir'"),
    ("find . -delete", "'-delete'"),
    ("find . -fprintf out %p", "'-fprintf'"),
    ("find . -fprint out", "'-fprint'"),
    ("find . -fls out", "'-fls'"),
    ("find / -name passwd", "outside the workspace"),
    # git
    ("git -c core.pager=sh log", "'-c'"),
    ("git -c alias.x=!sh x", "'-c'"),
    ("git -ccore.fsmonitor=id status", "'-c"),
    ("git --config-env=core.pager=EVIL log", "--config-env"),
    ("git --config-env core.pager=EVIL log", "--config-env"),
    ("git --exec-path=/tmp/evil status", "--exec-path="),
    ("git -C /tmp status", "outside the workspace"),
    ("git -C .. status", "outside the workspace"),
    ("git --git-dir=/tmp/x log", "outside the workspace"),
    ("git --work-tree ../.. status", "outside the workspace"),
    ("git st", "aliases are refused"),
    ("git lg --all", "aliases are refused"),
    ("git --frobnicate log", "option '--frobnicate'"),
    ("git config alias.x '!sh'", "config other than reading"),
    ("git config core.pager sh", "config other than reading"),
    ("git config --get x --unset", "config other than reading"),
    ("git fetch --upload-pack='touch x' .", "--upload-pack"),
    ("git clone -u 'touch x' . y", "'-u'"),
    ("git clone ext::sh\\ -c\\ id y", "ext::"),
    ("git clone -c core.fsmonitor=id . y", "--config"),
    ("git push --receive-pack=id origin", "--receive-pack"),
    ("git archive --exec=id --remote=x HEAD", "--exec"),
    ("git grep -O x", "open-files-in-pager"),
    ("git grep --open-files-in-pager=vi x", "open-files-in-pager"),
    ("git rebase --exec 'id' HEAD~2", "--exec"),
    ("git rebase -x id HEAD~2", "--exec"),
    ("git submodule foreach id", "foreach"),
    ("git bisect run id", "bisect run"),
    ("git difftool", "aliases are refused"),
    ("git clone file:///etc/x y", "outside the workspace"),
    ("git log -- /etc/passwd", "outside the workspace"),
    # sed
    ("sed -n '1e id' f.txt", "'e' command"),
    ("sed '1 e id' f.txt", "'e' command"),
    ("sed -e '$!e id' f.txt", "'e' command"),
    ("sed 's/a/id/e' f.txt", "'s///e'"),
    ("sed 's/a/id/ge' f.txt", "'s///e'"),
    ("sed -e p -e 'e id' f.txt", "'e' command"),
    ("sed 's/[\\]/x/e;#]/y/' f.txt", "'s///e'"),
    ("sed '/x/{e id\n}' f.txt", "'e' command"),
    ("sed 'w /tmp/out' f.txt", "outside the workspace"),
    ("sed 's/a/b/w /tmp/out' f.txt", "outside the workspace"),
    ("sed 'r /etc/passwd' f.txt", "outside the workspace"),
    ("sed -i 's/a/b/' /etc/hosts", "outside the workspace"),
    ("sed -i 's/a/b/' ../outside.txt", "outside the workspace"),
    ("sed 's/a/b' f.txt", "could not be verified"),
    ("sed 'k' f.txt", "could not be verified"),
    ("sed --unknown p f.txt", "unknown option"),
    ("sed", "without a script"),
    # awk
    ("awk 'BEGIN{system(\"id\")}'", "system()"),
    ("awk 'BEGIN { system (\"id\") }'", "system()"),
    ("awk '{print | \"sh\"}' f.txt", "pipe"),
    ("awk 'BEGIN{\"id\" | getline x; print x}'", "pipe"),
    ('awk \'BEGIN{print "id" |& "sh"}\'', "pipe"),
    ("awk '{print > \"/tmp/out\"}' f.txt", "outside the workspace"),
    ("awk '{print >> \"../out\"}' f.txt", "outside the workspace"),
    ("awk '{print > $1}' f.txt", "computed file name"),
    ("awk 'BEGIN{while ((getline l < \"/etc/passwd\") > 0) print l}'", "outside the workspace"),
    ("awk 'BEGIN{getline l < ARGV[1]}'", "computed file name"),
    ("awk '@load \"x\"'", "'@' directive"),
    ("awk -l ext '{}'", "option '-l'"),
    ('awk \'{print "a" > "/etc/x"}\' f.txt', "outside the workspace"),
    ("awk 'BEGIN { x = 4 /2| \"sh\"; y = 1/ 1 }'", "pipe"),
    ("awk '{ print $1 /2| \"sh\" }' f.txt", "pipe"),
    # interpreters and package managers
    ("python3 -c 'import os'", "inline code"),
    ("python -Ic 'import os'", "inline code"),
    ("python3 -", "stdin"),
    ("python3 -m pip install evil", "install"),
    ("python3 /dev/stdin", "stdin"),
    ("python3 -- -", "stdin"),
    ("python3 -u /dev/stdin", "stdin"),
    ("node /dev/stdin", "stdin"),
    ("node -", "stdin"),
    ("sed -f /dev/stdin f.txt", "from stdin"),
    ("sed -f- f.txt", "from stdin"),
    ("sed --file=- f.txt", "from stdin"),
    ("awk -f /dev/stdin f.txt", "from stdin"),
    ("make -f - all", "from stdin"),
    ("make --file=/dev/stdin", "from stdin"),
    ("mypy --config-file /dev/stdin .", "from stdin"),
    ("pytest -c - tests", "from stdin"),
    ("python3 /dev/fd/0", "outside the workspace"),
    ("node -e 'require(1)'", "inline code"),
    ("node --eval=1", "inline code"),
    ("node -p 1", "inline code"),
    ("node -pe 1", "inline code"),
    ("npm install left-pad", "installing packages"),
    ("npm i", "installing packages"),
    ("npm ci", "installing packages"),
    ("npm audit fix", "installing packages"),
    ("npm publish", "publishing"),
    ("npm login", "publishing"),
    ("npm -g ls", "global"),
    ("npm config set registry x", "config changes"),
    ("npm exec cowsay", "without '--no'"),
    ("npm init react-app x", "installing packages"),
    ("npx cowsay", "without '--no'"),
    ("npx -y cowsay", "installing packages"),
    ("npx -c 'id'", "shell command"),
    ("npx --package=evil x", "installing packages"),
    ("pip install requests", "installing packages"),
    ("pip uninstall -y pydantic", "installing packages"),
    ("pip download x", "installing packages"),
    ("pip config set global.index-url x", "config changes"),
    ("cargo install ripgrep", "installing packages"),
    ("cargo --config 'target.x.runner=\"sh\"' run", "--config"),
    ("cargo publish", "'publish'"),
    ("go install example.com/x@latest", "installing packages"),
    ("go run example.com/x@latest", "installing packages"),
    ("go build -toolexec=id ./...", "-toolexec"),
    ("go test -exec id ./...", "-exec"),
    ("go env -w GOFLAGS=x", "env -w"),
    ("make --eval='x:;id' x", "--eval"),
    ("make SHELL=/tmp/evil", "SHELL"),
    ("make -C /tmp", "outside the workspace"),
    # other programs
    ("rg --pre id x", "--pre"),
    ("rg --pre=id x", "--pre"),
    ("rg --hostname-bin=id x", "--hostname-bin"),
    ("sort --compress-program=sh f.txt", "--compress-program"),
    ("date -s 2020-01-01", "setting the clock"),
    ("tee /tmp/x", "outside the workspace"),
    ("tee ../x", "outside the workspace"),
    # paths
    ("cat /etc/passwd", "outside the workspace"),
    ("cat ../outside.txt", "outside the workspace"),
    ("cat src/../../outside.txt", "outside the workspace"),
    ("cat link-out", "outside the workspace"),
    ("cat dir-out/outside.txt", "outside the workspace"),
    ("ls /", "outside the workspace"),
    ("grep -f /etc/passwd x f.txt", "outside the workspace"),
    ("grep x --file=/etc/passwd", "outside the workspace"),
    ("sort -o/tmp/x f.txt", "outside the workspace"),
    ("grep -rf/etc/passwd f.txt", "outside the workspace"),
    ("grep -rf../outside.txt f.txt", "outside the workspace"),
    ("node --import=data:text/javascript,1 app.js", "data: URL"),
    ("node --import data:text/javascript,1 app.js", "data: URL"),
    ("head -n 1 /etc/shadow", "outside the workspace"),
    ("du -sh ..", "outside the workspace"),
    ("xargs -a /etc/passwd echo", "outside the workspace"),
    ("jq . /etc/x.json", "outside the workspace"),
    ("python3 /tmp/evil.py", "outside the workspace"),
    ("python3 ../evil.py", "outside the workspace"),
]


@pytest.mark.parametrize(("command", "reason"), BLOCKED, ids=[repr(c) for c, _ in BLOCKED])
def test_blocked(command: str, reason: str, workspace: Workspace) -> None:
    with pytest.raises(CommandBlockedError) as info:
        _check(command, workspace)
    assert reason in info.value.message
    assert info.value.message.endswith("Nothing was run.") or "empty" in info.value.message


def test_stdin_makes_interpreters_refuse_code_on_stdin(workspace: Workspace) -> None:
    with pytest.raises(CommandBlockedError, match="code on stdin"):
        _check("python3", workspace, has_stdin=True)
    with pytest.raises(CommandBlockedError, match="code on stdin"):
        _check("node", workspace, has_stdin=True)
    # A later stage reads the previous stage's output: the same refusal.
    with pytest.raises(CommandBlockedError, match="code on stdin"):
        _check("cat f.txt | python3", workspace)
    assert _check("python3 script.py", workspace, has_stdin=True) == [["python3", "script.py"]]
    assert _check("python3 --version", workspace, has_stdin=True) == [["python3", "--version"]]


def test_read_only_root_refuses_writes_only(workspace: Workspace) -> None:
    ro = workspace.roots[1].path
    assert _check(f"cat {ro}/x", workspace) == [["cat", f"{ro}/x"]]
    with pytest.raises(CommandBlockedError, match="read-only"):
        _check(f"tee {ro}/x", workspace)
    with pytest.raises(CommandBlockedError, match="read-only"):
        _check(f"sed -i s/a/b/ {ro}/x", workspace)
    with pytest.raises(CommandBlockedError, match="read-only"):
        _check(f"sed 'w {ro}/x' f.txt", workspace)


def test_settings_shape_the_policy(workspace: Workspace) -> None:
    blocked = ShellPolicy.from_settings(ShellSettings(blocked_programs=["git"]))
    with pytest.raises(CommandBlockedError, match="blocked_programs"):
        _check("git status", workspace, policy=blocked)
    extra = ShellPolicy.from_settings(ShellSettings(extra_allowed_programs=["./run.sh", "perl"]))
    assert _check("./run.sh --fast", workspace, policy=extra) == [["./run.sh", "--fast"]]
    with pytest.raises(CommandBlockedError, match="inline code"):
        _check("perl -e 'system(1)'", workspace, policy=extra)
    assert _check("perl script.pl -e", workspace, policy=extra) == [["perl", "script.pl", "-e"]]
    # The blocklist wins over the allowlist, and shells stay refused even when allowlisted.
    both = ShellPolicy.from_settings(
        ShellSettings(extra_allowed_programs=["bash", "tool"], blocked_programs=["tool"])
    )
    with pytest.raises(CommandBlockedError, match="blocked_programs"):
        _check("tool", workspace, policy=both)
    with pytest.raises(CommandBlockedError, match="never starts a shell"):
        _check("bash", workspace, policy=both)
    no_pipes = ShellPolicy.from_settings(ShellSettings(allow_pipelines=False))
    with pytest.raises(CommandBlockedError, match="pipelines are turned off"):
        _check("ls | wc", workspace, policy=no_pipes)
    installs = ShellPolicy.from_settings(ShellSettings(allow_package_install=True))
    assert _check("pip install -e .", workspace, policy=installs) == [["pip", "install", "-e", "."]]
    assert _check("npx cowsay", workspace, policy=installs) == [["npx", "cowsay"]]
    with pytest.raises(CommandBlockedError, match="global"):
        _check("npm install -g x", workspace, policy=installs)


def test_limits(workspace: Workspace) -> None:
    with pytest.raises(CommandBlockedError, match="stages"):
        _check(" | ".join(["cat f.txt"] * 9), workspace)
    with pytest.raises(CommandBlockedError, match="characters long"):
        _check("echo " + "a" * MAX_COMMAND_LENGTH, workspace)
    # A data argument too long to be a file name is not mistaken for one.
    assert _check("grep " + "a" * 300 + " f.txt", workspace)[0][1] == "a" * 300


def test_relative_arguments_resolve_from_cwd(workspace: Workspace) -> None:
    policy = ShellPolicy.from_settings(ShellSettings())
    src = workspace.root / "src"
    policy.check("cat ../f.txt", resolve_path=_resolver(workspace, src))  # type: ignore[arg-type]
    with pytest.raises(CommandBlockedError, match="outside the workspace"):
        policy.check("cat ../../f.txt", resolve_path=_resolver(workspace, src))  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.text(
            alphabet=st.characters(
                blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp", "Co", "Cn"),
                whitelist_characters="\t\n",
            ),
            max_size=20,
        ),
        min_size=1,
        max_size=6,
    )
)
def test_quoted_arguments_round_trip_as_data(argv: list[str]) -> None:
    """Whatever the text, single-quoting it (shlex.quote) makes it one literal argument."""
    assert tokenize(shlex.join(["echo", *argv])) == [["echo", *argv]]


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet="abc -'\"\\|;&<>()$`*?[]{}~#\n", min_size=1, max_size=30),
)
def test_lexer_refuses_or_splits_like_a_shell(command: str) -> None:
    """Any mix of metacharacters either is refused or gives what POSIX shlex gives."""
    try:
        stages = tokenize(command)
    except CommandBlockedError:
        return
    # Accepted: the only unquoted syntax was '|', so shlex over each stage agrees.
    if len(stages) == 1:
        assert stages[0] == shlex.split(command, posix=True)


def test_sed_scanner_reports_files() -> None:
    found = scan_sed("1r in.txt\n/x/w out.txt\ns/a/b/w other.txt\nR more.txt\nW last.txt")
    assert found.reads == ["in.txt", "more.txt"]
    assert found.writes == ["out.txt", "other.txt", "last.txt"]
    assert scan_sed("w /dev/stdout").writes == []
    assert scan_sed("y/abc/xyz/;s,a\\,b,c,g;l 5;q 1").writes == []


def test_awk_scanner_reports_files() -> None:
    found = scan_awk(
        '{ print $1 > "a.txt"; printf "%s", $2 >> "b.txt" } '
        'END { while ((getline l < "c.txt") > 0) n++ }'
    )
    assert found.writes == ["a.txt", "b.txt"]
    assert found.reads == ["c.txt"]
    assert scan_awk('{ print > "/dev/stderr" }').writes == []
    assert scan_awk("{ if ($1 > 2) print ($1 > 3) }").writes == []


# The families an adversarial run found, each closed by a mechanism rather than a rule per
# example: GNU-style unique prefixes of long options, the command after a wrapper or '--',
# the python -m allowlist, make code in variables, programs naming files from their input.
FAMILIES: list[tuple[str, str]] = [
    ("make --eva='$(shell touch x)'", "--eval"),
    ("make --ev=x", "--eval"),
    ("make 'CFLAGS=$(shell id)'", "make code"),
    ("make 'X=${shell id}' all", "make code"),
    ("git ls-remote --upload-pac='touch x' .", "--upload-pack"),
    ("git fetch --upload-p=x origin", "--upload-pack"),
    ("git push --receive-pa=x origin", "--receive-pack"),
    ("git --exec-pa=/tmp log", "--exec-path"),
    ("git grep --open-files-in-p=vi x", "open-files-in-pager"),
    ("git apply --unsafe-paths p.diff", "unsafe-paths"),
    ("git apply --unsafe-pat p.diff", "unsafe-paths"),
    ("date --se=@1", "setting the clock"),
    ("date --s=@1", "setting the clock"),
    ("sort --compress-prog=sh f.txt", "--compress-program"),
    ("sort --compress=sh f.txt", "--compress-program"),
    ("sort --files0-from=list f.txt", "--files0-from"),
    ("sort --files0=list", "--files0-from"),
    ("rg --pr=sh x", "--pre"),
    ("python3 -m timeit -s 'import os'", "-m timeit"),
    ("python3 -m pdb -c continue x.py", "-m pdb"),
    ("python3 -m code", "-m code"),
    ("python3 -m tarfile -e evil.tar", "-m tarfile"),
    ("python3 -m zipfile -e evil.zip .", "-m zipfile"),
    ("python3 -m http.server", "-m http.server"),
    ("python3 -mcProfile -c 'x'", "-m cProfile"),
    ("npx --no -- bash -c 'touch x'", "never starts a shell"),
    ("npx --no bash -c 'touch x'", "never starts a shell"),
    ("npx --no -- node -e 'x'", "inline code"),
    ("npx --no -- python3 -c 'x'", "inline code"),
    ("npx --no -- env X=1", "environment"),
    ("npm exec --no -- node -e 'x'", "inline code"),
    ("npm exec --no -- sh", "never starts a shell"),
    ("npx --no --cal='touch x'", "shell command"),
    ("npx --pack=evil --no tsc", "install"),
    ("awk 'BEGIN{ARGV[1]=\"/etc/passwd\"; ARGC=2} {print}' f.txt", "ARGV"),
    ("awk '{ARGC=1} 1' f.txt", "ARGC"),
    ("xargs --arg=/etc/passwd echo", "outside the workspace"),
    ("du --files0-from=/etc/x", "outside the workspace"),
]


@pytest.mark.parametrize(("command", "reason"), FAMILIES, ids=[c for c, _ in FAMILIES])
def test_attack_families(command: str, reason: str, workspace: Workspace) -> None:
    with pytest.raises(CommandBlockedError) as info:
        _check(command, workspace)
    assert reason in info.value.message


def test_wrappers_check_the_command_they_run(workspace: Workspace) -> None:
    policy = ShellPolicy.from_settings(
        ShellSettings(extra_allowed_programs=["timeout", "nice", "stdbuf"])
    )
    assert _check("timeout 5 ls", workspace, policy=policy) == [["timeout", "5", "ls"]]
    assert _check("nice -n 5 git status", workspace, policy=policy)
    for command, reason in [
        ("timeout 5 sh", "never starts a shell"),
        ("timeout -s KILL 5 python3 -c x", "inline code"),
        ("nice -n 5 -- bash", "never starts a shell"),
        ("stdbuf -o0 make --eva=x", "--eval"),
        ("timeout 5 cat /etc/passwd", "outside the workspace"),
        ("nice timeout 5 sudo ls", "runs another program"),
    ]:
        with pytest.raises(CommandBlockedError) as info:
            _check(command, workspace, policy=policy)
        assert reason in info.value.message, command


def test_python_module_allowlist_and_its_extension(workspace: Workspace) -> None:
    assert _check("python3 -m pytest -q", workspace)
    assert _check("python3 -m json.tool f.json", workspace)
    policy = ShellPolicy.from_settings(ShellSettings(extra_python_modules=["mypkg.cli"]))
    assert _check("python3 -m mypkg.cli", workspace, policy=policy)
    with pytest.raises(CommandBlockedError, match="extra_python_modules"):
        _check("python3 -m mypkg.cli", workspace)


def test_project_binaries_run_through_npx(workspace: Workspace) -> None:
    assert _check("npx --no tsc --noEmit", workspace) == [["npx", "--no", "tsc", "--noEmit"]]
    assert _check("npx --no -- eslint .", workspace)
