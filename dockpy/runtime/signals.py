"""Signals by Docker's names: ``SIGTERM``, ``TERM``, ``15``, and real-time ones as ``SIGRTMIN+3``.

One parser for what a user or an image names: ``kill -s``, ``--stop-signal``,
the image's StopSignal at ``stop``, and the Dockerfile's STOPSIGNAL, which a
build refuses if ``stop`` could not send it.
"""

from __future__ import annotations

import signal

from dockpy.errors import InvalidInputError


def parse_signal(name: str | int) -> int:
    """``SIGTERM``, ``TERM`` or ``15``; a number no signal has (``0``, ``999``) is refused here, not at
    the ``kill(2)`` of a later ``stop``."""
    text = str(name).upper()
    if text.isdigit():
        if not 0 < int(text) < signal.NSIG:
            raise InvalidInputError(f"invalid signal: {name}")
        return int(text)
    text = text if text.startswith("SIG") else "SIG" + text
    if text[:9] in ("SIGRTMIN+", "SIGRTMAX-"):
        return _realtime_signal(text, name)
    try:
        return signal.Signals[text].value
    except KeyError:
        raise InvalidInputError(f"invalid signal: {name}") from None


def _realtime_signal(text: str, name: str | int) -> int:
    """``SIGRTMIN+3`` (systemd images' STOPSIGNAL) or ``SIGRTMAX-1``, as Docker names them."""
    offset = text[9:]
    number = -1 if not offset.isdigit() else (
        signal.SIGRTMIN + int(offset) if text[8] == "+" else signal.SIGRTMAX - int(offset))
    if not signal.SIGRTMIN <= number <= signal.SIGRTMAX:
        raise InvalidInputError(f"invalid signal: {name}")
    return number
