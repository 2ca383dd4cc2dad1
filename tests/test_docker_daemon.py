"""The test dockerd (tests/docker_daemon.py) keeps off the host: its network, cgroups, /etc and /run stay as they were.

Each test starts its own daemon so that it can compare the host before, during and after (in a
short directory from tmp_path_factory: its containerd's socket paths must fit in 108 bytes).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess

import pytest

from tests.docker_daemon import DockerDaemon, docker_is_installed, mounts_under, processes_naming

pytestmark = [
    pytest.mark.skipif(not docker_is_installed(), reason="dockerd is not installed (Debian package docker.io)"),
    pytest.mark.skipif(os.geteuid() != 0, reason="dockerd needs root"),
]


def host_state() -> dict:
    """What dockerd would change on the host if its flags or its private mount namespace did not hold it back."""
    return {
        "interfaces": sorted(os.listdir("/sys/class/net")),
        "docker cgroups": sorted(glob.glob("/sys/fs/cgroup/docker*") + glob.glob("/sys/fs/cgroup/*/docker*")),
        "/etc/docker": sorted(os.listdir("/etc/docker")) if os.path.isdir("/etc/docker") else None,
        "/run/docker": os.path.exists("/run/docker"),
        "ip_forward": open("/proc/sys/net/ipv4/ip_forward").read(),
        "iptables": _iptables_rules(),
    }


def _iptables_rules() -> list[str]:
    if shutil.which("iptables") is None:
        return []
    listings = [subprocess.run(["iptables", "-t", table, "-S"], capture_output=True, text=True)
                for table in ("filter", "nat")]
    return [listing.stdout for listing in listings]


def test_a_running_daemon_leaves_the_hosts_network_cgroups_and_files_alone(tmp_path_factory):
    before = host_state()
    daemon = DockerDaemon(tmp_path_factory.mktemp("dockerd"))
    try:
        during = host_state()
        mounts_seen_by_the_host = mounts_under(daemon.directory)
    finally:
        daemon.stop()
    assert during == before == host_state()
    assert mounts_seen_by_the_host == []


def test_a_stopped_daemon_leaves_no_process_mount_or_directory(tmp_path_factory):
    daemon = DockerDaemon(tmp_path_factory.mktemp("dockerd"))
    assert processes_naming(daemon.directory)  # dockerd and its containerd, while it runs
    daemon.stop()
    assert processes_naming(daemon.directory) == []
    assert mounts_under(daemon.directory) == []
    assert not daemon.directory.exists()


def test_a_daemon_that_cannot_start_fails_with_its_log(tmp_path_factory, monkeypatch):
    monkeypatch.setattr("tests.docker_daemon.DOCKERD_BINARY", "/bin/false")
    directory = tmp_path_factory.mktemp("dockerd")
    with pytest.raises(RuntimeError, match="exited with 1"):
        DockerDaemon(directory)
    assert processes_naming(directory) == []
