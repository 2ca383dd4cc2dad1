"""Driving buildah in its own temporary storage, for the differential tests."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

from dockpy.image.config_defaults import DEFAULT_PATH
from dockpy.image.templates import build_busybox_rootfs
from tests.peer_isolation import with_private_var_lib

BASE = "localhost/busybox:latest"
_MOUNT_COMMANDS = ("mount", "unmount")


class Buildah:
    """``buildah --root R --runroot RR``; ``close`` removes everything it made, mounts first."""

    def __init__(self, work: Path):
        self.work = work
        self.storage = ["--root", str(work / "root"), "--runroot", str(work / "runroot")]

    def __call__(self, *args: str, check: bool = True) -> str:
        command = ["buildah", *self.storage, *args]
        # A private /var/lib, or buildah's build and commit write the host's blob-info cache (tests/peer_isolation.py);
        # not for a mount, which must outlive the command in this mount namespace.
        result = subprocess.run(command if args[0] in _MOUNT_COMMANDS else with_private_var_lib(command),
                                capture_output=True, text=True)
        if check and result.returncode != 0:
            raise AssertionError(f"buildah {' '.join(args)} failed: {result.stderr[-2000:]}")
        return result.stdout.strip()

    def make_base_image(self) -> None:
        """The busybox template's files as ``localhost/busybox:latest``, configured like dockpy's template."""
        rootfs = self.work / "busybox-rootfs"
        rootfs.mkdir()
        build_busybox_rootfs(rootfs)
        container = self("from", "scratch")
        self("copy", container, str(rootfs), "/")
        self("config", "--env", f"PATH={DEFAULT_PATH}", "--cmd", "sh", container)
        self("commit", "--rm", "-q", container, BASE)

    def build(self, context: Path, tag: str) -> None:
        self("build", "--layers", "--pull=never", "--isolation", "chroot", "-q", "-t", tag, str(context))

    def config(self, tag: str) -> dict:
        return json.loads(self("inspect", "--type", "image", tag))["OCIv1"]["config"]

    def tree(self, tag: str) -> dict:
        container = self("from", "--pull=never", tag)
        try:
            return describe_tree(Path(self("mount", container)))
        finally:
            self("unmount", container, check=False)
            self("rm", container, check=False)

    def close(self) -> None:
        self("rm", "--all", check=False)
        self("rmi", "--all", "--force", check=False)
        prefix = str(self.work) + "/"
        with open("/proc/self/mountinfo") as mountinfo:
            mounts = sorted((line.split()[4] for line in mountinfo if line.split()[4].startswith(prefix)), reverse=True)
        for mountpoint in mounts:
            subprocess.run(["umount", "--lazy", mountpoint], check=False)
        with open("/proc/self/mountinfo") as mountinfo:
            if any(line.split()[4].startswith(prefix) for line in mountinfo):
                return  # never remove a tree with mounts inside: it may hold the host's /dev
        shutil.rmtree(self.work, ignore_errors=True)


def describe_tree(root: Path) -> dict:
    """Every path under ``root``: type, permission bits, owner, content digest or link target (no times)."""
    import hashlib

    described = {}
    for directory, names, files in os.walk(root):
        for name in names + files:
            path = Path(directory) / name
            st = os.lstat(path)
            relative = "/" + str(path.relative_to(root))
            if stat.S_ISREG(st.st_mode):
                detail = hashlib.sha256(path.read_bytes()).hexdigest()
            elif stat.S_ISLNK(st.st_mode):
                detail = os.readlink(path)
            else:
                detail = ""
            described[relative] = (stat.S_IFMT(st.st_mode), oct(stat.S_IMODE(st.st_mode)), st.st_uid, st.st_gid, detail)
    return described
