"""Owning a running container: start it, record it, wait for it, record its exit (conmon's job).

``run_foreground`` makes the ``dockpy run`` process itself the owner: the
program gets the caller's stdio (or a pty relayed to it) and the caller's
signals are forwarded. ``start_detached`` forks a monitor that outlives the
command: it points the program's output at the container's log and reports
back once the program was exec'd (or why it could not be), so ``run -d``
fails the same way ``run`` does. ``exec_detached`` (``exec -d``) forks a
smaller owner the same way: it starts the program, reports back, and reaps it.

Published ports are bound before the start (``lifecycle``); the owner
forwards them while the container runs and closes them before it records
the exit, so a port is free again once ``stop`` or ``rm -f`` returns.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from contextlib import contextmanager

from dockpy import collector
from dockpy.errors import DockpyError
from dockpy.runtime.containers import EXITED, RUNNING, ContainerRecord, process_start_time
from dockpy.runtime.spec import ContainerSpec, Process
from dockpy.runtime.stdio import Stdio

# Exit status of a monitor whose container could not start (its reason went through the pipe).
MONITOR_START_FAILED = 125


def run_foreground(runtime, record: ContainerRecord, spec: ContainerSpec, listeners: list | None = None,
                   before_placing: Callable[[], None] | None = None) -> int:
    """Start, relay, wait, record; returns the container's exit code.

    ``listeners``: its bound published ports. ``before_placing``: what the
    backend calls once the container's process exists, before the program
    runs (``Runtime.run`` commits the record there).
    """
    master = None
    with _closing_on_failure(listeners), _stdio_for(spec.process) as (stdio, master):
        process = _start_recorded(runtime, record, spec, stdio, before_placing=before_placing)
    collector.resume()  # if ``dockpy run`` paused it for its setup; a long run still collects what it makes
    forwarder = _forward_ports(runtime, record, listeners, process)
    with _forwarding_signals(process):
        if master is not None:
            from dockpy.runtime.terminal import relay

            relay(master, 0 if spec.process.interactive else None, 1)
            os.close(master)
        exit_code = process.wait()
    _stop_forwarding(forwarder)
    _record_exit(runtime, record, exit_code)
    return exit_code


def start_detached(runtime, record: ContainerRecord, spec: ContainerSpec, listeners: list | None = None) -> None:
    """Fork a monitor owning the container (and forwarding ``listeners``, its bound published ports);
    returns once the program runs, raises if it could not start."""
    ready_read, ready_write = os.pipe()
    runtime.store.close()  # a SQLite connection must not cross a fork
    with _closing_on_failure(listeners):
        first = os.fork()
    if first == 0:
        os.close(ready_read)
        _become_detached(lambda: _monitor(runtime, record, spec, ready_write, listeners), ready_write, "monitor")
    _close_listeners(listeners)  # the monitor holds them now
    _wait_until_started(first, ready_read, ready_write)


def exec_detached(runtime, record: ContainerRecord, process: Process) -> None:
    """``exec -d``: fork a waiter that starts ``process`` in the container with no stdio and reaps it;
    returns once the program runs, raises if it could not start."""
    ready_read, ready_write = os.pipe()
    runtime.store.close()  # a SQLite connection must not cross a fork
    first = os.fork()
    if first == 0:
        os.close(ready_read)
        _become_detached(lambda: _wait_for_exec(runtime, record, process, ready_write), ready_write, "exec")
    _wait_until_started(first, ready_read, ready_write)


def run_exec(runtime, record: ContainerRecord, process: Process) -> int:
    """``exec``: run ``process`` in the container, with the caller's stdio or a pty; its exit code."""
    with _stdio_for(process) as (stdio, master):
        started = runtime.backend.exec(record.pid, runtime.cgroup_of(record), process, stdio)
    with _forwarding_signals(started):
        if master is not None:
            from dockpy.runtime.terminal import relay

            relay(master, 0 if process.interactive else None, 1)
            os.close(master)
        return started.wait()


def _wait_until_started(first: int, ready_read: int, ready_write: int) -> None:
    """Reap the first fork, then raise what the detached process reported on ``ready_read``, if anything."""
    os.close(ready_write)
    os.waitpid(first, 0)
    with os.fdopen(ready_read, "rb") as ready:
        report = ready.read().decode(errors="replace")
    if report:
        code, _, message = report.partition("\n")
        error = DockpyError(message)
        error.exit_code = int(code)
        raise error


def _become_detached(body: Callable[[], int], ready_fd: int, role: str) -> None:
    """The forked owner (never returns): detach, run ``body`` (which closes ``ready_fd`` once the program
    runs) and exit with its status; a failure before that goes through ``ready_fd``."""
    exit_status = 0
    try:
        if os.fork() != 0:
            os._exit(0)  # the double fork: the owner is nobody's child but init's
        os.setsid()
        _detach_own_stdio()
        exit_status = body()
    except DockpyError as error:
        os.write(ready_fd, f"{error.exit_code}\n{error}".encode())
        exit_status = MONITOR_START_FAILED
    except BaseException as error:  # the owner must never return into the CLI's stack
        os.write(ready_fd, f"125\n{role} failed: {type(error).__name__}: {error}".encode())
        exit_status = MONITOR_START_FAILED
    finally:
        os._exit(exit_status)


