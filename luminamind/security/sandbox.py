"""The operating-system sandbox every ``shell`` command runs in (Linux: Landlock + namespaces).

The shell policy is the first, explainable line of refusal; this is what holds when the policy
is wrong. A sandboxed command:

* reads and executes only the system's program and library directories (``/usr``, ``/etc``
  less its secrets, the Python LuminaMind runs on, the directories on ``PATH``...), reads and
  writes only the workspace roots (read-only roots read-only) and a private temporary directory
  (its ``HOME`` and ``TMPDIR``); nothing else of the file system: no home directory, no other
  workspace, no ``/proc`` of other processes (Landlock, path rules checked by the kernel at
  every open, after symlinks are followed);
* has no network unless ``shell.sandbox_network`` (its own network namespace with nothing in
  it; Landlock's TCP rules too where the kernel has them);
* cannot signal, or connect to abstract sockets of, processes outside it (Landlock scopes);
* runs as PID 1 of its own PID namespace, so when it exits the kernel kills everything it
  started, double forks and ``setsid`` included; and it dies with the call.

How a command enters it: a process forks (the sandbox launcher, ``launcher.py``, or this
process with ``preexec_fn`` where the launcher cannot start), the fork unshares the namespaces
and forks once more (``_sandbox_child.enter``). That second child becomes PID 1 of the new
namespace, confines itself with Landlock and execs the command; the first stays outside as a
small waiter that exits with the command's status (and takes the command down with it if it is
killed). See docs/decisions.md for why Landlock and not bubblewrap, and docs/security.md for
what this does and does not cover.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from luminamind.security import _landlock, _sandbox_child
from luminamind.security._landlock import FS_READ_EXEC, FS_READ_WRITE, Ruleset
from luminamind.security._sandbox_child import (
    CLONE_NEWNET,
    CLONE_NEWPID,
    CLONE_NEWUSER,
    SANDBOX_FAILED_STATUS,
    enter_or_exit,
    unshare,
)
from luminamind.security.redaction import is_secret_name
from luminamind.security.sandbox_tmp import private_dir, remove_private_dir

__all__ = [
    "SANDBOX_FAILED_STATUS",
    "PreparedSandbox",
    "ReadConfinement",
    "SandboxSpec",
    "SandboxStatus",
    "read_confinement",
    "sandbox_status",
]


# System directories whose programs and libraries commands need. /etc is added entry by entry
# below, less _ETC_SECRETS.
_SYSTEM_DIRS = (
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/opt",
    "/nix/store",
    "/snap",
)
_ETC_SECRETS = frozenset(
    {"shadow", "shadow-", "gshadow", "gshadow-", "sudoers", "sudoers.d", "ssh", "ssl", "security"}
)
# /etc/ssl is secret only for its private keys; the certificates are what TLS clients read.
_ETC_PUBLIC_PARTS = ("/etc/ssl/certs", "/etc/ssl/openssl.cnf")
# Process-independent kernel facts programs read (CPU count, memory); never /proc/<pid>.
_TOOLCHAIN_BIN_DIRS = frozenset({"bin", "sbin", "shims"})
_SECRET_FILE_NAMES = frozenset({".netrc", ".npmrc", ".pypirc", ".git-credentials", "auth.json"})
_KERNEL_INFO = (
    "/proc/cpuinfo",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/loadavg",
    "/proc/uptime",
    "/proc/version",
    "/proc/filesystems",
    "/proc/sys/kernel",
    "/proc/sys/vm/overcommit_memory",
    "/sys/devices/system/cpu",
)
_DEV_READ_WRITE = ("/dev/null", "/dev/zero", "/dev/full", "/dev/tty")
_DEV_READ = ("/dev/random", "/dev/urandom")


@dataclass(frozen=True, slots=True)
class SandboxStatus:
    """What the sandbox can do on this machine (``luminamind doctor`` prints it)."""

    available: bool
    landlock_abi: int
    pid_namespace: bool
    network_namespace: bool
    reason: str
    user_namespace: bool = False

    def describe(self) -> str:
        """One line for doctor and the approval prompt."""
        if not self.available:
            return f"not sandboxed: {self.reason}"
        parts = [f"Landlock ABI {self.landlock_abi}"]
        parts.append("PID namespace" if self.pid_namespace else "no PID namespace")
        parts.append("network namespace" if self.network_namespace else "no network namespace")
        parts.append("user namespace" if self.user_namespace else "no user namespace")
        return "sandboxed (" + ", ".join(parts) + ")"


@functools.cache
def sandbox_status() -> SandboxStatus:
    """Probe once per process: Landlock's ABI and which namespaces a fork may create."""
    abi = _landlock.abi_version()
    if abi < 1:
        reason = (
            "this kernel has no Landlock (Linux 5.13+ with CONFIG_SECURITY_LANDLOCK and "
            "landlock in the lsm= boot list)"
            if sys.platform == "linux"
            else f"no sandbox for {sys.platform} yet (Linux Landlock only)"
        )
        return SandboxStatus(False, 0, False, False, reason)
    flags = _probe_unshare()
    return SandboxStatus(
        True,
        abi,
        pid_namespace=bool(flags & CLONE_NEWPID),
        network_namespace=bool(flags & CLONE_NEWNET),
        reason="",
        user_namespace=bool(flags & CLONE_NEWUSER),
    )


