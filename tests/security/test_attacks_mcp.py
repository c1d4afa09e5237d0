"""The adversarial suite: attacks on the tools through a real MCP server, every approval granted.

The server is ``luminamind mcp`` over stdio, driven by the official MCP client; with
``server.unattended_approval = "approve"`` and a client that cannot be asked, every call that
needs approval runs, so only the policy and the confinement (path checks, the OS sandbox) can
refuse. Each attack then asserts what matters, whichever layer held: nothing outside the
workspace was created, changed or deleted (a snapshot of the outside directory, the server's
home and their parent before and after), and no secret from outside (a canary in a file and in
the server's environment) reached the reply. Grown from the families an adversarial run found
(see docs/security.md); add a case here for every new one.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tarfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import mcp_types as types
import pytest

from luminamind.security.sandbox import sandbox_status

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration" / "mcp"))
from tests.support.mcp_clients import stdio_session

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sandbox_status().available, reason="no Landlock on this machine"),
]

CANARY = "CANARY-" + uuid.uuid4().hex


@dataclass
class Attack:
    """One attack: files to plant, then one tool call (``{OUT}`` is the outside directory)."""

    id: str
    tool: str
    arguments: dict[str, object]
    setup: Callable[[Path, Path], None] = field(default=lambda ws, out: None)
    refused: bool = False  # the policy must refuse it outright (an error result)
    after_seconds: float = 0.0  # wait this long before the snapshot (late writers)


def _files(**files: str) -> Callable[[Path, Path], None]:
    def plant(ws: Path, out: Path) -> None:
        for name, text in files.items():
            target = ws / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text.replace("{OUT}", str(out)))

    return plant


def _symlink_out(ws: Path, out: Path) -> None:
    (ws / "link").symlink_to(out, target_is_directory=True)
    (ws / "other").mkdir()


def _hardlink_out(ws: Path, out: Path) -> None:
    os.link(out / "secret.txt", ws / "hard.txt")


def _fifo(ws: Path, out: Path) -> None:
    del out
    os.mkfifo(ws / "pipe")


def _evil_tar(ws: Path, out: Path) -> None:
    member = ws / "payload.txt"
    member.write_text("pwned")
    with tarfile.open(ws / "evil.tar", "w") as archive:
        archive.add(member, arcname=os.path.relpath(out / "pwned", ws))


def _git_fsmonitor(ws: Path, out: Path) -> None:
    subprocess.run(["git", "init", "-q", str(ws)], check=True)
    with (ws / ".git" / "config").open("a") as config:
        config.write(f"[core]\n\tfsmonitor = touch {out}/pwned\n")


def _git_repo(ws: Path, out: Path) -> None:
    del out
    subprocess.run(["git", "init", "-q", str(ws)], check=True)


DOUBLE_FORK = """
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(1.5)
        open("{OUT}/pwned", "w").write("late")
    os._exit(0)
print("parent done")
"""

READ_AND_WRITE = """
import os
for target in ("{OUT}/secret.txt", os.path.expanduser("~") + "/.profile"):
    try:
        print(open(target).read())
    except OSError as exc:
        print("denied", exc.errno)
for target in ("{OUT}/pwned", "{OUT}/../pwned"):
    try:
        open(target, "w").write("x")
    except OSError as exc:
        print("denied", exc.errno)
for entry in os.listdir("/proc"):
    if entry.isdigit():
        try:
            data = open(f"/proc/{entry}/environ", "rb").read()
        except OSError:
            continue
        if b"CANARY" in data:
            print(data.decode(errors="replace"))
