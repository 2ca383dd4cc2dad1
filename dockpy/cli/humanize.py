"""Sizes, ages and long text the way Docker's listings show them (go-units' rules)."""

from __future__ import annotations

import time

_SIZE_UNITS = ("B", "kB", "MB", "GB", "TB", "PB")
# Docker's CREATED BY column width in ``docker history``.
CREATED_BY_WIDTH = 45


def human_size(size: int) -> str:
    """Decimal units, three significant digits: ``4.26MB`` (Docker's HumanSizeWithPrecision(size, 3))."""
    value, unit = float(size), 0
    while value >= 999.5 and unit < len(_SIZE_UNITS) - 1:
        value /= 1000
        unit += 1
    return f"{value:.3g}{_SIZE_UNITS[unit]}"


def human_duration(seconds: float) -> str:
    """``About an hour``, ``3 days``: Docker's HumanDuration."""
    whole_seconds = int(seconds)
    minutes, hours = int(seconds / 60), int(seconds / 3600 + 0.5)
    if whole_seconds < 1:
        return "Less than a second"
    if whole_seconds == 1:
        return "1 second"
    if whole_seconds < 60:
        return f"{whole_seconds} seconds"
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"


def human_age(timestamp: float | None, now: float | None = None) -> str:
    """``2 hours ago``, or ``N/A`` for an image without a creation time."""
    if timestamp is None:
        return "N/A"
    return human_duration((now if now is not None else time.time()) - timestamp) + " ago"


def short_id(digest: str, no_trunc: bool = False) -> str:
    """``sha256:<64 hex>`` -> the 12 hex digits Docker shows, unless ``no_trunc``."""
    return digest if no_trunc else digest.removeprefix("sha256:")[:12]


def ellipsize(text: str, width: int, no_trunc: bool = False) -> str:
    """Cut ``text`` to ``width`` characters ending in ``…``, unless ``no_trunc``."""
    if no_trunc or len(text) <= width:
        return text
    return text[: width - 1] + "…"


def go_time_text(timestamp: float | None) -> str:
    """``2024-05-01 10:00:00 +0000 UTC``: Go's ``time.Time.String()`` of whole seconds in local time, as Docker's ``.CreatedAt``."""
    if timestamp is None:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S %z %Z", time.localtime(int(timestamp)))
