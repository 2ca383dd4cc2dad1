"""The namespace backend: runs a ContainerSpec in new Linux namespaces on an overlay root.

The process tree, and why::

    dockpy: unshare(CLONE_NEWPID), fork, then back to its own pid namespace
      └─ PID 1 of the new pid namespace: unshares mnt/uts/ipc/net, builds the root, waits until
         dockpy has moved it into the cgroup, unshares the cgroup namespace, drops privileges, execs

unshare(CLONE_NEWPID) moves only the *children* of the caller into the new
namespace (``setns`` of a pid namespace, for ``exec``, likewise): dockpy
makes the namespace its next child's, forks the container's PID 1 straight
into it and returns to its own (``_fork_into``). No intermediate process
forks and exits on the way (a fork of dockpy costs ~1 ms and its copied
pages as much again). Everything happens in forked copies of dockpy: no
second interpreter starts, which keeps ``dockpy run --rm IMAGE true`` fast.

Moving a process into a v1 cgroup waits for an RCU grace period (10-20 ms
here), most of a container's start. dockpy does it while PID 1 builds the
root, and PID 1 waits for it only before the cgroup namespace and the
program: that namespace's root must be the container's cgroup. ``run``
starts that wait earlier still (``prepare_start``). The cgroup's directories
are made after the fork too: making one takes the kernel's cgroup mutex,
which that early move holds until its grace period ends, so dockpy waits for
it while PID 1 builds the root rather than before the fork (5-15 ms here).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

from dockpy import linux
from dockpy.errors import ContainerSetupError
from dockpy.runtime.namespace import cgroups
from dockpy.runtime.namespace.execution import (
    EXIT_SETUP_FAILED,
    ProcessStartError,
    describe_os_error,
    exec_prepared,
    exit_reporting_failure,
    prepare_process,
    read_status,
)
from dockpy.runtime.namespace.reaper import exit_code_of
from dockpy.runtime.spec import ContainerSpec, Process
from dockpy.runtime.stdio import Stdio

# The namespaces PID 1 unshares first for every container (the pid namespace it is forked into); the
# network one only with --network none, the cgroup one once it is in the container's cgroup.
CONTAINER_NAMESPACES = linux.CLONE_NEWNS | linux.CLONE_NEWUTS | linux.CLONE_NEWIPC
# What dockpy writes once the child is in its cgroup (EOF alone means that failed).
PLACED = b"p"
# /proc/<pid>/ns/* an exec'd process joins after its fork into the pid namespace, in setns order: the mount
# namespace last, as it changes our root.
EXEC_NAMESPACES = ("ipc", "uts", "net", "cgroup", "mnt")


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

    def start(self, spec: ContainerSpec, stdio: Stdio, *, die_with_caller: bool = False,
              before_placing: Callable[[], None] | None = None) -> ContainerProcess:
        """Start the container; returns once its program was exec'd, raises if that failed.

        ``die_with_caller``: the container is killed when this process dies,
        however it dies (a build's RUN step must not outlive a killed build;
        a ``dockpy run`` container, like Docker's, outlives its client).
        ``before_placing`` is called once PID 1 exists (it builds its root
        meanwhile), before its cgroup is made: what must be done before the
        program may run. If it raises, PID 1 exits and so does the start.
        """
        self.check_preconditions()
        cgroup = cgroups.container_cgroup(self.cgroup_layout, self.cgroup_parent, spec.id)
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

        def place(pid: int) -> None:
            if before_placing is not None:
                before_placing()
            # The cgroup is made only now, after the fork: see the module's docstring.
            cgroups.create_cgroup(self.cgroup_layout, self.cgroup_parent, spec.id, spec.resources).join(pid)

        try:
            pid, lifeline = _spawn(_new_pid_namespace, enter_container, run_pid1, stdio, place=place,
                                   die_with_caller=die_with_caller)
            return ContainerProcess(pid, cgroup, lifeline)
        except BaseException:
            cgroup.remove()
            raise

    def exec(self, container_pid: int, cgroup: cgroups.ContainerCgroup | None, process: Process, stdio: Stdio) -> ContainerProcess:
        """Run ``process`` inside the running container whose PID 1 is ``container_pid`` (setns)."""
        self.check_preconditions()
        pid_namespace_fd, *namespace_fds = _open_namespaces(container_pid, ("pid", *EXEC_NAMESPACES))
        terminal_fd = stdio.terminal.fd if stdio.terminal else None

        def enter_pid_namespace() -> None:
            linux.setns(pid_namespace_fd, linux.CLONE_NEWPID)

        def enter_container() -> None:
            for fd in namespace_fds:
                linux.setns(fd)

        def run_program(status_fd: int, wait_until_placed: Callable[[], Callable[[], None]]) -> None:
            wait_until_placed()
            exec_prepared(prepare_process(process), status_fd, terminal_fd)

        try:
            return ContainerProcess(_spawn(enter_pid_namespace, enter_container, run_program, stdio,
                                           place=cgroup.join if cgroup else None)[0])
        finally:
            for fd in (pid_namespace_fd, *namespace_fds):
                os.close(fd)


def _spawn(enter_pid_namespace: Callable[[], None], enter: Callable[[], None],
           run_child: Callable[[int, Callable[[], None]], None], stdio: Stdio,
           place: Callable[[int], None] | None = None, die_with_caller: bool = False) -> tuple[int, int | None]:
    """Fork a child into the pid namespace ``enter_pid_namespace`` sets up, that runs ``enter`` and then
    ``run_child``; the child's host pid and lifeline.

    ``run_child(status_fd, wait_until_placed)`` runs while dockpy calls
    ``place(pid)`` on it (from the host's namespaces, which the child
    leaves), and calls ``wait_until_placed()`` before anything that needs
    that done. With ``die_with_caller`` the child is tied to this process
    (see ``_die_with_caller``) and the lifeline is the pipe end dockpy keeps
    open until the child has exited; otherwise None.
    """
    status_read, status_write = os.pipe()
    placed_read, placed_write = os.pipe()
    try:
        child = _fork_into(enter_pid_namespace)
    except BaseException:
        for fd in (status_read, status_write, placed_read, placed_write):
            os.close(fd)
        raise
    if child == 0:
        os.close(status_read)
        os.close(placed_write)
        exit_reporting_failure(
            status_write, lambda: _enter_and_run(enter, run_child, stdio, status_write, placed_read, die_with_caller)
        )
    os.close(status_write)
    os.close(placed_read)
    _place_and_release(child, place, placed_write, status_read)
    failure = read_status(status_read)
    if failure is not None or not die_with_caller:
        os.close(placed_write)
    if failure is not None:
        os.waitpid(child, 0)
        raise _start_error(*failure)
    return child, placed_write if die_with_caller else None


def _fork_into(enter_pid_namespace: Callable[[], None]) -> int:
    """``os.fork()``, the child in the pid namespace ``enter_pid_namespace()`` makes this process's children's.

    That namespace stays the one of every child to come (and the kernel
    refuses this process new threads) until it goes back to its own, which
    the parent does right after the fork. The child cannot (its own pid
    namespace is the new one now) and need not.
    """
    own_namespace = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    try:
        try:
            enter_pid_namespace()
        except OSError as error:  # reads as the child's own setup failures do (``exit_reporting_failure``)
            raise ContainerSetupError(describe_os_error(error)) from error
        child = -1
        try:
            child = os.fork()
        finally:
            if child != 0:
                linux.setns(own_namespace, linux.CLONE_NEWPID)
        return child
    finally:
        os.close(own_namespace)


def _new_pid_namespace() -> None:
    linux.unshare(linux.CLONE_NEWPID)


def _place_and_release(child: int, place: Callable[[int], None] | None, placed_fd: int, status_fd: int) -> None:
    """``place(child)``, then let the child go on; if placing fails, the child exits and dockpy raises."""
    try:
        if place is not None:
            place(child)
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


def _enter_and_run(enter, run_child, stdio: Stdio, status_fd: int, placed_fd: int, die_with_caller: bool) -> None:
    _redirect_stdio(stdio)
    enter()
    run_child(status_fd, lambda: _wait_until_placed(placed_fd, die_with_caller))


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
    """SIGKILL this process when dockpy, its parent, dies; exit now if it already has.

    The kernel sends the signal when the parent *thread* ends: the one that
    started the container, which waits for it too (a build's RUN step). If
    dockpy died before the signal was set, its end of the pipe is closed:
    the hang-up says so.
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


def _open_namespaces(pid: int, names: tuple[str, ...]) -> list[int]:
    fds = []
    try:
        for name in names:
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