"""

ATTACKS = [
    # The denylist parsed differently from the programs it guards.
    Attack(
        "make --eva",
        "shell",
        {"command": "make --eva='$(shell touch {OUT}/pwned)'"},
        _files(Makefile="all:\n\ttrue\n"),
        refused=True,
    ),
    Attack(
        "make variable with $(shell)",
        "shell",
        {"command": "make 'X=$(shell touch {OUT}/pwned)'"},
        _files(Makefile="X ?= 1\nall:\n\t@echo $(X)\n"),
        refused=True,
    ),
    Attack(
        "git --upload-pac",
        "shell",
        {"command": "git ls-remote --upload-pac='touch {OUT}/pwned' ."},
        _git_repo,
        refused=True,
    ),
    Attack("date --se", "shell", {"command": "date --se=@1"}, refused=True),
    Attack(
        "python -m timeit",
        "shell",
        {"command": "python3 -m timeit -s \"open('{OUT}/pwned','w')\" pass"},
        refused=True,
    ),
    Attack(
        "python -m code with stdin",
        "shell",
        {"command": "python3 -m code", "stdin": "open('{OUT}/pwned','w')\n"},
        refused=True,
    ),
    Attack(
        "python -m pdb -c",
        "shell",
        {"command": 'python3 -m pdb -c "import os" x.py'},
        _files(**{"x.py": ""}),
        refused=True,
    ),
    Attack(
        "npx -- bash", "shell", {"command": "npx --no -- bash -c 'touch {OUT}/pwned'"}, refused=True
    ),
    Attack(
        "npm exec -- node -e",
        "shell",
        {"command": "npm exec --no -- node -e \"require('fs').writeFileSync('{OUT}/pwned','')\""},
        refused=True,
    ),
    Attack(
        "sort --compress-prog",
        "shell",
        {"command": "sort --compress-prog=sh f.txt"},
        _files(**{"f.txt": "b\na\n"}),
        refused=True,
    ),
    # Programs reaching outside through their own arguments and links.
    Attack(
        "python -m tarfile -e",
        "shell",
        {"command": "python3 -m tarfile -e evil.tar ."},
        _evil_tar,
        refused=True,
    ),
    Attack(
        "sort --files0-from",
        "shell",
        {"command": "sort --files0-from=list.txt"},
        _files(**{"list.txt": "{OUT}/secret.txt\x00"}),
        refused=True,
    ),
    Attack(
        "awk ARGV",
        "shell",
        {"command": "awk 'BEGIN{ARGV[1]=\"{OUT}/secret.txt\";ARGC=2} {print}' f.txt"},
        _files(**{"f.txt": "x\n"}),
        refused=True,
    ),
    Attack(
        "git apply --unsafe-paths",
        "shell",
        {"command": "git apply --unsafe-paths p.diff"},
        _files(**{"p.diff": "--- /dev/null\n+++ b/{OUT}/pwned\n@@ -0,0 +1 @@\n+x\n"}),
        refused=True,
    ),
    # The pattern matches the canary without holding it (the reply echoes the command).
    Attack(
        "grep -R through a symlink",
        "shell",
        {"command": "grep -R 'CANARY-[0-9a-f]' ."},
        _symlink_out,
    ),
    Attack(
        "rg -L through a symlink", "shell", {"command": "rg -L 'CANARY-[0-9a-f]' ."}, _symlink_out
    ),
    Attack("diff -r through a symlink", "shell", {"command": "diff -r link other"}, _symlink_out),
    Attack(
        "a script reads and writes outside",
        "shell",
        {"command": "python3 attack.py"},
        _files(**{"attack.py": READ_AND_WRITE}),
    ),
    Attack("git status runs core.fsmonitor", "shell", {"command": "git status"}, _git_fsmonitor),
    Attack(
        "a double fork writes later",
        "shell",
        {"command": "python3 fork.py"},
        _files(**{"fork.py": DOUBLE_FORK}),
        after_seconds=2.5,
    ),
    # File tools: links, special files, path tricks.
    Attack(
        "read_file of a hard link", "read_file", {"path": "hard.txt"}, _hardlink_out, refused=True
    ),
    Attack(
        "write_file over a hard link",
        "write_file",
        {"path": "hard.txt", "content": "changed"},
        _hardlink_out,
        refused=True,
    ),
    Attack(
        "copy_file from a hard link",
        "copy_file",
        {"source": "hard.txt", "destination": "copy.txt"},
        _hardlink_out,
        refused=True,
    ),
    Attack("read_file of a FIFO", "read_file", {"path": "pipe"}, _fifo, refused=True),
    Attack(
        "copy_file from a FIFO",
        "copy_file",
        {"source": "pipe", "destination": "copy.txt"},
        _fifo,
        refused=True,
    ),
    Attack(
        "read_file through a symlink",
        "read_file",
        {"path": "link/secret.txt"},
        _symlink_out,
        refused=True,
    ),
    Attack(
        "read_file via /proc/self/root",
        "read_file",
        {"path": "/proc/self/root{OUT}/secret.txt"},
        refused=True,
    ),
    Attack("read_file with ..", "read_file", {"path": "../../outside/secret.txt"}, refused=True),
]


def _snapshot(*roots: Path) -> dict[str, tuple[object, ...]]:
    """Every entry under ``roots``: kind, size, mtime, links, content hash or link target."""
    state: dict[str, tuple[object, ...]] = {}
    for root in roots:
        for directory, dirs, files in os.walk(root, followlinks=False):
            for name in [*dirs, *files]:
                path = Path(directory, name)
                info = path.lstat()
                if path.is_symlink():
                    detail: object = os.readlink(path)
                elif path.is_file():
                    detail = hashlib.sha256(path.read_bytes()).hexdigest()
                else:
                    detail = None
                state[str(path)] = (
                    info.st_mode,
                    info.st_size,
                    info.st_mtime_ns,
                    info.st_nlink,
                    detail,
                )
    return state


def _texts(result: types.CallToolResult) -> str:
    parts = [block.text for block in result.content if isinstance(block, types.TextContent)]
    parts.append(json.dumps(result.structured_content or {}))
    return "\n".join(parts)


def _fill(value: object, out: Path) -> object:
    if isinstance(value, str):
        return value.replace("{OUT}", str(out))
    return value


@pytest.fixture
def arena(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(workspace (not yet made), outside directory, server home): the canary is outside."""
    out = tmp_path / "outside"
    out.mkdir()
    (out / "secret.txt").write_text(CANARY + "\n")
    (out / "sub").mkdir()
    home = tmp_path / "home"
    home.mkdir()
    (home / ".profile").write_text(CANARY + "\n")
    (home / "data").mkdir()  # the server's own files, made now so home itself stays still
    (home / "stdio.log").touch()
    return tmp_path / "ws", out, home


