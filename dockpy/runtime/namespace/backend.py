"""The namespace backend: runs a ContainerSpec in new Linux namespaces on an overlay root.

The process tree, and why::

    dockpy (child subreaper)
      └─ intermediate: unshares mnt/uts/ipc/net/pid, forks, exits
           └─ PID 1 of the new pid namespace: builds the root, waits until dockpy has moved
              it into the cgroup, unshares the cgroup namespace, drops privileges, execs

unshare(CLONE_NEWPID) moves only the *children* of the caller into the new
namespace, hence the intermediate process. It reports its child's pid and
exits; being a child subreaper, dockpy inherits the container's PID 1 and can
wait for it directly. Everything happens in forked copies of dockpy: no second
interpreter starts, which keeps ``dockpy run --rm IMAGE true`` fast.

Moving a process into a v1 cgroup waits for an RCU grace period (10-20 ms
here), most of a container's start. dockpy does it while PID 1 builds the
root, and PID 1 waits for it only before the cgroup namespace and the
program: that namespace's root must be the container's cgroup. ``run``
starts that wait earlier still (``prepare_start``).
"""

from __future__ import annotations

import os
import signal
from collections import namedtuple
from collections.abc import Callable

from dockpy import linux
from dockpy.errors import ContainerSetupError
from dockpy.runtime.namespace import cgroups
from dockpy.runtime.namespace.execution import (
    EXIT_SETUP_FAILED,
    ProcessStartError,
    exec_prepared,
    exit_reporting_failure,
    prepare_process,
    read_status,
)
from dockpy.runtime.namespace.reaper import exit_code_of
from dockpy.runtime.spec import ContainerSpec, Process

# The namespaces the intermediate unshares for every container; the network one only with --network none,
# the cgroup one PID 1 unshares itself once it is in the container's cgroup.
CONTAINER_NAMESPACES = linux.CLONE_NEWNS | linux.CLONE_NEWUTS | linux.CLONE_NEWIPC | linux.CLONE_NEWPID
# What dockpy writes once the child is in its cgroup (EOF alone means that failed).
PLACED = b"p"
# /proc/<pid>/ns/* joined by exec, in setns order: the mount namespace last, as it changes our root.
EXEC_NAMESPACES = ("ipc", "uts", "net", "pid", "cgroup", "mnt")


class Terminal(namedtuple("Terminal", "fd path")):
    """A pseudo-terminal's slave end (``-t``): the program's stdio and controlling tty, and /dev/console.

    ``fd`` is the slave's descriptor in dockpy, ``path`` its /dev/pts name.
    (The records here are namedtuples, as the spec's: see ``dockpy.runtime.spec``.)
    """

    __slots__ = ()


class Stdio(namedtuple("Stdio", "stdin stdout stderr terminal", defaults=(0, 1, 2, None))):
    """Host file descriptors that become the program's stdin, stdout and stderr (unless ``terminal``, a ``Terminal``)."""

    __slots__ = ()


class ContainerProcess:
    """A started program: its pid on the host and, for a container's PID 1, the cgroup to remove after it."""

    __slots__ = ("pid", "cgroup", "lifeline")

    def __init__(self, pid: int, cgroup: cgroups.ContainerCgroup | None = None, lifeline: int | None = None):
        self.pid = pid
        self.cgroup = cgroup
        self.lifeline = lifeline

    def wait(self) -> int:
        """Wait for the exit; the exit code, 128+N for signal N. Removes the container's cgroup."""
        _, status = os.waitpid(self.pid, 0)
        if self.lifeline is not None:
            os.close(self.lifeline)
            self.lifeline = None
        if self.cgroup is not None:
            self.cgroup.remove()
        return exit_code_of(status)

    def send_signal(self, signum: int) -> None:
        try:
            os.kill(self.pid, signum)
        except ProcessLookupError:
            pass  # it exited; wait() collects the status


