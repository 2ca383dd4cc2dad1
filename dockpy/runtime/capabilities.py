"""``--cap-add`` and ``--cap-drop``: the capability set a container's root keeps, by Docker's rules.

Names are taken with or without ``CAP_``, in any case; ``ALL`` means every
capability dockpy can grant: those its own bounding set holds (a host may
withhold some, as this one withholds CAP_SYS_RESOURCE: asking for such a
one by name is refused at ``create``, not at the start). As moby's ``caps.TweakCapabilities``: adding
ALL keeps everything but the dropped ones; dropping ALL keeps only the
added ones; otherwise Docker's default set minus the dropped plus the added.
Known names are the namespace runtime's own (``privileges.CAPABILITY_NUMBERS``).
"""

from __future__ import annotations

from dockpy.errors import InvalidInputError
from dockpy.runtime.namespace.privileges import CAPABILITY_NUMBERS
from dockpy.runtime.spec import DEFAULT_CAPABILITIES

ALL = "ALL"
STATUS_FILE = "/proc/self/status"


def adjusted_capabilities(add, drop) -> tuple[str, ...]:
    """Docker's default set changed by ``--cap-add`` (``add``) and ``--cap-drop`` (``drop``) names."""
    added, dropped = normalized_names(add), normalized_names(drop)
    if ALL in added:
        return tuple(name for name in grantable_capabilities() if name not in dropped)
    for name in added:
        if name not in grantable_capabilities():
            raise InvalidInputError(f"cannot add {name}: this host does not grant it to dockpy")
    if ALL in dropped:
        return tuple(dict.fromkeys(added))
    kept = [name for name in DEFAULT_CAPABILITIES if name not in dropped]
    return tuple(dict.fromkeys(kept + added))


def normalized_names(names) -> list[str]:
    """``net_admin``, ``CAP_NET_ADMIN`` -> ``CAP_NET_ADMIN``; ``all`` -> ``ALL``; an unknown name is refused."""
    result = []
    for name in names:
        upper = name.upper()
        if upper == ALL:
            result.append(ALL)
            continue
        full = upper if upper.startswith("CAP_") else "CAP_" + upper
        if full not in CAPABILITY_NUMBERS:
            raise InvalidInputError(f'unknown capability: "{full}"')
        result.append(full)
    return result


def grantable_capabilities() -> tuple[str, ...]:
    """The capabilities in dockpy's own bounding set (which the kernel's and the host's limits bound), in
    the kernel's order: a container's PID 1, forked from dockpy, can keep no other."""
    with open(STATUS_FILE) as file:
        bounding = next(int(line.split()[1], 16) for line in file if line.startswith("CapBnd:"))
    return tuple(name for name, number in CAPABILITY_NUMBERS.items() if bounding >> number & 1)
