"""A running microVM's directory, ``<root>/kvm/run/<container id>/``: how other dockpy processes reach it.

::

    qemu.pid      QEMU's pid (``dockpy stop``/``kill`` from another process find the VM here)
    control.in    FIFO: a line with a signal name is forwarded by the guest's /init to the process
    control.out   FIFO: the guest writes ``exit N sent STDOUT STDERR`` (or ``error MESSAGE``) here when its
                  process ends; the run that started QEMU reads it (``open_status``) as it comes
    console.log   the guest kernel's console, for error messages
    fs*.sock      virtiofsd sockets (relative names: unix socket paths are limited to 108 bytes)

QEMU and virtiofsd run with this directory as their working directory; that
is also how a pid is told apart from a recycled one. The directory is removed
when the VM ends.
"""

from __future__ import annotations

import os
import signal
import time
from collections import namedtuple

from dockpy.runtime.containers import remove_container_directory

PID_FILE = "qemu.pid"
# The guest's control port (``qemu.py``), a QEMU pipe chardev: it reads CONTROL.in and writes CONTROL.out.
CONTROL = "control"
SIGNAL_FIFO = f"{CONTROL}.in"
STATUS_FILE = f"{CONTROL}.out"
CONSOLE_LOG = "console.log"


class RunDirectory(namedtuple("RunDirectory", "path")):
    """``path``: the VM's directory (a Path); a namedtuple, as the records in ``qemu.py``."""

    __slots__ = ()

    def create(self) -> "RunDirectory":
        self.remove()  # left over by a crash of the host itself
        self.path.mkdir(parents=True)
        # QEMU opens both ends of the pipe chardev, creating neither, and each read-write: it needs no peer
        os.mkfifo(self.path / SIGNAL_FIFO, 0o600)
        os.mkfifo(self.path / STATUS_FILE, 0o600)
        return self

    def remove(self) -> None:
        """The directory and its files, removed as a container's directory is (without ``shutil``)."""
        remove_container_directory(str(self.path))

    def record_pid(self, pid: int) -> None:
        (self.path / PID_FILE).write_text(f"{pid}\n")

    def running_pid(self) -> int | None:
        """QEMU's pid if the VM of this directory is still running, else None."""
        try:
            pid = int((self.path / PID_FILE).read_text())
            if os.readlink(f"/proc/{pid}/cwd") == str(self.path):
                return pid
        except (OSError, ValueError):
            pass
        return None

    def is_stale(self, age_seconds: float) -> bool:
        """No VM runs here and the directory is older than ``age_seconds`` (so it is not just being set up)."""
        try:
            age = time.time() - self.path.stat().st_mtime
        except FileNotFoundError:
            return False
        return age > age_seconds and self.running_pid() is None

    def send_signal(self, signum: int) -> bool:
        """Ask the guest's /init to deliver ``signum`` to the container's process; False if the VM is gone."""
        try:
            name = signal.Signals(signum).name.removeprefix("SIG")
        except ValueError:  # a real-time signal (SIGRTMIN+3) has no name here: the guest's kill takes its number
            name = str(signum)
        try:
            fd = os.open(self.path / SIGNAL_FIFO, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # no reader: QEMU has exited
            return False
        try:
            os.write(fd, f"{name}\n".encode())
        finally:
            os.close(fd)
        return True

    def open_status(self) -> "StatusPipe":
        """The guest's report, to wait for: open before QEMU starts, so nothing it writes goes unread."""
        return StatusPipe(os.open(self.path / STATUS_FILE, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC))

    def console_tail(self, lines: int = 5) -> str:
        try:
            text = (self.path / CONSOLE_LOG).read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return " | ".join(line.strip() for line in text.splitlines()[-lines:] if line.strip())


class StatusPipe:
    """Our end of ``control.out``, a FIFO: ``fd`` turns readable as the report arrives (no polling).

    Opened read-write, so that it never reads as ended (QEMU, the other
    writer, may open it after us and exits before us).
    """

    def __init__(self, fd: int):
        self.fd = fd
        self._received = b""

    def take(self) -> str:
        """Read what has arrived; the report once it is complete (a line: QEMU may write it in pieces), else ""."""
        try:
            self._received += os.read(self.fd, 4096)
        except BlockingIOError:
            pass
        return self.report

    @property
    def report(self) -> str:
        return self._received.decode(errors="replace").strip() if self._received.endswith(b"\n") else ""

    def close(self) -> None:
        os.close(self.fd)
