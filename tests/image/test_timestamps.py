"""RFC 3339 timestamps as OCI writes them."""

import pytest

from dockpy.image.timestamps import format_timestamp, parse_timestamp


def test_whole_seconds_have_no_fraction_and_end_in_z():
    assert format_timestamp(1_700_000_000) == "2023-11-14T22:13:20Z"


def test_fractions_keep_microseconds_and_round_trip():
    assert format_timestamp(1_700_000_000.25) == "2023-11-14T22:13:20.250000Z"
    assert parse_timestamp(format_timestamp(1_700_000_000.25)) == 1_700_000_000.25


def test_go_nanoseconds_and_offsets_are_read():
    assert parse_timestamp("2023-11-14T22:13:20.123456789Z") == pytest.approx(1_700_000_000.123456)
    assert parse_timestamp("2023-11-14T23:13:20+01:00") == 1_700_000_000


@pytest.mark.parametrize("text", [None, "", "yesterday", "2023-13-40T00:00:00Z"])
def test_absent_or_unreadable_times_are_none(text):
    assert parse_timestamp(text) is None
