"""Go's time.Duration text: HEALTHCHECK's ``--interval=1m30s`` in, and back out for history.

The image config stores durations as integer nanoseconds; Docker parses them
with Go's ``time.ParseDuration`` and prints them with ``Duration.String``
(in the ``created_by`` of a HEALTHCHECK), so dockpy does both the same way.
"""

from __future__ import annotations

import re

_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
          "m": 60_000_000_000, "h": 3_600_000_000_000}
_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_go_duration(text: str) -> int:
    """Nanoseconds of a Go duration (``300ms``, ``1.5h``, ``2h45m``); ValueError if malformed."""
    body, sign = (text[1:], -1) if text[:1] == "-" else (text.lstrip("+"), 1)
    if body == "0":
        return 0
    position, total = 0, 0
    while position < len(body):
        match = _PART.match(body, position)
        if match is None:
            raise ValueError(f"time: invalid duration {text!r}")
        number, unit = match.groups()
        whole, _, fraction = number.partition(".")
        total += int(whole or 0) * _UNITS[unit]
        if fraction:
            total += int(fraction) * _UNITS[unit] // 10 ** len(fraction)
        position = match.end()
    if not body:
        raise ValueError(f"time: invalid duration {text!r}")
    return sign * total


def format_go_duration(nanoseconds: int) -> str:
    """Go's ``Duration.String``: ``1m30s``, ``1.5s``, ``500ms``, ``0s``."""
    if nanoseconds == 0:
        return "0s"
    sign, value = ("-", -nanoseconds) if nanoseconds < 0 else ("", nanoseconds)
    if value < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if value >= size:
                return sign + _decimal(value, size) + unit
    hours, rest = divmod(value, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    text = _decimal(rest, 1_000_000_000) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{text}"
    if minutes:
        return f"{sign}{minutes}m{text}"
    return sign + text


def _decimal(value: int, unit: int) -> str:
    whole, fraction = divmod(value, unit)
    if not fraction:
        return str(whole)
    digits = len(str(unit)) - 1
    return f"{whole}.{fraction:0{digits}d}".rstrip("0")
