"""Building the container's root filesystem, one step per function (rubber-docker's recipe).

Runs as PID 1 of the new pid namespace, inside the container's new mount
namespace, so every mount made here vanishes with the container and the
host never sees one::

    make_mounts_private -> mount_overlay -> mount_proc -> mount_dev -> mount_sys
    -> mount_volumes -> mount_tmpfs -> mask_paths -> make_paths_read_only -> pivot_into
    -> (remount_root_read_only)

Every syscall is checked in ``dockpy.linux``; its OSError names the call and the path.
"""

from __future__ import annotations

import errno
import os

from dockpy import linux
from dockpy.layers.mounts import Mount, mount_all
from dockpy.runtime.namespace import devices
from dockpy.runtime.spec import ContainerSpec, RootFilesystem, TmpfsMount, VolumeMount

# runc's defaults (as Docker configures them): kernel interfaces a container must not read...
MASKED_PATHS = (
    "/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys",
    "/proc/latency_stats", "/proc/sched_debug", "/proc/scsi", "/proc/timer_list",
    "/proc/timer_stats", "/sys/devices/virtual/powercap", "/sys/firmware",
)
# ...and ones it may read but never write.
READ_ONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")
# Symlinks followed while resolving a path inside the root before giving up (Linux's MAXSYMLINKS).
MAX_SYMLINKS = 40

_PROC_FLAGS = linux.MS_NOSUID | linux.MS_NODEV | linux.MS_NOEXEC


def build_root(spec: ContainerSpec, console: str | None) -> None:
    """Make the container's mount namespace and switch into its root; ``console`` is the pty for -t."""
    root = spec.rootfs.mountpoint
    make_mounts_private()
    mount_overlay(spec.rootfs)
    mount_proc(root)
    devices.mount_dev(root, console)
    mount_sys(root)
    mount_volumes(root, spec.volumes)
    if spec.tmpfs:
        mount_tmpfs(root, spec.tmpfs)
    mask_paths(root)
    make_paths_read_only(root)
    pivot_into(root)
    if spec.rootfs.read_only:
        remount_root_read_only()


def make_mounts_private() -> None:
    """No mount event of ours may propagate back to the host (nor the host's into us)."""
    linux.mount(None, "/", None, linux.MS_REC | linux.MS_PRIVATE)


def mount_overlay(rootfs: RootFilesystem) -> None:
    """The layers, given relative to the container's directory.

    The kernel shows overlay options verbatim in /proc/self/mountinfo, so
    relative paths keep the host's directory layout out of the container's
    view, and keep the option string short for images of many layers.

    Unmounting an overlay syncs its upper filesystem, the whole of it, with
    whatever other processes left dirty there: at the container's exit that
    cost tens to hundreds of milliseconds on a busy disk. A volatile overlay
    skips the sync (podman mounts ``--rm`` containers so too).
    """
    base = os.path.dirname(rootfs.mountpoint)
    os.chdir(base)
    overlay = Mount(
        "overlay",
        "overlay",
        options=("volatile",) if rootfs.volatile else (),
        lowerdirs=tuple(os.path.relpath(layer, base) for layer in rootfs.layers),
        upperdir=os.path.relpath(rootfs.upperdir, base),
        workdir=os.path.relpath(rootfs.workdir, base),
    )
    mount_all([overlay], os.path.basename(rootfs.mountpoint))


def mount_proc(root: str) -> None:
    """A proc of the new pid namespace: the container sees only its own processes."""
    linux.mount("proc", ensure_directory(root, "/proc"), "proc", _PROC_FLAGS)


def mount_sys(root: str) -> None:
    linux.mount("sysfs", ensure_directory(root, "/sys"), "sysfs", _PROC_FLAGS | linux.MS_RDONLY)


