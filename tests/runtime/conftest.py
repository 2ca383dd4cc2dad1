"""Fixtures of the runtime tests: a busybox root filesystem, and proof that nothing leaks.

The rootfs is made once per session from Debian's busybox-static, with an
/etc/passwd and /etc/group holding a non-root user, so user resolution is
exercised against the image's own files. The session ends by checking that
no mount and no process of the tests is left behind (the cgroups are
checked by ``tests/conftest.py``'s ``cgroup_parent``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockpy.image.templates import BUSYBOX_BINARY, build_busybox_rootfs

# A non-root user with a home and supplementary groups, beside the template's accounts.
APP_PASSWD = "app:x:1000:1000:app user:/home/app:/bin/sh\n"
APP_GROUPS = "app:x:1000:\nappstaff:x:1050:app\naudio:x:63:app,root\n"


def make_busybox_rootfs(target: Path) -> Path:
    """The busybox template's root plus the ``app`` user (uid 1000, groups 1050 and 63, home /home/app)."""
    target.mkdir(parents=True)
    build_busybox_rootfs(target)
    with open(target / "etc/passwd", "a") as passwd:
        passwd.write(APP_PASSWD)
    with open(target / "etc/group", "a") as group:
        group.write(APP_GROUPS)
    (target / "home/app").mkdir()
    os.chown(target / "home/app", 1000, 1000)
    return target


@pytest.fixture(scope="session")
def busybox_rootfs(tmp_path_factory) -> Path:
    if not BUSYBOX_BINARY.exists():
        pytest.skip("busybox-static is not installed (apt-get install busybox-static)")
    return make_busybox_rootfs(tmp_path_factory.mktemp("busybox") / "rootfs")


@pytest.fixture(autouse=True, scope="session")
def no_leaked_mounts_or_processes(tmp_path_factory):
    """After the session, no mount and no process may remain under the tests' temporary directories.

    A container's PID 1 has its root in the container's merged dir, so a
    surviving container shows up as a process whose /proc/<pid>/root is there.
    """
    base = str(tmp_path_factory.getbasetemp())
    yield
    with open("/proc/self/mountinfo") as file:
        leaked_mounts = [line.split()[4] for line in file if line.split()[4].startswith(base)]
    assert not leaked_mounts, f"mounts left behind by the tests: {leaked_mounts}"
    assert not _processes_rooted_under(base), f"processes left behind by the tests: {_processes_rooted_under(base)}"


def _processes_rooted_under(base: str) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink(f"/proc/{entry}/root").startswith(base):
                    pids.append(int(entry))
            except OSError:
                continue
    return pids


@pytest.fixture
def container_env(storage_root, cgroup_parent, monkeypatch) -> dict:
    """Environment for ``dockpy`` runs: this test's storage root, the session's cgroup parent."""
    monkeypatch.setenv("DOCKPY_CGROUP_PARENT", cgroup_parent)
    return {"DOCKPY_ROOT": str(storage_root.path), "DOCKPY_CGROUP_PARENT": cgroup_parent}


@pytest.fixture
def run_in_busybox(dockpy, busybox_rootfs, container_env):
    """``run_in_busybox("sh", "-c", "...", options=["-u", "app"])``: ``dockpy run --rm`` on the busybox root."""

    def run(*command: str, options=(), remove=True, input=None):
        flags = ["--rm"] if remove else []
        return dockpy("run", *flags, *options, "--rootfs", str(busybox_rootfs), *command, input=input)

    return run


@pytest.fixture(scope="session")
def busybox_tar(busybox_rootfs, tmp_path_factory) -> Path:
    """The busybox rootfs as a layer tar, made once per session."""
    from dockpy.layers.tarwriter import write_layer_tar

    path = tmp_path_factory.mktemp("busybox-tar") / "busybox.tar"
    with open(path, "wb") as out:
        write_layer_tar(busybox_rootfs, out)
    return path


@pytest.fixture
def busybox_image(storage_root, busybox_tar, container_env) -> str:
    """``busybox:latest`` imported into this test's storage root."""
    from dockpy.image.rootfs_archive import import_rootfs
    from dockpy.image.store import ImageStore

    with ImageStore(storage_root) as store, open(busybox_tar, "rb") as tar:
        import_rootfs(store, tar, "busybox:latest", source="busybox-static")
    return "busybox:latest"


def container_cgroups(parent: str) -> list[str]:
    """The container cgroups under ``parent`` in every hierarchy of this host (the leak check's view)."""
    from dockpy.runtime.namespace.cgroups import detect_layout

    layout = detect_layout()
    hierarchies = set(layout.v1.values()) | ({layout.unified} if layout.unified else set())
    return [entry.path for hierarchy in hierarchies if os.path.isdir(f"{hierarchy}/{parent}")
            for entry in os.scandir(f"{hierarchy}/{parent}") if entry.is_dir()]
