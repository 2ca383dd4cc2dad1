"""EXPOSE's port specs as an image config keys them: ``80``, ``53/udp``, ``8000-8002`` as ``80/tcp``...

Shared by the Dockerfile's EXPOSE and ``commit --change EXPOSE``: Docker runs
both through one parser (``nat.ParsePortSpecs``), so a range is stored as
its ports, one key each, and anything else is refused. What reads the keys
back (``run -P``, ``ps``'s PORTS) can rely on ``PORT/PROTOCOL``.
"""

from __future__ import annotations

import re

MAX_PORT = 65535
PROTOCOLS = ("tcp", "udp", "sctp")
_PORT_SPEC = r"(\d+)(?:-(\d+))?(?:/(\w+))?"


def exposed_port_keys(spec: str) -> list[str]:
    """The ``port/protocol`` keys of one spec; raises ``ValueError`` (its message names the spec) if invalid."""
    match = re.fullmatch(_PORT_SPEC, spec)
    if match is None:
        raise ValueError(f"invalid port {spec!r}: want PORT[-PORT][/PROTOCOL]")
    first, last = int(match[1]), int(match[2] or match[1])
    protocol = (match[3] or "tcp").lower()
    if not 0 < first <= last <= MAX_PORT or protocol not in PROTOCOLS:
        raise ValueError(f"invalid port {spec!r}")
    return [f"{port}/{protocol}" for port in range(first, last + 1)]
