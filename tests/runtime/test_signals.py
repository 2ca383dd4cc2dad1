"""Signals by Docker's names, numbers and real-time offsets (``kill -s``, ``--stop-signal``, StopSignal)."""

import re
import signal

import pytest

from dockpy.errors import InvalidInputError
from dockpy.runtime.signals import parse_signal


@pytest.mark.parametrize("name, number", [
    ("SIGTERM", signal.SIGTERM), ("term", signal.SIGTERM), ("15", 15),
    ("SIGRTMIN+3", signal.SIGRTMIN + 3), ("rtmin+3", signal.SIGRTMIN + 3), ("SIGRTMAX-1", signal.SIGRTMAX - 1),
])
def test_a_signal_is_taken_by_name_number_or_realtime_offset(name, number):
    """systemd images say ``STOPSIGNAL SIGRTMIN+3``: ``stop`` must be able to send it."""
    assert parse_signal(name) == number


@pytest.mark.parametrize("name", ["SIGNOPE", "0", "999", "SIGRTMIN+99", "SIGRTMAX-x"])
def test_a_name_or_number_no_signal_has_is_refused(name):
    with pytest.raises(InvalidInputError, match=f"invalid signal: {re.escape(name)}"):
        parse_signal(name)