def mount_volumes(root: str, volumes: tuple[VolumeMount, ...]) -> None:
    """Bind each ``-v`` source (and dockpy's /etc files) on its destination, read-only if asked."""
    for volume in volumes:
        if os.path.isdir(volume.source):
            target = ensure_directory(root, volume.destination)
        else:
            target = ensure_file(root, volume.destination)
        mount_all([Mount("bind", volume.source, ("ro",) if volume.read_only else ())], target)


def mount_tmpfs(root: str, mounts: tuple[TmpfsMount, ...]) -> None:
    """``--tmpfs``: a new tmpfs on each destination (made if missing), with its merged options."""
    from dockpy.runtime.tmpfs import mount_flags_and_data

    for mount in mounts:
        if os.path.lexists(target := resolve_in_root(root, mount.destination)) and not os.path.isdir(target):
            raise NotADirectoryError(errno.ENOTDIR, "--tmpfs destination is not a directory", mount.destination)
        flags, data = mount_flags_and_data(mount.options)
        linux.mount("tmpfs", ensure_directory(root, mount.destination), "tmpfs", flags, data or None)


def mask_paths(root: str) -> None:
    """An empty read-only tmpfs over masked directories, /dev/null over masked files."""
    for path in MASKED_PATHS:
        target = root + path
        if os.path.isdir(target):
            linux.mount("tmpfs", target, "tmpfs", linux.MS_RDONLY)
        elif os.path.exists(target):
            linux.mount(root + "/dev/null", target, None, linux.MS_BIND)


def make_paths_read_only(root: str) -> None:
    for path in READ_ONLY_PATHS:
        target = root + path
        if os.path.exists(target):
            linux.mount(target, target, None, linux.MS_BIND | linux.MS_REC)
            remount_read_only(target, _PROC_FLAGS)


def pivot_into(root: str) -> None:
    """pivot_root (never chroot, which a process can escape) and detach the old root.

    ``pivot_root(".", ".")`` stacks the old root on top of the new one; the
    lazy unmount of ``.`` then drops it (runc's way: no put_old directory needed).
    """
    os.chdir(root)
    linux.pivot_root(".", ".")
    linux.umount(".", linux.MNT_DETACH)
    os.chdir("/")


def remount_root_read_only() -> None:
    """``--read-only``: the root becomes read-only after volumes and /etc files were mounted on it."""
    remount_read_only("/")


def remount_read_only(target: str, flags: int = 0) -> None:
    """A bind remount changes only this mount's flags; ``flags`` are the ones to keep (nosuid...)."""
    linux.mount(None, target, None, linux.MS_BIND | linux.MS_REMOUNT | linux.MS_RDONLY | flags)


def ensure_directory(root: str, path: str) -> str:
    """The host path of ``path`` inside ``root`` (symlinks resolved inside it), created as a directory if missing."""
    target = resolve_in_root(root, path)
    if not os.path.isdir(target):
        os.makedirs(target, mode=0o755, exist_ok=True)
    return target


def ensure_file(root: str, path: str) -> str:
    """Like ``ensure_directory`` but an empty file is the mount point (a file is bound on a file)."""
    target = resolve_in_root(root, path)
    if not os.path.exists(target):
        os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
        os.close(os.open(target, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644))
    return target


def resolve_in_root(root: str, path: str) -> str:
    """Resolve ``path`` as the container would see it: symlinks (even absolute ones) stay inside ``root``.

    An image may ship ``/data -> /etc``: a volume on /data must then land on
    the container's /etc, never on the host's.
    """
    parts = [p for p in path.split("/") if p not in ("", ".")]
    resolved: list[str] = []
    followed = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            resolved = resolved[:-1]
            continue
        candidate = os.path.join(root, *resolved, part)
        if os.path.islink(candidate):
            followed += 1
            if followed > MAX_SYMLINKS:
                raise OSError(40, "too many levels of symbolic links", path)
            link = os.readlink(candidate)
            if link.startswith("/"):
                resolved = []
            parts = [p for p in link.split("/") if p not in ("", ".")] + parts
            continue
        resolved.append(part)
    return os.path.join(root, *resolved)