def _wait_for_exec(runtime, record: ContainerRecord, process: Process, ready_fd: int) -> int:
    """Start the program with /dev/null for its stdio (Docker discards a detached exec's output), then reap it."""
    devnull = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    try:
        started = runtime.backend.exec(record.pid, runtime.cgroup_of(record), process, Stdio(devnull, devnull, devnull))
    finally:
        os.close(devnull)
    os.close(ready_fd)
    started.wait()
    return 0


def _monitor(runtime, record: ContainerRecord, spec: ContainerSpec, ready_fd: int, listeners: list | None) -> int:
    log_path = runtime.store.paths(record.id).log
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
    devnull = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    master = None
    if spec.process.terminal:
        from dockpy.runtime.terminal import open_terminal

        master, terminal = open_terminal()
        stdio = Stdio(terminal=terminal)
    else:
        stdio = Stdio(stdin=devnull, stdout=log, stderr=log)
    process = _start_recorded(runtime, record, spec, stdio, detached=True)
    forwarder = _forward_ports(runtime, record, listeners, process)
    if stdio.terminal is not None:
        os.close(stdio.terminal.fd)
    os.close(ready_fd)  # "started": the waiting `dockpy run -d` returns now
    for signum in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    if master is not None:
        from dockpy.runtime.terminal import copy_until_closed

        copy_until_closed(master, log)
    exit_code = process.wait()
    _stop_forwarding(forwarder)
    _record_exit(runtime, record, exit_code)
    return 0


def _start_recorded(runtime, record: ContainerRecord, spec: ContainerSpec, stdio: Stdio, detached: bool = False,
                    before_placing: Callable[[], None] | None = None):
    """The started program, as the record's backend returns it (a ``ContainerProcess`` or ``VmProcess``)."""
    try:
        process = runtime.backend_for(record).start(spec, stdio, before_placing=before_placing)
    except DockpyError as error:
        _record_exit(runtime, record, error.exit_code)
        raise
    runtime.store.update(
        record.id, state=RUNNING, pid=process.pid, pid_start=process_start_time(process.pid),
        monitor_pid=os.getpid(), monitor_start=process_start_time(os.getpid()),
        started=time.time(), detached=detached,
    )
    return process


def _forward_ports(runtime, record: ContainerRecord, listeners: list | None, process):
    """Start forwarding the published ports into the container's network namespace (None without any).

    If forwarding cannot start, the container must not run unreachable: it
    is killed and its exit recorded, and the start fails.
    """
    if not listeners:
        return None
    from dockpy.runtime.port_forwarder import forward_ports

    try:
        return forward_ports(listeners, process.pid)
    except DockpyError:
        process.send_signal(signal.SIGKILL)
        _record_exit(runtime, record, process.wait())
        raise


def _stop_forwarding(forwarder) -> None:
    if forwarder is not None:
        forwarder.stop()


@contextmanager
def _closing_on_failure(listeners: list | None):
    """Published ports bound for a start that fails are let go at once."""
    try:
        yield
    except BaseException:
        _close_listeners(listeners)
        raise


def _close_listeners(listeners: list | None) -> None:
    if listeners:
        from dockpy.runtime.port_forwarder import close_listeners

        close_listeners(listeners)


def _record_exit(runtime, record: ContainerRecord, exit_code: int) -> None:
    if record.auto_remove:
        runtime.remove_exited(record)
    else:
        runtime.store.update(record.id, state=EXITED, exit_code=exit_code, finished=time.time())


@contextmanager
def _stdio_for(process: Process):
    """The caller's stdio for the program (stdin only with -i), or a new pty for -t: (Stdio, master or None)."""
    if process.terminal:
        from dockpy.runtime.terminal import open_terminal

        master, terminal = open_terminal()
        try:
            yield Stdio(terminal=terminal), master
        finally:
            os.close(terminal.fd)  # only the container holds the slave now: EIO on the master ends the relay
        return
    if process.interactive:
        yield Stdio(), None
        return
    devnull = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    try:
        yield Stdio(stdin=devnull), None
    finally:
        os.close(devnull)


@contextmanager
def _forwarding_signals(process):
    """The signals dockpy receives go to the container's PID 1 (Docker's --sig-proxy) through ``process.send_signal``."""
    from dockpy.runtime.lifecycle import PROXIED_SIGNALS

    previous = {signum: signal.signal(signum, lambda s, _f: process.send_signal(s)) for signum in PROXIED_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _detach_own_stdio() -> None:
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
