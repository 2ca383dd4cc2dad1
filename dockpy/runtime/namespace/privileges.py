"""The process's identity and privileges: user, groups, capabilities, no_new_privs, rlimits.

The order matters and follows runc's: bounding set first (dropping needs
CAP_SETPCAP, still held), then groups and ids, then the capability sets
(the kernel already cleared them for a non-root uid), the ambient set, and
last ``no_new_privs`` so no setuid binary can get anything back.
"""

from __future__ import annotations

import os
import resource

from dockpy import linux
from dockpy.runtime.spec import Process, Rlimit
from dockpy.runtime.users import ExecUser

# linux/capability.h numbering.
CAPABILITY_NUMBERS = {
    name: number
    for number, name in enumerate(
        (
            "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
            "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
            "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
            "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
            "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
            "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
            "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
            "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
            "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
        )
    )
}
CAP_LAST_CAP_FILE = "/proc/sys/kernel/cap_last_cap"


def drop_privileges(process: Process, user: ExecUser) -> None:
    """Become ``user`` holding only ``process.capabilities``; rlimits are set while still root, but after the
    bounding set's drop, which opens a file (``--ulimit nofile=5`` would leave it no descriptor)."""
    keep = capability_mask(process.capabilities)
    drop_bounding_set(keep)
    set_rlimits(process.rlimits)
    switch_user(user)
    granted = keep if user.uid == 0 else 0
    # Inheritable stays empty, as in Docker since CVE-2022-24769: exec'd programs inherit nothing extra.
    linux.capset(effective=granted, permitted=granted, inheritable=0)
    linux.prctl(linux.PR_CAP_AMBIENT, linux.PR_CAP_AMBIENT_CLEAR_ALL)
    if process.no_new_privileges:
        linux.prctl(linux.PR_SET_NO_NEW_PRIVS, 1)


def capability_mask(names: tuple[str, ...]) -> int:
    mask = 0
    for name in names:
        mask |= 1 << CAPABILITY_NUMBERS[name]
    return mask


def drop_bounding_set(keep: int) -> None:
    """Remove every capability the kernel knows of, except ``keep``, from the bounding set."""
    with open(CAP_LAST_CAP_FILE) as file:
        last = int(file.read())
    for number in range(last + 1):
        if not keep & (1 << number):
            linux.prctl(linux.PR_CAPBSET_DROP, number)


def switch_user(user: ExecUser) -> None:
    os.setgroups(list(user.supplementary_gids))
    os.setresgid(user.gid, user.gid, user.gid)
    os.setresuid(user.uid, user.uid, user.uid)


def set_rlimits(rlimits: tuple[Rlimit, ...]) -> None:
    """Set each limit, lowered to the hard limit in force: even root here cannot raise a hard limit."""
    for rlimit in rlimits:
        kind = getattr(resource, rlimit.type)
        _, current_hard = resource.getrlimit(kind)
        hard = _lower(rlimit.hard, current_hard)
        resource.setrlimit(kind, (min(_lower(rlimit.soft, current_hard), hard), hard))


def _lower(value: int, ceiling: int) -> int:
    if ceiling == resource.RLIM_INFINITY:
        return value
    return min(value, ceiling)