class NamespaceBackend:
    """Executes container specs with namespaces, an overlay root and cgroups on this host."""

    name = "namespace"

    def __init__(self, cgroup_parent: str | None = None):
        self.cgroup_parent = cgroup_parent or cgroups.parent_from_environment()
        self._layout: cgroups.CgroupLayout | None = None

    @property
    def cgroup_layout(self) -> cgroups.CgroupLayout:
        if self._layout is None:
            self._layout = cgroups.detect_layout()
        return self._layout

    def prepare_start(self) -> None:
        """A container will start soon: begin what its start would wait for (``cgroups.warm_up_attach``)."""
        if os.geteuid() == 0:
            cgroups.warm_up_attach(self.cgroup_layout)

    def check_preconditions(self) -> None:
        """Name the missing precondition before any work (crun's habit)."""
        if os.geteuid() != 0:
            raise ContainerSetupError("the namespace runtime needs root (mounts, namespaces, cgroups)")

    def start(self, spec: ContainerSpec, stdio: Stdio, *, die_with_caller: bool = False) -> ContainerProcess:
        """Start the container; returns once its program was exec'd, raises if that failed.

        ``die_with_caller``: the container is killed when this process dies,
        however it dies (a build's RUN step must not outlive a killed build;
        a ``dockpy run`` container, like Docker's, outlives its client).
        """
        self.check_preconditions()
        cgroup = cgroups.create_cgroup(self.cgroup_layout, self.cgroup_parent, spec.id, spec.resources)
        namespaces = CONTAINER_NAMESPACES | (linux.CLONE_NEWNET if spec.network == "none" else 0)
        terminal = stdio.terminal

        # Imported before the fork: in the forked PID 1 the import costs twice as much (each page it
        # touches is copied first), and after pivot_root it could not import at all.
        from dockpy.runtime.namespace.pid1 import start_container

        def enter_container() -> None:
            linux.unshare(namespaces)

        def run_pid1(status_fd: int, wait_until_placed: Callable[[], Callable[[], None]]) -> None:
            start_container(spec, status_fd, wait_until_placed,
                            terminal.fd if terminal else None, terminal.path if terminal else None)

        try:
            pid, lifeline = _spawn(enter_container, run_pid1, stdio, place=cgroup.join, die_with_caller=die_with_caller)
            return ContainerProcess(pid, cgroup, lifeline)
        except BaseException:
            cgroup.remove()
            raise

    def exec(self, container_pid: int, cgroup: cgroups.ContainerCgroup | None, process: Process, stdio: Stdio) -> ContainerProcess:
        """Run ``process`` inside the running container whose PID 1 is ``container_pid`` (setns)."""
        self.check_preconditions()
        namespace_fds = _open_namespaces(container_pid)
        terminal_fd = stdio.terminal.fd if stdio.terminal else None

        def enter_container() -> None:
            for fd in namespace_fds:
                linux.setns(fd)

        def run_program(status_fd: int, wait_until_placed: Callable[[], Callable[[], None]]) -> None:
            wait_until_placed()
            exec_prepared(prepare_process(process), status_fd, terminal_fd)

        try:
            return ContainerProcess(_spawn(enter_container, run_program, stdio, place=cgroup.join if cgroup else None)[0])
        finally:
            for fd in namespace_fds:
                os.close(fd)


def _spawn(enter: Callable[[], None], run_child: Callable[[int, Callable[[], None]], None], stdio: Stdio,
           place: Callable[[int], None] | None = None, die_with_caller: bool = False) -> tuple[int, int | None]:
    """Fork an intermediate that runs ``enter`` and forks ``run_child``; the grandchild's host pid and lifeline.

    ``run_child(status_fd, wait_until_placed)`` runs while dockpy calls
    ``place(pid)`` on it (from the host's namespaces, which the intermediate
    and the child leave), and calls ``wait_until_placed()`` before anything
    that needs that done. With ``die_with_caller`` the child is tied to this
    process (see ``_die_with_caller``) and the lifeline is the pipe end
    dockpy keeps open until the child has exited; otherwise None.
    """
    status_read, status_write = os.pipe()
    pid_read, pid_write = os.pipe()
    placed_read, placed_write = os.pipe()
    linux.prctl(linux.PR_SET_CHILD_SUBREAPER, 1)
    intermediate = os.fork()
    if intermediate == 0:
        for fd in (status_read, pid_read, placed_write):
            os.close(fd)
        exit_reporting_failure(
            status_write,
            lambda: _intermediate(enter, run_child, stdio, status_write, pid_write, placed_read, die_with_caller),
        )
    for fd in (status_write, pid_write, placed_read):
        os.close(fd)
    os.waitpid(intermediate, 0)
    with os.fdopen(pid_read, "rb") as pid_pipe:
        pid_text = pid_pipe.read()
    child = int(pid_text) if pid_text else None
    _place_and_release(child, place, placed_write, status_read)
    failure = read_status(status_read)
    if failure is not None or not die_with_caller:
        os.close(placed_write)
    if failure is not None:
        if child is not None:
            os.waitpid(child, 0)
        raise _start_error(*failure)
    return child, placed_write if die_with_caller else None


