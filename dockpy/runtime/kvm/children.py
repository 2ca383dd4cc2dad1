"""Starting the helper processes of a microVM (QEMU, virtiofsd) so that none can outlive dockpy.

Each child gets ``PR_SET_PDEATHSIG = SIGKILL``: when the dockpy process that
started it dies, however it dies (an exception, Ctrl-C, ``kill -9``), the
kernel kills the child. The prctl is per parent *thread*, so a VM must be
waited for by the thread that started it (``KvmBackend.run`` blocks, so it is).
Each child also gets its own process group, so a Ctrl-C on dockpy's terminal
reaches dockpy (which then stops the VM in order) and not QEMU directly;
except QEMU with a terminal, which puts the tty in raw mode (Ctrl-C is then a
byte for the guest) and must be in the terminal's foreground group to do so.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Callable, Sequence

from dockpy import linux


def find_program(name: str) -> str | None:
    """``name``'s path on ``$PATH``, as ``shutil.which`` finds it, without importing ``shutil``
    (with ``bz2`` and ``lzma``, ~3.5 ms of every ``run --isolation kvm`` before QEMU's start)."""
    for directory in os.environ.get("PATH", os.defpath).split(os.pathsep):
        path = os.path.join(directory or os.curdir, name)
        if os.access(path, os.X_OK) and not os.path.isdir(path):
            return path
    return None


def spawn(
    argv: Sequence[str],
    *,
    cwd: str | os.PathLike,
    stdin=subprocess.DEVNULL,
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
    pass_fds: Sequence[int] = (),
    prepare: Callable[[], None] | None = None,
    own_process_group: bool = True,
) -> subprocess.Popen:
    """Start ``argv``; ``prepare`` runs in the child before exec (e.g. to set up a mount namespace).

    A child that drives dockpy's terminal (QEMU with ``-t``) must stay in dockpy's
    foreground process group, or the kernel stops it (SIGTTOU) when it sets raw mode.
    """
    parent = os.getpid()

    def in_child() -> None:
        linux.set_parent_death_signal(signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the prctl took effect
            os._exit(1)
        if prepare is not None:
            prepare()

    return subprocess.Popen(
        list(argv),
        cwd=cwd,
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        pass_fds=tuple(pass_fds),
        preexec_fn=in_child,
        process_group=0 if own_process_group else None,
    )


def end_in_background(process: subprocess.Popen) -> None:
    """SIGKILL ``process`` if it still runs, and let a thread collect it (and drain its pipes).

    A killed process runs no more code, but the kernel takes a while to tear
    it down (~20 ms for a QEMU and its guest's memory, the same for a
    virtiofsd and its threads) before its parent can reap it: the caller
    need not wait for that.
    """
    if process.poll() is None:
        process.kill()
        threading.Thread(target=process.communicate, name="reaper", daemon=True).start()


def kill_and_reap(process: subprocess.Popen) -> None:
    """SIGKILL ``process`` if it still runs, and collect its exit status."""
    if process.poll() is None:
        process.kill()
    process.wait()
