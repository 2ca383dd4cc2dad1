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
import shutil
import subprocess
import time
from pathlib import Path

from dockpy import linux
from dockpy.errors import ContainerSetupError, PrerequisiteError
from dockpy.runtime.kvm.children import kill_and_reap, spawn

VIRTIOFSD_CANDIDATES = ("/usr/lib/qemu/virtiofsd", "/usr/libexec/virtiofsd")
SOCKET_TIMEOUT_SECONDS = 10.0
# The C virtiofsd locks /run/virtiofsd/<socket path, '/' as '.'>.pid and leaves it behind.
PID_FILE_DIR = Path("/run/virtiofsd")


def find_virtiofsd() -> Path:
    for candidate in (*VIRTIOFSD_CANDIDATES, shutil.which("virtiofsd")):
        if candidate and os.access(candidate, os.X_OK):
            return Path(candidate)
    raise PrerequisiteError("virtiofsd not found: install qemu-system-common (Debian 12 ships virtiofsd in it)")


def start_virtiofsd(binary: Path, source: str, socket: str, *, read_only: bool, cwd: Path, log) -> subprocess.Popen:
    """Start virtiofsd sharing ``source`` on ``socket`` (relative to ``cwd``) and wait until it listens."""
    argv = [
        str(binary),
        f"--socket-path={socket}",
        "-o", f"source={source}",
        "-o", "cache=auto",
        "-o", "xattr",
        "-o", "modcaps=+sys_admin",
        "-o", "sandbox=chroot",
        "-o", "log_level=err",
    ]  # fmt: skip
    prepare = (lambda: _bind_read_only(source)) if read_only else None
    process = spawn(argv, cwd=cwd, stdout=log, stderr=log, prepare=prepare)
    _wait_for_socket(process, cwd / socket, source)
    return process


def stop_virtiofsd(process: subprocess.Popen, socket: str) -> None:
    """End virtiofsd (it normally exits with QEMU) and remove the lock file it leaves."""
    kill_and_reap(process)
    (PID_FILE_DIR / (socket.replace("/", ".") + ".pid")).unlink(missing_ok=True)


def remove_lock_files(socket_prefix: str) -> None:
    """Lock files of virtiofsds whose dockpy was killed before it could remove them."""
    for lock in PID_FILE_DIR.glob(f"{socket_prefix}.fs*.sock.pid"):
        lock.unlink(missing_ok=True)


def _bind_read_only(source: str) -> None:
    """In the child, before exec: a private mount namespace where ``source`` is read-only."""
    linux.unshare(linux.CLONE_NEWNS)
    linux.mount(None, "/", None, linux.MS_REC | linux.MS_PRIVATE)
    linux.mount(source, source, None, linux.MS_BIND | linux.MS_REC)
    linux.mount(None, source, None, linux.MS_BIND | linux.MS_REMOUNT | linux.MS_RDONLY)


def _wait_for_socket(process: subprocess.Popen, socket: Path, source: str) -> None:
    deadline = time.monotonic() + SOCKET_TIMEOUT_SECONDS
    while not socket.exists():
        if process.poll() is not None:
            raise ContainerSetupError(f"virtiofsd for {source} exited with status {process.returncode}")
        if time.monotonic() > deadline:
            process.kill()
            raise ContainerSetupError(f"virtiofsd for {source} did not start listening on {socket}")
        time.sleep(0.002)
