"""``--ulimit NAME=SOFT[:HARD]``: resource limits, with Docker's names and syntax (go-units' ParseUlimit).

A missing HARD equals SOFT; ``-1`` is unlimited. The limits asked for
replace Docker's defaults of the same name (``spec.DEFAULT_RLIMITS``). No
limit may exceed the hard limit dockpy itself runs under: the container's
PID 1 is forked from dockpy and could not raise it (here even root cannot
raise ``nofile`` past the host's), so such a request fails at ``create``
rather than being lowered behind the user's back.
"""

from __future__ import annotations

import resource

from dockpy.errors import InvalidInputError
from dockpy.runtime.spec import DEFAULT_RLIMITS, Rlimit

UNLIMITED = -1
# Docker's names for ``--ulimit``; each is ``RLIMIT_`` + the upper-cased name.
ULIMIT_NAMES = ("core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc",
                "rss", "rtprio", "rttime", "sigpending", "stack")


def container_rlimits(texts) -> tuple[Rlimit, ...]:
    """Docker's default limits with the ``--ulimit`` ones (later wins per name) in their place."""
    limits = {rlimit.type: rlimit for rlimit in DEFAULT_RLIMITS}
    for text in texts:
        rlimit = parse_ulimit(text)
        check_within_host_limit(rlimit, text)
        limits[rlimit.type] = rlimit
    return tuple(limits.values())


def parse_ulimit(text: str) -> Rlimit:
    """``nofile=1024:2048`` -> ``Rlimit("RLIMIT_NOFILE", 1024, 2048)``."""
    name, has_value, values = text.partition("=")
    if not has_value:
        raise InvalidInputError(f"invalid ulimit argument: {text}")
    if name not in ULIMIT_NAMES:
        raise InvalidInputError(f"invalid ulimit type: {name}", hint=f"Use one of: {', '.join(ULIMIT_NAMES)}.")
    soft_text, _, hard_text = values.partition(":")
    soft = _limit_value(soft_text, text)
    hard = _limit_value(hard_text, text) if hard_text else soft
    if hard != UNLIMITED and (soft == UNLIMITED or soft > hard):
        raise InvalidInputError(f"ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}")
    return Rlimit("RLIMIT_" + name.upper(), soft, hard)


def check_within_host_limit(rlimit: Rlimit, text: str) -> None:
    """Refuse a limit above the hard limit dockpy runs under (unlimited counts as above any finite one)."""
    _, host_hard = resource.getrlimit(getattr(resource, rlimit.type))
    if host_hard == resource.RLIM_INFINITY:
        return
    if rlimit.hard == UNLIMITED or rlimit.hard > host_hard:
        raise InvalidInputError(f"--ulimit {text}: above this host's hard limit of {host_hard}")


def _limit_value(text: str, whole: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise InvalidInputError(f"invalid ulimit argument: {whole}") from None
    if value < UNLIMITED:
        raise InvalidInputError(f"invalid ulimit argument: {whole}")
    return value