def _probe_unshare() -> int:
    """The namespace flags a forked child manages to unshare (0 when none).

    A user namespace comes first, for root too: root's capabilities then apply only inside it,
    so a sandboxed ``date --set`` or ``mount`` fails however the policy parsed it.
    """
    for flags in (
        CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET,
        CLONE_NEWPID | CLONE_NEWNET,
    ):
        # The child reports through its exit status and never execs. subprocess's fork, not
        # os.fork(), which newer Pythons warn about in a process with threads.
        def probe(flags: int = flags) -> None:  # pragma: no cover - runs in the child
            os._exit(0 if unshare(flags) == 0 else 1)

        done = subprocess.run([sys.executable], preexec_fn=probe, check=False)
        if done.returncode == 0:
            return flags
    return 0


@dataclass(frozen=True, slots=True)
class SandboxSpec:
    """What one command may reach.

    Attributes:
        read_write: directories read, written, executed (the workspace's rw roots).
        read_only: directories read and executed (read-only roots, ``shell.sandbox_read_paths``).
        network: allow the network (``shell.sandbox_network``).
    """

    read_write: tuple[Path, ...]
    read_only: tuple[Path, ...] = ()
    network: bool = False

    def prepare(self, *, path_dirs: Iterable[str] = ()) -> PreparedSandbox:
        """Create the private temporary directory and the Landlock ruleset for one call.

        Args:
            path_dirs: the ``PATH`` the command runs with; its directories are readable.

        Raises:
            OSError: Landlock is missing or refused the ruleset.
        """
        status = sandbox_status()
        if not status.available:
            raise OSError(errno.ENOSYS, status.reason)
        flags = 0
        if status.pid_namespace:
            flags |= CLONE_NEWPID
        if status.network_namespace and not self.network:
            flags |= CLONE_NEWNET
        if status.user_namespace:
            flags |= CLONE_NEWUSER
        private = private_dir()
        readable = _readable_system_paths(tuple(path_dirs))
        return PreparedSandbox(self, private, status.landlock_abi, flags, list(readable))


