"""virtiofsd: shares a host directory with the guest (the container's writable dir, and ``-v`` volumes).

Why virtiofs for the writable layer: the guest's overlay writes its upper
layer straight into the host container's upper dir, in overlay's own form (a
deleted file becomes a 0/0 character device, a replaced directory gets
``trusted.overlay.opaque=y``), so after the run there is nothing to copy back
and ``dockpy diff``/``commit``/``rollback`` read the upper dir as they do for
namespace containers. For that virtiofsd must pass xattrs through (``-o
xattr``) and may set ``trusted.*`` ones, which needs CAP_SYS_ADMIN
(``-o modcaps=+sys_admin``); it runs as root, like the rest of the runtime.

Read-only volumes are enforced on the host, not trusted to the guest: the
virtiofsd of such a share runs in its own mount namespace where the source is
a read-only bind mount, so a write from the guest fails with EROFS.

Debian 12 ships the C virtiofsd inside qemu-system-common
(``/usr/lib/qemu/virtiofsd``); its ``-o`` options are what we pass.
"""

from __future__ import annotations

import os
import socket as socket_module
import subprocess
from pathlib import Path

from dockpy import linux
from dockpy.errors import ContainerSetupError, PrerequisiteError
from dockpy.runtime.kvm.children import end_in_background, find_program, spawn

VIRTIOFSD_CANDIDATES = ("/usr/lib/qemu/virtiofsd", "/usr/libexec/virtiofsd")


def find_virtiofsd() -> Path:
    for candidate in (*VIRTIOFSD_CANDIDATES, find_program("virtiofsd")):
        if candidate and os.access(candidate, os.X_OK):
            return Path(candidate)
    raise PrerequisiteError("virtiofsd not found: install qemu-system-common (Debian 12 ships virtiofsd in it)")


def start_virtiofsd(binary: Path, source: str, listener: socket_module.socket, *, read_only: bool, cwd: Path, log) -> subprocess.Popen:
    """Start virtiofsd sharing ``source`` on ``listener`` (from ``listen``), which it takes over.

    We make the listening socket and hand it to virtiofsd (``--fd``), so QEMU
    may start and connect before virtiofsd does: its connection waits in the
    socket's backlog, and its first request on it until virtiofsd answers.
    """
    try:
        return _spawn_virtiofsd(binary, source, listener.fileno(), read_only=read_only, cwd=cwd, log=log)
    finally:
        listener.close()  # virtiofsd holds its own copy; if it died, QEMU's connection ends with ours


def _spawn_virtiofsd(binary: Path, source: str, listener_fd: int, *, read_only: bool, cwd: Path, log) -> subprocess.Popen:
    argv = [
        str(binary),
        f"--fd={listener_fd}",
        "-o", f"source={source}",
        "-o", "cache=auto",
        "-o", "xattr",
        "-o", "modcaps=+sys_admin",
        "-o", "sandbox=chroot",
        "-o", "log_level=err",
    ]  # fmt: skip
    prepare = (lambda: _bind_read_only(source)) if read_only else None
    return spawn(argv, cwd=cwd, stdout=log, stderr=log, pass_fds=(listener_fd,), prepare=prepare)


def listen(directory: Path, name: str) -> socket_module.socket:
    """A Unix socket listening at ``directory/name`` for QEMU, to hand to ``start_virtiofsd``; bound through
    a descriptor of the directory: a run directory's full path may be longer than a socket address holds (108 bytes)."""
    directory_fd = os.open(directory, os.O_PATH | os.O_DIRECTORY)
    listener = socket_module.socket(socket_module.AF_UNIX, socket_module.SOCK_STREAM)
    try:
        listener.bind(f"/proc/self/fd/{directory_fd}/{name}")
        listener.listen(1)
    except OSError as error:
        listener.close()
        raise ContainerSetupError(f"cannot listen for virtiofsd at {directory / name}: {error.strerror}") from None
    finally:
        os.close(directory_fd)
    return listener


def stop_virtiofsd(process: subprocess.Popen) -> None:
    """End virtiofsd (it normally exits with QEMU) without waiting for it to go: QEMU is
    gone, so nothing reaches the share any more (``children.end_in_background``)."""
    end_in_background(process)


def _bind_read_only(source: str) -> None:
    """In the child, before exec: a private mount namespace where ``source`` is read-only."""
    linux.unshare(linux.CLONE_NEWNS)
    linux.mount(None, "/", None, linux.MS_REC | linux.MS_PRIVATE)
    linux.mount(source, source, None, linux.MS_BIND | linux.MS_REC)
    linux.mount(None, source, None, linux.MS_BIND | linux.MS_REMOUNT | linux.MS_RDONLY)
