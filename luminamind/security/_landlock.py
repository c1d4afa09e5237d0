"""Landlock, the Linux security module an unprivileged process uses to confine itself.

Written here with ctypes rather than taken from PyPI: the bindings there (``landlock``
1.0.0.dev5, and younger look-alikes) are pre-releases, build the ruleset in ways we cannot split
between parent and child, and do not expose ABI 4-6 (TCP rules, signal and socket scopes). The
kernel interface is three system calls and three structs (linux/landlock.h), stable since 5.13.

The ruleset is built in the parent (opening paths, adding rules: Python code, allocations);
the forked child only calls ``restrict`` (two system calls), which is safe between fork and exec.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import platform
import stat
from collections.abc import Iterable

__all__ = [
    "FS_READ_EXEC",
    "FS_READ_WRITE",
    "Ruleset",
    "abi_version",
    "fs_rights",
]

# x86_64, aarch64 and every other architecture that joined after 5.13 share these numbers.
_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH, _RULE_NET_PORT = 1, 2
_PR_SET_NO_NEW_PRIVS = 38

_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_TRUNCATE, _IOCTL_DEV = 1 << 14, 1 << 15
# Rights that make sense on a file (the kernel refuses directory rights on a file rule).
_FILE_RIGHTS = _EXECUTE | _WRITE_FILE | _READ_FILE | _TRUNCATE | _IOCTL_DEV

FS_READ_EXEC = _EXECUTE | _READ_FILE | _READ_DIR
FS_READ_WRITE = (1 << 16) - 1  # every file system right up to ABI 5; masked by fs_rights()

_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1  # __attribute__((packed)) in linux/landlock.h
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


@functools.cache
def abi_version() -> int:
    """The Landlock ABI the kernel offers; 0 when it has none (or this is not Linux)."""
    if platform.system() != "Linux":
        return 0
    version = _libc().syscall(_SYS_CREATE_RULESET, None, 0, _CREATE_RULESET_VERSION)
    return max(int(version), 0)


def fs_rights(abi: int) -> int:
    """Every file system right the given ABI knows (REFER 2, TRUNCATE 3, IOCTL_DEV 5)."""
    rights = (1 << 13) - 1
    if abi >= 2:
        rights |= 1 << 13
    if abi >= 3:
        rights |= _TRUNCATE
    if abi >= 5:
        rights |= _IOCTL_DEV
    return rights


class Ruleset:
    """A Landlock ruleset under construction, held as a file descriptor.

    Everything not granted by a rule is denied once a process restricts itself with it: file
    access (every right the ABI knows), TCP bind and connect (ABI 4) unless ``network``, and
    (ABI 6) signals to and abstract Unix sockets of processes outside the sandbox.
    """

    def __init__(self, *, abi: int, network: bool) -> None:
        self.abi = abi
        self._handled_fs = fs_rights(abi)
        net = 0 if network or abi < 4 else _NET_BIND_TCP | _NET_CONNECT_TCP
        scoped = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL if abi >= 6 else 0
        attr = _RulesetAttr(self._handled_fs, net, scoped)
        size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else (16 if abi >= 4 else 8)
        fd = _libc().syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), size, 0)
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"landlock_create_ruleset: {os.strerror(err)}")
        self.fd = int(fd)

    @classmethod
    def adopt(cls, fd: int, abi: int) -> Ruleset:
        """A ruleset built elsewhere and received as ``fd`` (the sandbox launcher's child)."""
        ruleset = cls.__new__(cls)
        ruleset.abi = abi
        ruleset._handled_fs = fs_rights(abi)
        ruleset.fd = fd
        return ruleset

    def allow(self, paths: Iterable[str], rights: int) -> None:
        """Grant ``rights`` beneath each existing path (missing paths are skipped)."""
        for path in paths:
            try:
                pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                self.allow_fd(pfd, rights)
            finally:
                os.close(pfd)

    def allow_fd(self, pfd: int, rights: int) -> None:
        """Grant ``rights`` beneath the file or directory open as ``pfd`` (an O_PATH fd)."""
        granted = rights & self._handled_fs
        if not stat.S_ISDIR(os.fstat(pfd).st_mode):
            granted &= _FILE_RIGHTS
        rule = _PathBeneathAttr(granted, pfd)
        if _libc().syscall(_SYS_ADD_RULE, self.fd, _RULE_PATH_BENEATH, ctypes.byref(rule), 0):
            err = ctypes.get_errno()
            raise OSError(err, f"landlock_add_rule: {os.strerror(err)}")

    def restrict(self) -> int:
        """Confine the calling thread (and all it starts) for good; 0 or an errno.

        Meant for a forked child before exec: no allocation beyond ctypes' own conversions.
        """
        libc = _libc()
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return ctypes.get_errno() or errno.EPERM
        if libc.syscall(_SYS_RESTRICT_SELF, self.fd, 0) != 0:
            return ctypes.get_errno() or errno.EPERM
        return 0

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
