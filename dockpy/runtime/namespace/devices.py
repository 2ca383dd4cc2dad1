"""The container's /dev: a fresh tmpfs holding only the devices Docker gives a container.

Host devices never appear: each node is made with mknod, the pseudo-terminals
come from a private devpts instance, and the devices cgroup (where the host
has the v1 controller) stops the use of any other node a container makes.
"""

from __future__ import annotations

import os
import stat

from dockpy import linux

# (name, major, minor): the character devices of Docker's default /dev.
DEFAULT_DEVICES = (
    ("null", 1, 3), ("zero", 1, 5), ("full", 1, 7),
    ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0),
)
DEFAULT_SYMLINKS = (
    ("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"), ("ptmx", "pts/ptmx"), ("core", "/proc/kcore"),
)
DEV_TMPFS_OPTIONS = "mode=755,size=65536k"
# gid 5 is "tty" in Debian, Alpine and busybox images alike; ptmxmode lets every user open a pty.
DEVPTS_OPTIONS = "newinstance,ptmxmode=0666,mode=0620,gid=5"
SHM_OPTIONS = "mode=1777,size=65536k"

_NOSUID_NOEXEC = linux.MS_NOSUID | linux.MS_NOEXEC


def mount_dev(root: str, console: str | None) -> None:
    """tmpfs /dev with device nodes, symlinks, pts, shm, mqueue and, for -t, the console."""
    dev = os.path.join(root, "dev")
    os.makedirs(dev, mode=0o755, exist_ok=True)
    linux.mount("tmpfs", dev, "tmpfs", linux.MS_NOSUID | linux.MS_STRICTATIME, DEV_TMPFS_OPTIONS)
    make_device_nodes(dev)
    for name, target in DEFAULT_SYMLINKS:
        os.symlink(target, os.path.join(dev, name))
    mount_in_dev(dev, "pts", "devpts", _NOSUID_NOEXEC, DEVPTS_OPTIONS)
    mount_in_dev(dev, "shm", "tmpfs", _NOSUID_NOEXEC | linux.MS_NODEV, SHM_OPTIONS)
    mount_in_dev(dev, "mqueue", "mqueue", _NOSUID_NOEXEC | linux.MS_NODEV, None)
    if console:
        bind_console(dev, console)


def make_device_nodes(dev: str) -> None:
    old_umask = os.umask(0)
    try:
        for name, major, minor in DEFAULT_DEVICES:
            os.mknod(os.path.join(dev, name), stat.S_IFCHR | 0o666, os.makedev(major, minor))
    finally:
        os.umask(old_umask)


def mount_in_dev(dev: str, name: str, fstype: str, flags: int, options: str | None) -> None:
    target = os.path.join(dev, name)
    os.mkdir(target, 0o755)
    linux.mount(fstype, target, fstype, flags, options)


def bind_console(dev: str, console: str) -> None:
    """/dev/console is the terminal the container was given (the pty dockpy holds the master of)."""
    target = os.path.join(dev, "console")
    os.close(os.open(target, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600))
    linux.mount(console, target, None, linux.MS_BIND)