def _place_and_release(child: int | None, place: Callable[[int], None] | None, placed_fd: int, status_fd: int) -> None:
    """``place(child)``, then let the child go on; if placing fails, the child exits and dockpy raises."""
    try:
        if child is not None and place is not None:
            place(child)
        if child is not None:
            _release(placed_fd)
    except BaseException:
        os.close(placed_fd)
        os.close(status_fd)
        os.waitpid(child, 0)
        raise


def _release(placed_fd: int) -> None:
    try:
        os.write(placed_fd, PLACED)
    except BrokenPipeError:
        pass  # the child failed before it waited (placing a zombie succeeds): its status pipe says why


def _intermediate(enter, run_child, stdio: Stdio, status_fd: int, pid_fd: int, placed_fd: int,
                  die_with_caller: bool) -> None:
    _redirect_stdio(stdio)
    enter()
    child = os.fork()
    if child == 0:
        os.close(pid_fd)
        exit_reporting_failure(
            status_fd, lambda: run_child(status_fd, lambda: _wait_until_placed(placed_fd, die_with_caller))
        )
    os.write(pid_fd, str(child).encode())


def _wait_until_placed(placed_fd: int, die_with_caller: bool) -> Callable[[], None]:
    """Block until dockpy has placed this process; if placing failed, dockpy reports why: just exit.

    Returns what ties this process to dockpy, to be called after the last
    credential change (which clears a parent-death signal): a no-op unless
    ``die_with_caller``.
    """
    placed = os.read(placed_fd, len(PLACED))
    if placed != PLACED:
        os._exit(EXIT_SETUP_FAILED)
    if not die_with_caller:
        os.close(placed_fd)
        return lambda: None
    return lambda: _die_with_caller(placed_fd)


def _die_with_caller(placed_fd: int) -> None:
    """SIGKILL this process when dockpy dies; exit now if it already has.

    dockpy places the child only after reaping the intermediate, so dockpy (a
    child subreaper) is the parent by now and the parent-death signal is tied
    to dockpy itself. If dockpy died before the signal was set, its end of
    the pipe is closed: the hang-up says so.
    """
    import select  # imported here: only a build's RUN steps ask for the tie

    linux.set_parent_death_signal(signal.SIGKILL)
    poller = select.poll()
    poller.register(placed_fd, select.POLLIN)
    if poller.poll(0):  # dockpy writes nothing more: any event is the hang-up
        os._exit(EXIT_SETUP_FAILED)
    os.close(placed_fd)


def _redirect_stdio(stdio: Stdio) -> None:
    if stdio.terminal is not None:
        return  # the program's stdio will be the terminal (login_tty right before exec)
    copies = [os.dup(fd) for fd in (stdio.stdin, stdio.stdout, stdio.stderr)]
    for target, fd in enumerate(copies):
        os.dup2(fd, target)
        os.close(fd)


def _open_namespaces(pid: int) -> list[int]:
    fds = []
    try:
        for name in EXEC_NAMESPACES:
            fds.append(os.open(f"/proc/{pid}/ns/{name}", os.O_RDONLY | os.O_CLOEXEC))
    except OSError as error:
        for fd in fds:
            os.close(fd)
        raise ContainerSetupError(f"open namespaces of process {pid}: {error.strerror}", hint="Is the container running?") from error
    return fds


def _start_error(code: int, message: str) -> Exception:
    if code == EXIT_SETUP_FAILED:
        return ContainerSetupError(message)
    return ProcessStartError(message, code)

