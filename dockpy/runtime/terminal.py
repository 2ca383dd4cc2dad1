"""``-t``: a pseudo-terminal for the container, and the relay between it and the user.

dockpy keeps the master end; the slave becomes the program's stdin, stdout,
stderr, controlling terminal and /dev/console. While the container runs,
bytes go both ways between the master and dockpy's own stdio (the user's
terminal, in raw mode so Ctrl-C reaches the container as a byte), and the
window size follows the user's terminal. The relay ends when the master
reports EIO: every holder of the slave is gone.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import select
import signal
import struct
import termios
import tty

from dockpy.runtime.stdio import Terminal

CHUNK = 65536


def open_terminal() -> tuple[int, Terminal]:
    """A new pty: (master fd, the slave as the backend takes it)."""
    master, slave = os.openpty()
    return master, Terminal(slave, os.ttyname(slave))


def relay(master: int, stdin: int | None, stdout: int) -> None:
    """Copy ``stdin`` (None: not attached) to the master and the master to ``stdout`` until the pty closes."""
    with _raw_mode(stdin), _window_size_follows(stdin, master):
        sources = [master] + ([stdin] if stdin is not None else [])
        while True:
            readable, _, _ = select.select(sources, [], [])
            if master in readable and not _copy(master, stdout):
                return
            if stdin is not None and stdin in readable and not _copy(stdin, master):
                sources.remove(stdin)  # EOF on the user's side: keep showing output


def copy_until_closed(master: int, output: int) -> None:
    """The detached form of ``relay``: the terminal's output goes to the log."""
    while _copy(master, output):
        pass


def _copy(source: int, target: int) -> bool:
    """Move one chunk; False at EOF (or EIO, which is how a pty master says the slave closed)."""
    try:
        data = os.read(source, CHUNK)
    except OSError as error:
        if error.errno == errno.EIO:
            return False
        raise
    if not data:
        return False
    while data:
        data = data[os.write(target, data):]
    return True


@contextlib.contextmanager
def _raw_mode(fd: int | None):
    if fd is None or not os.isatty(fd):
        yield
        return
    saved = termios.tcgetattr(fd)
    tty.setraw(fd)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


@contextlib.contextmanager
def _window_size_follows(user_terminal: int | None, master: int):
    if user_terminal is None or not os.isatty(user_terminal):
        yield
        return

    def copy_size(*_):
        size = fcntl.ioctl(user_terminal, termios.TIOCGWINSZ, struct.pack("HHHH", 0, 0, 0, 0))
        fcntl.ioctl(master, termios.TIOCSWINSZ, size)

    copy_size()
    previous = signal.signal(signal.SIGWINCH, copy_size)
    try:
        yield
    finally:
        signal.signal(signal.SIGWINCH, previous)