@functools.lru_cache(maxsize=8)
def _readable_system_paths(path_dirs: tuple[str, ...]) -> tuple[str, ...]:
    """What commands may read and execute, fewest rules first (computed once per PATH).

    Each path is resolved, and one that lies beneath another is dropped: its rule would add
    nothing (``/bin`` is ``/usr/bin`` on merged-/usr systems) but cost a system call per call.
    """
    # Not /proc: /etc/mtab resolves to this process's /proc/<pid>/mounts.
    resolved = sorted(
        {
            r
            for p in _candidate_paths(path_dirs)
            if p and not (r := os.path.realpath(p)).startswith("/proc/")
        }
    )
    kept: list[str] = []
    for path in resolved:  # sorted, so an ancestor comes before what lies beneath it
        if not any(path == k or path.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(path)
    return tuple(p for p in kept if os.path.exists(p))


def _candidate_paths(path_dirs: Iterable[str]) -> list[str]:
    paths = [p for p in _SYSTEM_DIRS if os.path.exists(p)]
    with contextlib.suppress(OSError):
        paths += [f"/etc/{name}" for name in sorted(os.listdir("/etc")) if name not in _ETC_SECRETS]
    paths += _ETC_PUBLIC_PARTS
    # The interpreter LuminaMind runs on (a venv's python, pytest, ruff, mypy) and its stdlib.
    paths += {sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(sys.executable).parent)}
    home = os.path.expanduser("~")
    for entry in path_dirs:
        if not os.path.isabs(entry):
            continue
        for directory in {entry, os.path.realpath(entry)}:
            paths.append(directory)
            # A toolchain's bin/ or shims/ runs files beside it (pyenv's shims run
            # ~/.pyenv/libexec/pyenv; ~/.cargo/bin/cargo is a rustup proxy): its root is
            # readable too, less anything named like a credential (~/.cargo/credentials.toml).
            root = os.path.dirname(directory)
            if os.path.basename(directory) in _TOOLCHAIN_BIN_DIRS and root not in (home, "/"):
                paths += _children_except_secrets(root)
    return paths


def _children_except_secrets(directory: str) -> list[str]:
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    return [os.path.join(directory, n) for n in sorted(names) if not _secret_file_name(n)]


def _secret_file_name(name: str) -> bool:
    lowered = name.lower()
    return (
        is_secret_name(name)
        or lowered in _SECRET_FILE_NAMES
        or lowered.endswith((".pem", ".key", ".p12", ".pfx"))
    )


@dataclass(slots=True)
class PreparedSandbox:
    """One call's sandbox: the private directory, the namespaces, a ruleset per stage."""

    spec: SandboxSpec
    private_dir: Path
    abi: int
    unshare_flags: int
    readable: list[str]

    def environment(self, env: dict[str, str]) -> dict[str, str]:
        """``env`` with HOME and the temporary directories pointing into the private dir."""
        private = str(self.private_dir)
        return env | {"HOME": private, "TMPDIR": private, "TMP": private, "TEMP": private}

    def ruleset(self) -> Ruleset:
        """A fresh ruleset for one process (the child adds its own /proc/<pid> to it).

        Everything but this call's private directory is the same from call to call, and
        building it (one open and one system call per path, some 170) is a good part of the
        sandbox's cost: a spare one is built ahead in a thread while the command runs
        (``_SpareRulesets``), and this call only adds its private directory to it.

        Raises:
            OSError: Landlock refused it.
        """
        key = _BaseKey(
            self.abi,
            self.spec.network,
            tuple(self.readable),
            tuple(str(p) for p in self.spec.read_only),
            tuple(str(p) for p in self.spec.read_write),
        )
        ruleset = _SPARES.take(key)
        try:
            ruleset.allow((str(self.private_dir),), FS_READ_WRITE)
        except BaseException:
            ruleset.close()
            raise
        return ruleset

    def preexec(self, ruleset: Ruleset) -> Callable[[], None]:
        """The function the forked child runs before exec (see the module docstring)."""
        flags = self.unshare_flags

        def enter() -> None:  # pragma: no cover - runs in the forked child, between fork and exec
            _sandbox_child.enter(flags, ruleset, FS_READ_EXEC)

        return enter

    def close(self) -> None:
        """Remove the private directory (after the command is over)."""
        remove_private_dir(self.private_dir)


