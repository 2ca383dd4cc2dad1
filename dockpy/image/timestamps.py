"""RFC 3339 times as OCI writes them (``2024-05-01T12:00:00.25Z``), and back.

Kept apart from ``oci`` so that listings can format times without loading
the JSON model; formatting needs only ``time``.
"""

from __future__ import annotations

import time


def format_timestamp(seconds: float | None = None) -> str:
    """RFC 3339 in UTC with a ``Z``; microseconds only when there are some."""
    seconds = time.time() if seconds is None else seconds
    whole = int(seconds // 1)
    micros = round((seconds - whole) * 1_000_000)
    if micros == 1_000_000:
        whole, micros = whole + 1, 0
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
    return f"{text}.{micros:06d}Z" if micros else f"{text}Z"


def parse_timestamp(text: str | None) -> float | None:
    """Seconds since the epoch of an RFC 3339 time (Go writes nanoseconds); ``None`` if absent or unreadable.

    A bad ``created`` in a foreign image should not make it unusable, only undated.
    """
    from datetime import datetime

    if not text:
        return None
    head, dot, fraction = text.partition(".")
    if dot:  # keep at most microseconds: Python's parser stops there
        digits = len(fraction) - len(fraction.lstrip("0123456789"))
        text = f"{head}.{fraction[:min(digits, 6)]}{fraction[digits:]}"
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
