import pytest

from dockpy.build.durations import format_go_duration, parse_go_duration


@pytest.mark.parametrize(
    ("text", "nanoseconds"),
    [("30s", 30_000_000_000), ("1m30s", 90_000_000_000), ("1.5h", 5_400_000_000_000), ("300ms", 300_000_000),
     ("0", 0), ("2h45m", 9_900_000_000_000)],
)
def test_go_durations_parse_to_nanoseconds(text, nanoseconds):
    assert parse_go_duration(text) == nanoseconds


@pytest.mark.parametrize("text", ["", "30", "1x", "s", "1m-3s"])
def test_malformed_durations_are_refused(text):
    with pytest.raises(ValueError):
        parse_go_duration(text)


@pytest.mark.parametrize(
    ("nanoseconds", "text"),
    [(0, "0s"), (30_000_000_000, "30s"), (90_000_000_000, "1m30s"), (1_500_000_000, "1.5s"),
     (300_000_000, "300ms"), (3_600_000_000_000, "1h0m0s")],
)
def test_durations_print_like_gos_duration_string(nanoseconds, text):
    assert format_go_duration(nanoseconds) == text
