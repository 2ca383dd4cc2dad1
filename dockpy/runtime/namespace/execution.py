"""The last steps before the container's program runs, and how a failure gets back to dockpy.

Failures travel through a *status pipe* whose write end is close-on-exec:
dockpy reads it to EOF. A successful exec closes it without a word; a
failure writes ``"<exit code>\\n<message>"`` first. So dockpy can tell "the
command was not found" (127, with a message) from a command that itself
exited 127, and report setup failures (125) with the call and path that failed.
"""

from __future__ import annotations

import errno
import os
import signal
from collections import namedtuple

from dockpy.errors import DockpyError
from dockpy.runtime.namespace import privileges
from dockpy.runtime.spec import Process
from dockpy.runtime.users import resolve_user

EXIT_SETUP_FAILED = 125
EXIT_NOT_EXECUTABLE = 126
EXIT_NOT_FOUND = 127
# File descriptors above stdio that the program must not inherit are closed up to this bound.
MAX_FD = 1 << 20
# Errors of execve meaning "found but cannot be run"; any other means "not found".
NOT_EXECUTABLE_ERRNOS = {errno.EACCES, errno.EPERM, errno.ENOEXEC, errno.EISDIR, errno.ETXTBSY}


class ProcessStartError(DockpyError):
    """The container's program could not be started; carries the exit code dockpy reports."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


class PreparedProcess(namedtuple("PreparedProcess", "process env user")):
    """A ``Process`` whose user is resolved and working directory made: dropping privileges and exec are left.

    ``env`` is the process's environment with HOME filled in; ``user`` the
    ``ExecUser`` it runs as.
    """

    __slots__ = ()


def prepare_process(process: Process) -> PreparedProcess:
    """``resolve_process``, then drop privileges: only exec is left."""
    prepared = resolve_process(process)
    drop_privileges(prepared)
    return prepared


def resolve_process(process: Process) -> PreparedProcess:
    """Resolve the user in the container's own /etc and create the workdir (still as root)."""
    user = resolve_user(process.user, additional_groups=process.additional_groups)
    make_working_directory(process.cwd)
    env = process.env
    if not any(entry.startswith("HOME=") for entry in env):
        env = (*env, f"HOME={user.home}")  # as runc: HOME from passwd unless the image or -e set it
    return PreparedProcess(process, env, user)


def drop_privileges(prepared: PreparedProcess) -> None:
    """Become the process's user with only its capabilities, rlimits and no_new_privs."""
    privileges.drop_privileges(prepared.process, prepared.user)


def make_working_directory(cwd: str) -> None:
    """Docker creates a missing working directory (as root, before the user switch)."""
    os.makedirs(cwd, mode=0o755, exist_ok=True)


def exec_prepared(prepared: PreparedProcess, status_fd: int, terminal_fd: int | None) -> None:
    """Enter the workdir, take the terminal, close stray fds and exec; a failure raises ProcessStartError."""
    process = prepared.process
    if terminal_fd is not None:
        os.login_tty(terminal_fd)  # new session, controlling terminal, stdio on the pty
    os.chdir(process.cwd)
    close_fds_except(status_fd)
    restore_default_signals()
    env = dict(entry.partition("=")[::2] for entry in prepared.env)
    try:
        os.execvpe(process.args[0], list(process.args), env)
    except OSError as error:
        raise exec_error(process.args[0], error) from error


def close_fds_except(*keep: int | None) -> None:
    """Close every descriptor above stdio but ``keep``.

    A forked dockpy holds its caller's pipes, database and log files; a
    program (or an init that never execs) holding them would keep
    ``dockpy run -d`` waiting for an EOF that never comes.
    """
    low = 3
    for fd in sorted(fd for fd in keep if fd is not None and fd >= low):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, MAX_FD)


def restore_default_signals() -> None:
    """Python ignores SIGPIPE and SIGXFSZ, and an ignored signal stays ignored across exec: undo that."""
    for signum in (signal.SIGPIPE, signal.SIGXFSZ):
        signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())


def exec_error(command: str, error: OSError) -> ProcessStartError:
    """Docker's wording and exit codes: 126 found but not executable, 127 not found."""
    if error.errno in NOT_EXECUTABLE_ERRNOS:
        return ProcessStartError(f'exec: "{command}": {os.strerror(error.errno).lower()}', EXIT_NOT_EXECUTABLE)
    if "/" in command:
        return ProcessStartError(f'exec: "{command}": no such file or directory', EXIT_NOT_FOUND)
    return ProcessStartError(f'exec: "{command}": executable file not found in $PATH', EXIT_NOT_FOUND)


def exit_reporting_failure(status_fd: int, action) -> None:
    """Run ``action`` in a forked child; whatever it raises is written to the status pipe. Never returns.

    The forked child must never return into the caller's stack (it would run
    dockpy's command line a second time), hence ``os._exit`` on every path.
    """
    code = EXIT_SETUP_FAILED
    try:
        action()
        code = 0
    except ProcessStartError as error:
        code = error.exit_code
        report_failure(status_fd, code, str(error))
    except (DockpyError, OSError) as error:
        report_failure(status_fd, code, describe_os_error(error))
    except BaseException as error:
        report_failure(status_fd, code, "container setup crashed: " + describe_crash(error))
    finally:
        os._exit(code)


def describe_crash(error: BaseException) -> str:
    """The exception and the frames it passed, innermost last.

    Written without ``traceback``: after pivot_root the container's process
    can no longer import a module it has not loaded yet.
    """
    frames = []
    trace = error.__traceback__
    while trace is not None:
        code = trace.tb_frame.f_code
        frames.append(f"{os.path.basename(code.co_filename)}:{trace.tb_lineno} in {code.co_name}")
        trace = trace.tb_next
    return f"{type(error).__name__}: {error} (at {', '.join(frames)})"


def describe_os_error(error: BaseException) -> str:
    """``mount overlay: Invalid argument: '/path'``: the call, the reason, the path."""
    if isinstance(error, OSError) and error.filename is not None and not isinstance(error, DockpyError):
        return f"{error.strerror}: {error.filename}"
    return str(error)


def report_failure(status_fd: int, code: int, message: str) -> None:
    try:
        os.write(status_fd, f"{code}\n{message}".encode(errors="replace"))
    except OSError:
        pass  # dockpy went away: nobody is left to tell


def read_status(status_fd: int) -> tuple[int, str] | None:
    """Read the status pipe to EOF: None if the program was exec'd, else (exit code, message)."""
    chunks = []
    while chunk := os.read(status_fd, 65536):
        chunks.append(chunk)
    os.close(status_fd)
    if not chunks:
        return None
    code, _, message = b"".join(chunks).decode(errors="replace").partition("\n")
    return int(code), message
