"""What the first process of the container's pid namespace does, in order.

It is forked from dockpy after the namespaces were unshared; it builds the
root filesystem, names the host, brings the loopback up, drops privileges
and then either execs the program (which becomes PID 1 itself, as in
``docker run``) or stays as dockpy's init with the program as its child
(``--init``). Nothing here returns: the process execs or exits.
"""

from __future__ import annotations

import os

from dockpy import linux
from dockpy.runtime.namespace.execution import (
    close_fds_except, drop_privileges, exec_prepared, exit_reporting_failure, resolve_process,
)
from dockpy.runtime.namespace.reaper import run_as_init
from dockpy.runtime.namespace.rootfs import build_root
from dockpy.runtime.spec import ContainerSpec

LOOPBACK = "lo"


def start_container(spec: ContainerSpec, status_fd: int, wait_until_in_cgroup, terminal_fd: int | None,
                    console: str | None) -> None:
    """The whole setup recipe of PID 1; raises on failure (the caller reports it on the status pipe).

    ``wait_until_in_cgroup()`` returns once the process is in the container's
    cgroup (dockpy moves it there meanwhile, so everything that can happens
    before); the cgroup namespace made after that has the container's cgroup
    as its root, and unsharing it needs the privileges dropped last. It
    returns what ties the container to dockpy's life when asked for.
    """
    build_root(spec, console)
    linux.sethostname(spec.hostname)
    if spec.network == "none":
        linux.set_interface_up(LOOPBACK)
    prepared = resolve_process(spec.process)
    tie_to_caller = wait_until_in_cgroup()
    linux.unshare(linux.CLONE_NEWCGROUP)
    drop_privileges(prepared)
    tie_to_caller()  # after the last credential change, which would clear a parent-death signal
    if not spec.init:
        exec_prepared(prepared, status_fd, terminal_fd)
    close_fds_except(status_fd, terminal_fd)  # init never execs: drop what it inherited from dockpy

    def start_program() -> None:
        exit_reporting_failure(status_fd, lambda: exec_prepared(prepared, status_fd, terminal_fd))

    inherited_only_by_program = [status_fd] + ([terminal_fd] if terminal_fd is not None else [])
    os._exit(run_as_init(start_program, inherited_only_by_program))
