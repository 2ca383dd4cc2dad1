"""Owning a running container: start it, record it, wait for it, record its exit (conmon's job).

``run_foreground`` makes the ``dockpy run`` process itself the owner: the
program gets the caller's stdio (or a pty relayed to it) and the caller's
signals are forwarded. ``start_detached`` forks a monitor that outlives the
command: it points the program's output at the container's log and reports
back once the program was exec'd (or why it could not be), so ``run -d``
fails the same way ``run`` does.
"""

from __future__ import annotations

import os
import signal
import time
from contextlib import contextmanager

from dockpy.errors import DockpyError
from dockpy.runtime.containers import EXITED, RUNNING, ContainerRecord, process_start_time
from dockpy.runtime.spec import ContainerSpec, Process
from dockpy.runtime.stdio import Stdio

# Exit status of a monitor whose container could not start (its reason went through the pipe).
MONITOR_START_FAILED = 125


def run_foreground(runtime, record: ContainerRecord, spec: ContainerSpec, *, recorded: bool = True) -> int:
    """Start, relay, wait, record; returns the container's exit code.

    ``recorded=False``: ``record`` is not in the store yet, and is added once
    the program runs (``Runtime.run_in_vm``).
    """
    master = None
    with _stdio_for(spec.process) as (stdio, master):
        process = _start_recorded(runtime, record, spec, stdio, recorded=recorded)
    with _forwarding_signals(process):
        if master is not None:
            from dockpy.runtime.terminal import relay

            relay(master, 0 if spec.process.interactive else None, 1)
            os.close(master)
        exit_code = process.wait()
    _record_exit(runtime, record, exit_code)
    return exit_code


def start_detached(runtime, record: ContainerRecord, spec: ContainerSpec) -> None:
    """Fork a monitor owning the container; returns once the program runs, raises if it could not start."""
    ready_read, ready_write = os.pipe()
    runtime.store.close()  # a SQLite connection must not cross a fork
    first = os.fork()
    if first == 0:
        os.close(ready_read)
        _become_monitor(runtime, record, spec, ready_write)
    os.close(ready_write)
    os.waitpid(first, 0)
    with os.fdopen(ready_read, "rb") as ready:
        report = ready.read().decode(errors="replace")
    if report:
        code, _, message = report.partition("\n")
        error = DockpyError(message)
        error.exit_code = int(code)
        raise error


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


def _become_monitor(runtime, record: ContainerRecord, spec: ContainerSpec, ready_fd: int) -> None:
    """The forked monitor (never returns): detach, start with output to the log, wait, record."""
    exit_status = 0
    try:
        if os.fork() != 0:
            os._exit(0)  # the double fork: the monitor is nobody's child but init's
        os.setsid()
        _detach_own_stdio()
        exit_status = _monitor(runtime, record, spec, ready_fd)
    except DockpyError as error:
        os.write(ready_fd, f"{error.exit_code}\n{error}".encode())
        exit_status = MONITOR_START_FAILED
    except BaseException as error:  # the monitor must never return into the CLI's stack
        os.write(ready_fd, f"125\nmonitor failed: {type(error).__name__}: {error}".encode())
        exit_status = MONITOR_START_FAILED
    finally:
        os._exit(exit_status)


def _monitor(runtime, record: ContainerRecord, spec: ContainerSpec, ready_fd: int) -> int:
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
    if stdio.terminal is not None:
        os.close(stdio.terminal.fd)
    os.close(ready_fd)  # "started": the waiting `dockpy run -d` returns now
    for signum in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    if master is not None:
        from dockpy.runtime.terminal import copy_until_closed

        copy_until_closed(master, log)
    exit_code = process.wait()
    _record_exit(runtime, record, exit_code)
    return 0


def _start_recorded(runtime, record: ContainerRecord, spec: ContainerSpec, stdio: Stdio, detached: bool = False,
                    recorded: bool = True):
    """The started program, as the record's backend returns it (a ``ContainerProcess`` or ``VmProcess``).

    A record not yet in the store (``recorded=False``) is added as running (or
    as exited if the program could not start): one transaction. If adding it
    fails (another container took its name meanwhile), the program is killed.
    """
    try:
        process = runtime.backend_for(record).start(spec, stdio)
    except DockpyError as error:
        _record_exit(runtime, record, error.exit_code, recorded=recorded)
        raise
    started = dict(
        state=RUNNING, pid=process.pid, pid_start=process_start_time(process.pid),
        monitor_pid=os.getpid(), monitor_start=process_start_time(os.getpid()),
        started=time.time(), detached=detached,
    )
    if recorded:
        runtime.store.update(record.id, **started)
    else:
        _add_started(runtime, record._replace(**started), process)
    return process


def _add_started(runtime, record: ContainerRecord, process) -> None:
    """Add the record of a running program; if its name was taken meanwhile, the program goes first."""
    try:
        runtime.store.add(record)
    except BaseException:
        process.send_signal(signal.SIGKILL)
        process.wait()
        runtime.remove_exited(record)
        raise


def _record_exit(runtime, record: ContainerRecord, exit_code: int, recorded: bool = True) -> None:
    exited = dict(state=EXITED, exit_code=exit_code, finished=time.time())
    if record.auto_remove:
        runtime.remove_exited(record)
    elif recorded:
        runtime.store.update(record.id, **exited)
    else:
        runtime.store.add(record._replace(**exited))


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
