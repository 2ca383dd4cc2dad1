"""The relay between QEMU's output pipes and the caller's descriptors: delivery, counting, never blocking QEMU."""

from __future__ import annotations

import os
from contextlib import ExitStack

from dockpy.runtime.kvm.relay import start_output_relay


def _relay_into_pipe(helpers: ExitStack):
    """A relay whose target is a pipe the test reads; returns (relay, the target's read end)."""
    read_end, write_end = os.pipe()
    relay = start_output_relay(write_end, helpers)
    os.close(write_end)  # the relay holds its own copy
    return relay, read_end


def test_relay_delivers_and_counts_every_byte():
    payload = bytes(range(256)) * 200  # within what the two pipes hold: the test reads only at the end
    with ExitStack() as helpers:
        relay, target = _relay_into_pipe(helpers)
        os.write(relay.write_end, payload)
    with open(target, "rb") as delivered:
        assert delivered.read() == payload
    assert relay.taken == len(payload)


def test_relay_keeps_taking_output_after_its_reader_has_gone():
    with ExitStack() as helpers:
        relay, target = _relay_into_pipe(helpers)
        os.close(target)
        for _ in range(10):  # more than a pipe holds: a relay that stopped would block this write
            os.write(relay.write_end, b"x" * 65536)
    assert relay.taken == 10 * 65536


def test_relay_has_not_taken_a_count_it_is_still_short_of():
    with ExitStack() as helpers:
        relay, target = _relay_into_pipe(helpers)
        os.write(relay.write_end, b"12345")
        with open(target, "rb", buffering=0) as delivered:
            assert delivered.read(5) == b"12345"
            assert relay.has_taken(5, idle_limit=60)
            assert not relay.has_taken(6, idle_limit=60)
            assert relay.has_taken(6, idle_limit=0)  # it waits on an empty pipe: QEMU holds nothing back
