"""The relay between QEMU's output pipes and the caller's descriptors: delivery, counting, never blocking QEMU."""

from __future__ import annotations

import os
import time
from contextlib import ExitStack

from dockpy.runtime.kvm.relay import start_output_relay


def _relay_into_pipe(helpers: ExitStack):
    """A relay whose target is a pipe the test reads; returns (relay, the target's read end)."""
    read_end, write_end = os.pipe()
    relay = start_output_relay(write_end, helpers)
    os.close(write_end)  # the relay holds its own copy
    return relay, read_end


def _eventually(condition, seconds: float = 5.0) -> bool:
    """Whether ``condition()`` holds within ``seconds`` (the relay's thread gets back to waiting on its own time)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True


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
            assert _eventually(lambda: relay.has_taken(6, idle_limit=0))  # once it waits on an empty pipe: QEMU holds nothing back


def test_a_finished_relay_ends_without_its_writers_end_of_file_after_delivering_what_it_took():
    other_writer = None
    with ExitStack() as helpers:
        relay, target = _relay_into_pipe(helpers)
        other_writer = os.dup(relay.write_end)  # as QEMU's copy, still open while it is being torn down
        os.write(relay.write_end, b"last words")
        assert _eventually(lambda: relay.taken == len(b"last words"))
        relay.finish()
    # the ExitStack joined the relay although a writer remains
    with open(target, "rb") as delivered:
        assert delivered.read() == b"last words"
    os.close(other_writer)
