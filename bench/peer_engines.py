"""podman and Docker as benchmark peers, each on a private store under a scratch directory.

Neither touches the host's container state: podman reads a configuration
written here (through CONTAINERS_CONF, CONTAINERS_STORAGE_CONF and
CONTAINERS_REGISTRIES_CONF) that puts its storage, run root, temp dir, file
locks (not the shared /dev/shm/libpod_lock), event log and network config
under the directory, and the bench process has a /var/lib of its own
(``tests.peer_isolation.enter_private_var_lib``, entered by ``PodmanStore``)
for the blob-info cache containers/image writes there whatever the
configuration says; dockerd is started by tests/docker_daemon.py's
``DockerDaemon``, which keeps everything it writes in its directory and its
mounts in a private namespace. Their containers go into a cgroup parent the
benchmark names (``--cgroup-parent``), removed with everything under it by
``tests.peer_isolation.remove_cgroup_tree``.

This VM's root cannot raise rlimits above its hard limits, and podman asks
the runtime for nofile 1048576 by default: the configuration sets its
default ulimits to the hard limits, as ../shared/peers/05-configure.sh does.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
from pathlib import Path

from bench.harness import dockpy_command
from tests.docker_daemon import DockerDaemon, docker_is_installed, unmount_everything_under
from tests.peer_isolation import enter_private_var_lib, remove_cgroup_tree

# podman lowers its own NPROC hard limit to this at start-up, so asking for more fails (05-configure.sh).
PODMAN_NPROC_CEILING = 32768
PODMAN_NOFILE_CEILING = 1048576


def podman_is_installed() -> bool:
    """podman and the runtime it is configured with here (crun 1.8 refuses this VM's hybrid cgroup layout)."""
    return shutil.which("podman") is not None and shutil.which("runc") is not None


class PodmanStore:
    """A podman whose whole configuration and store live in ``directory``; ``env`` selects them."""

    def __init__(self, directory: Path):
        enter_private_var_lib()
        directory.mkdir(parents=True)
        self.directory = directory
        self.env = {
            "CONTAINERS_CONF": str(self._write("containers.conf", self._containers_conf())),
            "CONTAINERS_STORAGE_CONF": str(self._write("storage.conf", self._storage_conf())),
            # Short names resolve locally only: nothing here may reach a registry.
            "CONTAINERS_REGISTRIES_CONF": str(self._write("registries.conf", "unqualified-search-registries = []\n")),
        }

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["podman", *args], env={**os.environ, **self.env}, check=True, capture_output=True,
                              text=True)

    def load(self, archive: Path) -> None:
        self.run("load", "-q", "-i", str(archive))

    def version(self) -> str:
        return self.run("--version").stdout.split()[-1]

    def remove(self) -> None:
        """Unmount whatever its storage driver left mounted, then delete the directory."""
        unmount_everything_under(self.directory)
        shutil.rmtree(self.directory)

    def _write(self, name: str, text: str) -> Path:
        path = self.directory / name
        path.write_text(text)
        return path

    def _containers_conf(self) -> str:
        nofile, nproc = _hard_limit(resource.RLIMIT_NOFILE, PODMAN_NOFILE_CEILING), \
            _hard_limit(resource.RLIMIT_NPROC, PODMAN_NPROC_CEILING)
        for name in ("tmp", "network"):
            (self.directory / name).mkdir()
        return (f'[containers]\ndefault_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]\n'
                f'[network]\nnetwork_config_dir = "{self.directory / "network"}"\n'
                f'[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nlock_type = "file"\n'
                f'events_logger = "file"\nevents_logfile_path = "{self.directory / "events.log"}"\n'
                f'tmp_dir = "{self.directory / "tmp"}"\n')

    def _storage_conf(self) -> str:
        return (f'[storage]\ndriver = "overlay"\ngraphroot = "{self.directory / "storage"}"\n'
                f'runroot = "{self.directory / "run"}"\n')


def _hard_limit(limit: int, ceiling: int) -> int:
    hard = resource.getrlimit(limit)[1]
    return ceiling if hard == resource.RLIM_INFINITY else min(hard, ceiling)


def docker_version(command: list[str]) -> str:
    return subprocess.run([*command, "version", "--format", "{{.Server.Version}}"], check=True,
                          capture_output=True, text=True).stdout.strip()


def time_installed_engines(scratch: Path, env: dict, runs: int, podman_rows, docker_rows) -> list:
    """The image dockpy's rows use (busybox:latest), timed by the engines installed here.

    ``podman_rows(podman, parent, runs)`` gets a ``PodmanStore`` and
    ``docker_rows(docker, parent, runs)`` the CLI of a dockerd of its own,
    each holding the image as ``dockpy save`` writes it, and a cgroup parent
    of ours for their containers, removed with what the engines leave in it.
    """
    archive = scratch / "busybox.tar"
    subprocess.run(dockpy_command("save", "-o", str(archive), "busybox:latest"), check=True,
                   env={**os.environ, **env}, capture_output=True)
    parent = f"/dockpy-bench-peers-{os.getpid()}"
    timings = []
    try:
        if podman_is_installed():
            timings += _in_podman(scratch / "podman", archive, lambda podman: podman_rows(podman, parent, runs))
        if docker_is_installed():
            timings += _in_docker(scratch / "docker", archive, lambda docker: docker_rows(docker, parent, runs))
    finally:
        remove_cgroup_tree(parent.lstrip("/"))
    return timings


def _in_podman(directory: Path, archive: Path, rows) -> list:
    podman = PodmanStore(directory)
    try:
        podman.load(archive)
        return rows(podman)
    finally:
        podman.remove()


def _in_docker(directory: Path, archive: Path, rows) -> list:
    daemon = DockerDaemon(directory)
    try:
        subprocess.run([*daemon.command, "load", "-q", "-i", str(archive)], check=True, capture_output=True)
        return rows(daemon.command)
    finally:
        daemon.stop()
