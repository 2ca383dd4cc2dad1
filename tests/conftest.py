"""Fixtures every test package shares.

Tests never touch the host's real dockpy state: each gets its own storage
root under pytest's tmp_path. Tests that need privileges or kernel features
skip with a reason that names what is missing.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from hypothesis import settings

from dockpy.root import StorageRoot

# Property tests judge behaviour, not speed: a loaded CI machine must not fail them on
# hypothesis's per-example deadline.
settings.register_profile("dockpy", deadline=None)
settings.load_profile("dockpy")

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


def pytest_collection_finish(session):
    """Importing ``dockpy.cli`` (as the cli tests' modules do) pauses the cycle collector for the program's
    start; this process is no dockpy command: it gets its collector back, as ``main(argv)`` gives it back."""
    from dockpy import collector

    collector.resume(leave_out_what_exists=False)


@pytest.fixture
def storage_root(tmp_path, monkeypatch) -> StorageRoot:
    """A fresh, empty storage root; DOCKPY_ROOT points at it for CLI calls."""
    root = StorageRoot(tmp_path / "dockpy-root").create()
    monkeypatch.setenv("DOCKPY_ROOT", str(root.path))
    return root


@pytest.fixture(autouse=True, scope="session")
def private_cache_home(tmp_path_factory):
    """dockpy's user cache (the Dockerfile parser's tables) lives in a temporary dir, not the host's ~/.cache.

    Set in the environment, so the dockpy processes tests start use it too.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
        yield


@pytest.fixture(autouse=True, scope="session")
def cgroup_parent():
    """A cgroup parent unique to this test session, for every container the tests start; removed and
    checked empty at the end.

    Set in the environment, so the builds that tests run in-process and the
    dockpy processes they start use it too: no test makes a cgroup under the
    host's own ``dockpy`` parent.
    """
    parent = f"dockpy-test-{uuid.uuid4().hex[:8]}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOCKPY_CGROUP_PARENT", parent)
        yield parent
    if os.geteuid() == 0:
        from dockpy.runtime.namespace import cgroups

        layout = cgroups.detect_layout()
        leftovers = _cgroup_children(layout, parent)
        cgroups.remove_parent(layout, parent)
        assert not leftovers, f"cgroups left behind by the tests: {leftovers}"


# What peer tools create on a host when they are not kept off it (tests/peer_isolation.py says how the tests do).
PEER_TOOL_HOST_PATHS = ("/var/lib/containers", "/sys/fs/cgroup/memory/libpod_parent", "/sys/fs/cgroup/memory/docker")


@pytest.fixture(autouse=True, scope="session")
def peer_tools_leave_the_host_alone():
    """skopeo, podman, buildah and dockerd, which some tests start, create none of these host paths.

    Each is checked only if it was absent when the session began: a host
    that already has them (a real podman or Docker user's) is left as it is.
    """
    absent = [path for path in PEER_TOOL_HOST_PATHS if not os.path.exists(path)]
    yield
    created = [path for path in absent if os.path.exists(path)]
    assert not created, f"peer tools wrote to the host during the tests: {created}"


def _cgroup_children(layout, parent: str) -> list[str]:
    children = []
    for mount_point in set(layout.v1.values()) | ({layout.unified} if layout.unified else set()):
        directory = os.path.join(mount_point, parent)
        if os.path.isdir(directory):
            children += [os.path.join(directory, entry.name) for entry in os.scandir(directory) if entry.is_dir()]
    return children


@pytest.fixture(autouse=True)
def host_dev_null_stays_a_device(request):
    """Guard the host: a test after which /dev/null is no longer the null device fails, by name.

    (A container or build step that escaped its mount namespace would show up here first.)
    """
    yield
    mode = os.stat("/dev/null").st_mode
    if not stat.S_ISCHR(mode):
        if os.geteuid() == 0:  # put the host back before anything else writes into a regular file
            os.unlink("/dev/null")
            os.mknod("/dev/null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
            os.chmod("/dev/null", 0o666)
        pytest.fail(f"{request.node.nodeid} left /dev/null as a {stat.filemode(mode)} file, not the null device")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared (design, conformance data); tests that need it skip without it."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent: the shared conformance data is not checked out beside the repo")
    return SHARED


@pytest.fixture(scope="session")
def conformance_dir(shared_dir) -> Path:
    path = shared_dir / "conformance"
    if not path.is_dir():
        pytest.skip(f"{path} is absent")
    return path


@pytest.fixture(scope="session")
def registry_address(tmp_path_factory) -> str:
    """``127.0.0.1:PORT`` of a docker-registry started for this session (filesystem storage in a temp dir)."""
    from tests.registry_server import REGISTRY_BINARY, LocalRegistry

    if REGISTRY_BINARY is None:
        pytest.skip("docker-registry is not installed (Debian package docker-registry)")
    registry = LocalRegistry(tmp_path_factory.mktemp("registry"))
    yield registry.address
    registry.stop()


@pytest.fixture(scope="session")
def docker_daemon(tmp_path_factory):
    """A dockerd started for this session (everything under a temp dir, host network untouched); stopped at its end.

    Started only when a test asks for it; the stop checks that no process and no mount of it is left.
    """
    from tests.docker_daemon import DockerDaemon, docker_is_installed

    if not docker_is_installed():
        pytest.skip("dockerd is not installed (Debian package docker.io: /usr/sbin/dockerd and /usr/bin/docker)")
    if os.geteuid() != 0:
        pytest.skip("dockerd needs root")
    daemon = DockerDaemon(tmp_path_factory.mktemp("dockerd"))
    yield daemon
    daemon.stop()


requires_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (mounts, namespaces, device nodes)")


def run_dockpy(*args: str, input: bytes | None = None, check: bool = False, env: dict | None = None, timeout=120):
    """Run the ``dockpy`` command as a user would, in a subprocess; returns CompletedProcess (text)."""
    completed = subprocess.run(
        [sys.executable, "-m", "dockpy", *args],
        input=input,
        capture_output=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )
    result = subprocess.CompletedProcess(
        completed.args,
        completed.returncode,
        completed.stdout.decode(errors="replace"),
        completed.stderr.decode(errors="replace"),
    )
    if check and result.returncode != 0:
        raise AssertionError(f"dockpy {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result


@pytest.fixture
def dockpy():
    """The ``run_dockpy`` helper as a fixture: ``dockpy("images", "--format", "json")``."""
    return run_dockpy