def _in_subdir(attack: Attack, sub: str, out: Path) -> dict[str, object]:
    """The attack's arguments, run from its own directory of the shared workspace."""
    arguments = {k: _fill(v, out) for k, v in attack.arguments.items()}
    if attack.tool == "shell":
        return {**arguments, "cwd": sub}
    for key in ("path", "source", "destination"):
        value = arguments.get(key)
        if isinstance(value, str) and not value.startswith("/"):
            arguments[key] = f"{sub}/{value}"
    return arguments


async def test_every_attack_holds(arena: tuple[Path, Path, Path]) -> None:
    """One server, every attack in its own directory; all failures are reported together."""
    ws, out, home = arena
    ws.mkdir()
    env = {
        "HOME": str(home),
        "LUMINAMIND_SERVER__UNATTENDED_APPROVAL": "approve",
        "LUMINAMIND_TEST_SECRET": CANARY,  # what /proc/<server>/environ would give away
    }
    failures: list[str] = []
    async with stdio_session(ws, home, env=env) as session:
        for attack in ATTACKS:
            sub = attack.id.replace(" ", "_").replace("/", "_")
            (ws / sub).mkdir()
            attack.setup(ws / sub, out)
            before = _snapshot(ws.parent)
            started = time.monotonic()
            result = await session.call_tool(attack.tool, _in_subdir(attack, sub, out))
            if time.monotonic() - started > 60:
                failures.append(f"{attack.id}: took {time.monotonic() - started:.0f} s")
            if attack.after_seconds:
                time.sleep(attack.after_seconds)
            reply = _texts(result)
            if CANARY in reply:
                failures.append(f"{attack.id}: the reply holds the outside secret")
            if attack.refused and not result.is_error:
                failures.append(f"{attack.id}: not refused: {reply[:300]}")
            after = _snapshot(ws.parent)
            changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
            # The workspace may change, and the server's own data dir and log; nothing else.
            allowed = (str(ws), str(home / "data"), str(home / "stdio.log"))
            outside = sorted(k for k in changed if not k.startswith(allowed))
            if outside:
                failures.append(f"{attack.id}: changed outside the workspace: {outside}")
        # The server still serves after all of that.
        assert (await session.list_tools()).tools
    assert not failures, "\n".join(failures)