@dataclass(frozen=True, slots=True)
class _BaseKey:
    """What a sandbox's ruleset holds besides the call's private directory."""

    abi: int
    network: bool
    readable: tuple[str, ...]
    read_only: tuple[str, ...]
    read_write: tuple[str, ...]

    def build(self) -> Ruleset:
        ruleset = Ruleset(abi=self.abi, network=self.network)
        try:
            ruleset.allow(self.readable, FS_READ_EXEC)
            ruleset.allow(_KERNEL_INFO + _DEV_READ, FS_READ_EXEC)
            ruleset.allow(_DEV_READ_WRITE, FS_READ_WRITE)
            ruleset.allow(self.read_only, FS_READ_EXEC)
            ruleset.allow(self.read_write, FS_READ_WRITE)
        except BaseException:
            ruleset.close()
            raise
        return ruleset


class _SpareRulesets:
    """One ruleset built ahead per key (a handful of keys), refilled in a thread after each take.

    A spare belongs to the process that built it: a forked copy of this process shares the
    kernel object behind the descriptor, and a rule one of them added would reach the other's
    commands, so a fork drops the spares it inherited instead of using them.
    """

    _KEYS = 4

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spares: dict[_BaseKey, Ruleset] = {}
        self._building: set[_BaseKey] = set()
        self._owner = os.getpid()

    def take(self, key: _BaseKey) -> Ruleset:
        """A ruleset for ``key`` (the spare, else one built now); a new spare is started.

        Raises:
            OSError: Landlock refused it.
        """
        with self._lock:
            if self._owner != os.getpid():
                self._spares, self._building, self._owner = {}, set(), os.getpid()
            spare = self._spares.pop(key, None)
            refill = key not in self._building
            if refill:
                self._building.add(key)
        if refill:
            threading.Thread(
                target=self._refill, args=(key,), name="luminamind-sandbox-ruleset", daemon=True
            ).start()
        return spare if spare is not None else key.build()

    def _refill(self, key: _BaseKey) -> None:
        try:
            built: Ruleset | None = key.build()
        except OSError:
            built = None  # the caller's own build will say why
        with self._lock:
            self._building.discard(key)
            if built is None or self._owner != os.getpid():
                pass
            elif key in self._spares:
                self._spares[key].close()
                self._spares[key] = built
                built = None
            else:
                while len(self._spares) >= self._KEYS:
                    self._spares.pop(next(iter(self._spares))).close()
                self._spares[key] = built
                built = None
        if built is not None:
            built.close()


_SPARES = _SpareRulesets()


@dataclass(frozen=True, slots=True)
class ReadConfinement:
    """Landlock for a helper program the tools run themselves (``rg``): read only, no network.

    ``rg`` walks directories by path, so a directory of the workspace swapped for a symlink
    while it searches would have it read files outside. Confined, the kernel checks where every
    open lands, after symlinks: it can read the workspace's roots and the system's program and
    library directories, nothing else, and it cannot write anywhere but ``/dev/null``. Started
    by the sandbox launcher like a shell command (without namespaces), or by a fork of this
    process where the launcher cannot start.
    """

    key: _BaseKey

    def ruleset(self) -> Ruleset:
        """A fresh ruleset for one run (a spare built ahead, as for shell commands).

        Raises:
            OSError: Landlock refused it.
        """
        return _SPARES.take(self.key)

    def preexec(self, ruleset: Ruleset) -> Callable[[], None]:
        """What a forked child runs before exec (the fallback without the launcher)."""

        def enter() -> None:  # pragma: no cover - runs in the forked child, before exec
            enter_or_exit("enable Landlock", ruleset.restrict())

        return enter


@functools.lru_cache(maxsize=8)
def read_confinement(readable: tuple[Path, ...], program: str) -> ReadConfinement | None:
    """The confinement for ``program`` reading ``readable``; None without Landlock."""
    abi = _landlock.abi_version()
    if abi < 1:
        return None
    program_dir = os.path.realpath(os.path.dirname(program))
    system = tuple(dict.fromkeys((*_readable_system_paths(()), program_dir)))
    return ReadConfinement(
        _BaseKey(abi, False, system, tuple(str(p) for p in readable), read_write=())
    )
