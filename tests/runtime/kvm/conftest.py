"""Fixtures for the kvm backend's tests: a two-layer busybox image and a backend with a shared cache.

Booting costs 1.5-2 s under TCG, so the storage root (with the cached
initramfs, vmlinux and acceleration verdict) and the layer dirs (with their
EROFS images beside them) are made once per session; each test gets only its
own container dir (upper and work).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from dockpy.errors import PrerequisiteError
from dockpy.root import StorageRoot
from dockpy.runtime.kvm.backend import KvmBackend
from dockpy.runtime.spec import ContainerSpec, Process, RootFilesystem

PASSWD = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app user:/home/app:/bin/sh\n"
GROUP = "root:x:0:\nstaff:x:50:\napp:x:1000:\n"


def _whiteout(path: Path) -> None:
    os.mknod(path, 0o600 | 0o020000, os.makedev(0, 0))


@pytest.fixture(scope="session")
def image_layers(tmp_path_factory) -> tuple[str, str]:
    """(top, base): base is busybox with /etc; top adds /etc/layer2, deletes /etc/gone and empties /opt."""
    busybox = shutil.which("busybox")
    if busybox is None:
        pytest.skip("busybox is not installed (apt-get install busybox-static)")
    layers = tmp_path_factory.mktemp("layers")
    base, top = layers / "base", layers / "top"
    for directory in ("bin", "etc", "opt/old", "home/app"):
        (base / directory).mkdir(parents=True)
    shutil.copy(busybox, base / "bin/busybox")
    for applet in subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True).stdout.split():
        if applet != "busybox":
            (base / "bin" / applet).symlink_to("busybox")
    (base / "etc/passwd").write_text(PASSWD)
    (base / "etc/group").write_text(GROUP)
    (base / "etc/gone").write_text("deleted by the top layer\n")
    (base / "etc/keep").write_text("from the base layer\n")
    (base / "opt/old/file").write_text("hidden by the opaque top dir\n")
    (base / "bin/not-executable").write_text("#!/bin/sh\n")
    os.chown(base / "home/app", 1000, 1000)
    (top / "etc").mkdir(parents=True)
    (top / "opt").mkdir()
    (top / "etc/layer2").write_text("from the top layer\n")
    _whiteout(top / "etc/gone")
    os.setxattr(top / "opt", "trusted.overlay.opaque", b"y")
    return str(top), str(base)


@pytest.fixture(scope="session")
def kvm_root(tmp_path_factory) -> StorageRoot:
    return StorageRoot(tmp_path_factory.mktemp("kvm-root")).create()


@pytest.fixture(scope="session")
def backend(kvm_root) -> KvmBackend:
    """A backend whose warnings are collected in ``backend.warnings`` instead of printed."""
    if os.geteuid() != 0:
        pytest.skip("needs root (virtiofsd shares the container's upper dir with trusted.* xattrs)")
    warnings: list[str] = []
    kvm = KvmBackend(kvm_root, warn=warnings.append)
    try:
        kvm.check()
    except PrerequisiteError as error:
        pytest.skip(f"kvm backend unavailable: {error}")
    kvm.warnings = warnings
    return kvm


def make_spec_in(directory: Path, layers, *args: str, env=("PATH=/bin",), cwd="/", user="", interactive=False, terminal=False, volumes=(), **fields) -> ContainerSpec:
    """A ContainerSpec on ``layers`` whose upper and work dirs are made in ``directory``."""
    (directory / "upper").mkdir(parents=True, exist_ok=True)
    (directory / "work").mkdir(exist_ok=True)
    return ContainerSpec(
        id=uuid.uuid4().hex,
        rootfs=RootFilesystem(layers=layers, upperdir=str(directory / "upper"), workdir=str(directory / "work")),
        process=Process(args=args, env=tuple(env), cwd=cwd, user=user, interactive=interactive, terminal=terminal),
        hostname="kvm-test",
        volumes=tuple(volumes),
        **fields,
    )


@pytest.fixture
def make_spec(image_layers, tmp_path):
    """``make_spec(*args, **process_fields)``: a spec on the test image with this test's own container dir."""
    count = iter(range(1000))
    return lambda *args, **fields: make_spec_in(tmp_path / f"container{next(count)}", image_layers, *args, **fields)


@pytest.fixture
def run_vm(backend, tmp_path):
    """Run a spec; returns (exit code, stdout bytes, stderr bytes)."""

    def run(spec: ContainerSpec, stdin: bytes | None = None):
        out, err = tmp_path / "stdout", tmp_path / "stderr"
        stdin_file = None
        if stdin is not None:
            (tmp_path / "stdin").write_bytes(stdin)
            stdin_file = open(tmp_path / "stdin", "rb")
        with open(out, "wb") as stdout, open(err, "wb") as stderr:
            code = backend.run(spec, stdin=stdin_file, stdout=stdout, stderr=stderr, timeout=300)
        if stdin_file:
            stdin_file.close()
        return code, out.read_bytes(), err.read_bytes()

    return run

