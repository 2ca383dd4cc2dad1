"""Debian's dockerd (docker.io 20.10) for the tests that need a real Docker engine.

Everything the daemon writes lives in one directory the caller owns: data
root, exec root (where dockerd keeps the config, state and socket of the
containerd it starts), pidfile, log and API socket. Its flags keep it off the
host's network: no bridge, no iptables rules, no IP forwarding or masquerading.

dockerd 20.10 also writes outside its directories whatever its flags say: a
trust key to /etc/docker/key.json and a plugin directory /run/docker/plugins,
and it would use a system containerd it finds at /run/containerd. So it runs
in a private mount namespace with tmpfs over /run and /etc/docker: those
writes land in the tmpfs, and with no system containerd in sight it supervises
its own. The mounts it makes (a bind mount of its data root, overlay layers)
live in that namespace too and vanish with it. The tests load and save images
with it; bench/build_bench.py also builds with BuildKit in it, whose RUN steps
are runc containers started inside that namespace (with ``--network none``
they need no bridge).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from dockpy import linux

DOCKERD_BINARY = shutil.which("dockerd", path="/usr/sbin:/usr/bin")
# Debian's CLI, the daemon's own version: an unrelated newer client may come first on PATH.
DOCKER_CLIENT = "/usr/bin/docker"
STARTUP_SECONDS = 60
STOP_SECONDS = 30
UNIX_SOCKET_PATH_MAX = 107  # sun_path holds 108 bytes, one of them the terminating NUL
# The longest socket path dockerd derives from its exec root: its containerd's ttrpc socket.
CONTAINERD_SOCKET = "containerd/containerd.sock.ttrpc"

_START = 'mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /etc/docker && exec "$0" "$@"'


def docker_is_installed() -> bool:
    return DOCKERD_BINARY is not None and os.access(DOCKER_CLIENT, os.X_OK)


class DockerDaemon:
    """A running dockerd; ``command`` is the docker CLI that talks to it (``[*command, "load", ...]``)."""

    def __init__(self, directory: Path):
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.socket = directory / "docker.sock"
        self.log = directory / "dockerd.log"
        self._exec_root = directory / "run"
        _check_socket_paths_fit(self.socket, self._exec_root / CONTAINERD_SOCKET)
        self.command = [DOCKER_CLIENT, "--config", str(directory / "client"), "--host", f"unix://{self.socket}"]
        with open(self.log, "wb") as log:
            self._process = subprocess.Popen(self._daemon_command(), stdin=subprocess.DEVNULL, stdout=log,
                                             stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self._wait_until_answering()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """End the daemon and whatever it started, then prove nothing of it is left and remove its directory."""
        _end_process(self._process)
        leftovers = processes_naming(self.directory)
        for pid in leftovers:
            _kill_and_reap(pid)
        unmount_everything_under(self.directory)
        still_there = processes_naming(self.directory), mounts_under(self.directory)
        if leftovers or any(still_there):
            raise RuntimeError(f"dockerd left behind processes {leftovers} (killed); still there: {still_there}")
        shutil.rmtree(self.directory)

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def _daemon_command(self) -> list[str]:
        daemon = [DOCKERD_BINARY, "--data-root", str(self.directory / "data"), "--exec-root", str(self._exec_root),
                  "--pidfile", str(self.directory / "dockerd.pid"), "--host", f"unix://{self.socket}",
                  "--iptables=false", "--ip6tables=false", "--ip-forward=false", "--ip-masq=false", "--bridge=none"]
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c", _START, *daemon]

    def _wait_until_answering(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"dockerd exited with {self._process.returncode}:\n{self.log_tail()}")
            probe = subprocess.run([*self.command, "version", "--format", "{{.Server.Version}}"],
                                   capture_output=True, timeout=STARTUP_SECONDS)
            if probe.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"dockerd did not answer within {STARTUP_SECONDS} s:\n{self.log_tail()}")


def _check_socket_paths_fit(*paths: Path) -> None:
    for path in paths:
        if len(os.fsencode(path)) > UNIX_SOCKET_PATH_MAX:
            raise ValueError(f"{path} is longer than a unix socket path may be ({UNIX_SOCKET_PATH_MAX} bytes)")


def _end_process(process: subprocess.Popen) -> None:
    """SIGTERM (dockerd then stops its containerd), SIGKILL if it has not ended after STOP_SECONDS."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _kill_and_reap(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + STOP_SECONDS
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        time.sleep(0.05)


def processes_naming(directory: Path) -> list[int]:
    """Processes whose command line names ``directory``: dockerd, its containerd and any shim all do."""
    needle = os.fsencode(directory)
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as file:
                    if needle in file.read():
                        pids.append(int(entry))
            except OSError:
                continue
    return pids


def mounts_under(directory: Path) -> list[str]:
    """This mount namespace's mount points at or below ``directory``, deepest first."""
    prefix = str(directory)
    with open("/proc/self/mountinfo") as file:
        points = [line.split()[4] for line in file]
    inside = [point for point in points if point == prefix or point.startswith(prefix + "/")]
    return sorted(inside, key=len, reverse=True)


def unmount_everything_under(directory: Path) -> None:
    for point in mounts_under(directory):
        linux.umount(point, linux.MNT_DETACH)
