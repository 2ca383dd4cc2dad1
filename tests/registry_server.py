"""Debian's docker-registry on 127.0.0.1, for tests and benchmarks.

Runs on a free port with filesystem storage in a directory the caller owns;
``stop()`` ends it. Nothing outside that directory is touched.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx

REGISTRY_BINARY = shutil.which("docker-registry")
STARTUP_SECONDS = 15

_CONFIG = """\
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalRegistry:
    """A running docker-registry; ``address`` is ``127.0.0.1:PORT``."""

    def __init__(self, directory: Path):
        if REGISTRY_BINARY is None:
            raise FileNotFoundError("docker-registry is not installed (Debian package docker-registry)")
        port = free_port()
        config = directory / "config.yml"
        config.write_text(_CONFIG.format(storage=directory / "storage", port=port))
        self.address = f"127.0.0.1:{port}"
        self.storage = directory / "storage"
        # A file, not a pipe: nobody reads a pipe while the registry runs, and one full of the error
        # lines it logs for every 404 (a blob or manifest not there yet) blocks it mid-request.
        self._log = directory / "registry.log"
        with open(self._log, "wb") as log:
            self._process = subprocess.Popen([REGISTRY_BINARY, "serve", str(config)], stdout=subprocess.DEVNULL,
                                             stderr=log)
        try:
            self._wait_until_serving()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=10)

    def cpu_seconds(self) -> float:
        """User and system CPU time the registry process has used so far (benchmarks weigh its work)."""
        fields = Path(f"/proc/{self._process.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def _wait_until_serving(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"docker-registry exited: {self._log.read_text(errors='replace')}")
            try:
                if httpx.get(f"http://{self.address}/v2/", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError(f"docker-registry did not start within {STARTUP_SECONDS} s")
