"""Docker-style sizes, ages and truncation in listings."""

import time

import pytest

from dockpy.cli.humanize import ellipsize, go_time_text, human_age, human_duration, human_size, short_id


@pytest.mark.parametrize("size, text", [
    (0, "0B"), (999, "999B"), (1000, "1kB"), (4_261_000, "4.26MB"), (12_345_678_901, "12.3GB"), (999_600, "1MB"),
])
def test_sizes_use_decimal_units_with_three_digits(size, text):
    assert human_size(size) == text


@pytest.mark.parametrize("seconds, text", [
    (0.5, "Less than a second"), (1, "1 second"), (59, "59 seconds"), (60, "About a minute"), (600, "10 minutes"),
    (3600, "About an hour"), (7200, "2 hours"), (3 * 86400, "3 days"), (20 * 86400, "2 weeks"),
    (90 * 86400, "3 months"), (800 * 86400, "2 years"),
])
def test_durations_read_like_dockers(seconds, text):
    assert human_duration(seconds) == text


def test_an_age_is_relative_to_now_or_not_available():
    assert human_age(100.0, now=160.0) == "About a minute ago"
    assert human_age(None) == "N/A"


def test_ids_show_twelve_hex_digits_unless_untruncated():
    digest = "sha256:" + "ab" * 32
    assert short_id(digest) == "ab" * 6
    assert short_id(digest, no_trunc=True) == digest


def test_long_text_is_cut_with_an_ellipsis():
    assert ellipsize("x" * 50, 45) == "x" * 44 + "…"
    assert ellipsize("short", 45) == "short"
    assert ellipsize("x" * 50, 45, no_trunc=True) == "x" * 50


def test_go_time_text_prints_whole_seconds_as_gos_time_string(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        assert go_time_text(1704532079.9) == "2024-01-06 09:07:59 +0000 UTC"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_go_time_text_of_no_time_is_empty():
    assert go_time_text(None) == ""
