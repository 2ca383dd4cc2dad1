"""Every Linux system call dockpy makes that Python's ``os`` module lacks.

One module holds them all (rubber-docker's ``linux.c`` is the model), each a
small function that checks the result and raises ``OSError`` naming the call
and the path, so callers never look at errno themselves. Python 3.11 has no
``os.unshare``/``os.setns``, hence ctypes.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable



def _load_libc() -> ctypes.CDLL:
    """glibc's soname first: ``find_library`` runs ``ldconfig -p``, tens of ms on every dockpy start."""
    try:
        return ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        from ctypes import util

        return ctypes.CDLL(util.find_library("c"), use_errno=True)


_libc = _load_libc()
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
MS_SYNCHRONOUS = 0x10
MS_REMOUNT = 0x20
MS_DIRSYNC = 0x80
MS_NOATIME = 0x400
MS_NODIRATIME = 0x800
MS_BIND = 0x1000
MS_MOVE = 0x2000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MS_SLAVE = 0x80000
MS_RELATIME = 0x200000
MS_STRICTATIME = 0x1000000

# umount2(2) flags
MNT_DETACH = 0x2

# The new mount API (Linux 5.2+); x86_64 and aarch64 share these numbers.
_SYS_MOVE_MOUNT = 429
_SYS_FSOPEN = 430
_SYS_FSCONFIG = 431
_SYS_FSMOUNT = 432
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}.get(os.uname().machine, 155)
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


def call_in_directory(directory: str | os.PathLike, function: Callable[[], object]) -> object:
    """Call ``function`` in a fresh thread whose working directory is ``directory``.

    The thread first unshares its filesystem attributes (``CLONE_FS``), so its
    ``chdir`` leaves the working directory of the process and of every other
    thread alone. Syscalls that take relative paths (an overlay's ``lowerdir=``)
    then resolve them from ``directory`` without forking.
    """
    import threading  # only overlays of very many layers come here

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
    return outcome["result"]


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


# prctl(2) options (linux/prctl.h)
PR_SET_PDEATHSIG = 1
PR_SET_KEEPCAPS = 8
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4

_LINUX_CAPABILITY_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    """prctl(2); ``option`` is one of the ``PR_*`` constants above."""
    args = (ctypes.c_ulong(arg2), ctypes.c_ulong(arg3), ctypes.c_ulong(arg4), ctypes.c_ulong(arg5))
    return _check(_libc.prctl(option, *args), f"prctl {option}")


def capset(effective: int, permitted: int, inheritable: int) -> None:
    """capset(2) for the calling thread; each set is a 64-bit mask of capability numbers."""
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    for index in (0, 1):
        shift = 32 * index
        data[index].effective = (effective >> shift) & 0xFFFFFFFF
        data[index].permitted = (permitted >> shift) & 0xFFFFFFFF
        data[index].inheritable = (inheritable >> shift) & 0xFFFFFFFF
    _check(_libc.capset(ctypes.byref(header), data), "capset")


def sethostname(name: str) -> None:
    """sethostname(2), without importing ``socket`` (a few ms) on the container's hot path."""
    encoded = name.encode()
    _check(_libc.sethostname(encoded, len(encoded)), "sethostname", name)


# Bringing an interface up: ioctl(SIOCGIFFLAGS/SIOCSIFFLAGS) on any socket (linux/sockios.h).
_AF_INET = 2
_SOCK_DGRAM = 2
_SOCK_CLOEXEC = 0o2000000
_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1


class _InterfaceFlagsRequest(ctypes.Structure):
    """``struct ifreq`` with its ``ifr_flags`` member (the union is 24 bytes)."""

    _fields_ = [("name", ctypes.c_char * 16), ("flags", ctypes.c_short), ("padding", ctypes.c_char * 22)]


def set_interface_up(name: str) -> None:
    """ioctl(SIOCSIFFLAGS) adding IFF_UP to interface ``name`` in the current network namespace."""
    sock = _check(_libc.socket(_AF_INET, _SOCK_DGRAM | _SOCK_CLOEXEC, 0), "socket", name)
    try:
        request = _InterfaceFlagsRequest(name.encode())
        _check(_libc.ioctl(sock, _SIOCGIFFLAGS, ctypes.byref(request)), "ioctl SIOCGIFFLAGS", name)
        request.flags |= _IFF_UP
        _check(_libc.ioctl(sock, _SIOCSIFFLAGS, ctypes.byref(request)), "ioctl SIOCSIFFLAGS", name)
    finally:
        os.close(sock)


def set_parent_death_signal(signal_number: int) -> None:
    """prctl(PR_SET_PDEATHSIG): the kernel sends ``signal_number`` to this process when its parent dies."""
    prctl(PR_SET_PDEATHSIG, signal_number)
