"""dockpy's init: PID 1 of a container started with ``--init``.

The kernel gives PID 1 of a pid namespace two jobs a normal program does not
do: orphans are re-parented to it (someone must reap them, or zombies pile
up), and it receives no signal it has no handler for (so ``docker stop``
would wait for SIGKILL). This init forks the program, forwards every
catchable signal to it, reaps every child, and exits with the program's
status, 128+N when a signal killed it (as tini and ``docker run --init``).
It is the forked dockpy process itself: no second interpreter starts.
"""

from __future__ import annotations

import os
import signal

# Signals forwarded to the program; SIGCHLD is how init learns of exits, the rest cannot be caught.
FORWARDED_SIGNALS = frozenset(signal.Signals) - {signal.SIGCHLD, signal.SIGKILL, signal.SIGSTOP}
SIGNAL_EXIT_BASE = 128


def run_as_init(start_program, program_fds: list[int]) -> int:
    """Fork ``start_program`` (a function that execs), forward signals to it, reap, return its exit code.

    ``program_fds`` (the status pipe, the terminal) belong to the program
    alone: init closes its copies, so dockpy sees the status pipe's EOF when
    the program execs and the terminal hangs up when the program exits.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED_SIGNALS)
    program = os.fork()
    if program == 0:
        _reset_signal_handlers()
        start_program()
    for fd in program_fds:
        os.close(fd)
    forward_signals_to(program)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED_SIGNALS)
    return reap_until_exit(program)


def forward_signals_to(pid: int) -> None:
    def forward(signum, _frame):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass  # already gone; its status is on the way

    for signum in FORWARDED_SIGNALS:
        signal.signal(signum, forward)


def reap_until_exit(program: int) -> int:
    """Wait for any child (adopted orphans included) until the program itself exits."""
    while True:
        pid, status = os.wait()
        if pid == program:
            return exit_code_of(status)


def exit_code_of(wait_status: int) -> int:
    """The shell's convention: the exit code, or 128+N for death by signal N."""
    code = os.waitstatus_to_exitcode(wait_status)
    return SIGNAL_EXIT_BASE - code if code < 0 else code


def _reset_signal_handlers() -> None:
    for signum in FORWARDED_SIGNALS:
        signal.signal(signum, signal.SIG_DFL)
