"""Every Linux system call dockpy makes that Python's ``os`` module lacks.

One module holds them all (rubber-docker's ``linux.c`` is the model), each a
small function that checks the result and raises ``OSError`` naming the call
and the path, so callers never look at errno themselves. Python 3.11 has no
``os.unshare``/``os.setns``, hence ctypes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
import threading
from collections.abc import Callable
from typing import TypeVar

_Result = TypeVar("_Result")

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.syscall.restype = ctypes.c_long

# Namespace flags (sched.h)
CLONE_FS = 0x00000200
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

# mount(2) flags (sys/mount.h)
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_MOVE = 0x2000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MS_SLAVE = 0x80000
MS_STRICTATIME = 0x1000000

# umount2(2) flags
MNT_DETACH = 0x2

# The new mount API (Linux 5.2+); x86_64 and aarch64 share these numbers.
_SYS_MOVE_MOUNT = 429
_SYS_FSOPEN = 430
_SYS_FSCONFIG = 431
_SYS_FSMOUNT = 432
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}.get(platform.machine(), 155)
FSCONFIG_SET_STRING = 1
FSCONFIG_CMD_CREATE = 6
FSOPEN_CLOEXEC = 0x1
FSMOUNT_CLOEXEC = 0x1
MOVE_MOUNT_F_EMPTY_PATH = 0x4
AT_FDCWD = -100


def _check(result: int, call: str, path: str | os.PathLike | None = None) -> int:
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{call}: {os.strerror(errno)}", os.fspath(path) if path is not None else None)
    return result


def _bytes(value: str | os.PathLike | None) -> bytes | None:
    return None if value is None else os.fsencode(value)


def mount(source: str | None, target: str | os.PathLike, fstype: str | None, flags: int = 0, data: str | None = None) -> None:
    """mount(2). ``data`` is the comma-separated option string (at most one page)."""
    result = _libc.mount(_bytes(source), _bytes(target), _bytes(fstype), ctypes.c_ulong(flags), _bytes(data))
    _check(result, f"mount {fstype or 'bind'}", target)


def umount(target: str | os.PathLike, flags: int = 0) -> None:
    """umount2(2)."""
    _check(_libc.umount2(_bytes(target), flags), "umount2", target)


def unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def call_in_directory(directory: str | os.PathLike, function: Callable[[], _Result]) -> _Result:
    """Call ``function`` in a fresh thread whose working directory is ``directory``.

    The thread first unshares its filesystem attributes (``CLONE_FS``), so its
    ``chdir`` leaves the working directory of the process and of every other
    thread alone. Syscalls that take relative paths (an overlay's ``lowerdir=``)
    then resolve them from ``directory`` without forking.
    """
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            unshare(CLONE_FS)
            os.chdir(directory)
            outcome["result"] = function()
        except BaseException as error:  # handed to the calling thread below
            outcome["error"] = error

    thread = threading.Thread(target=run, name="dockpy-chdir")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["result"]  # type: ignore[return-value]


def setns(fd: int, nstype: int = 0) -> None:
    _check(_libc.setns(fd, nstype), "setns")


def pivot_root(new_root: str | os.PathLike, put_old: str | os.PathLike) -> None:
    result = _libc.syscall(_SYS_PIVOT_ROOT, _bytes(new_root), _bytes(put_old))
    _check(result, "pivot_root", new_root)


def mount_filesystem(fstype: str, target: str | os.PathLike, options: list[tuple[str, str | None]]) -> None:
    """Mount with the new mount API: one ``fsconfig`` call per option.

    Unlike mount(2) the options are not limited to one page in total, which
    matters for overlays of hundreds of layers (``lowerdir+`` one at a time).
    """
    fs_fd = _check(_libc.syscall(_SYS_FSOPEN, fstype.encode(), FSOPEN_CLOEXEC), f"fsopen {fstype}", target)
    try:
        for key, value in options:
            command = FSCONFIG_SET_STRING if value is not None else 0  # 0 = FSCONFIG_SET_FLAG
            result = _libc.syscall(_SYS_FSCONFIG, fs_fd, command, key.encode(), _bytes(value), 0)
            _check(result, f"fsconfig {key}={value}", target)
        _check(_libc.syscall(_SYS_FSCONFIG, fs_fd, FSCONFIG_CMD_CREATE, None, None, 0), f"fsconfig create {fstype}", target)
        mount_fd = _check(_libc.syscall(_SYS_FSMOUNT, fs_fd, FSMOUNT_CLOEXEC, 0), f"fsmount {fstype}", target)
        try:
            result = _libc.syscall(_SYS_MOVE_MOUNT, mount_fd, b"", AT_FDCWD, _bytes(target), MOVE_MOUNT_F_EMPTY_PATH)
            _check(result, "move_mount", target)
        finally:
            os.close(mount_fd)
    finally:
        os.close(fs_fd)
