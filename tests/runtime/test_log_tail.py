"""``logs --tail``: where a log's last lines begin."""

import io

import pytest

from dockpy.runtime import log_tail
from dockpy.runtime.log_tail import start_of_last_lines


def tail(data: bytes, count: int) -> bytes:
    file = io.BytesIO(data)
    return data[start_of_last_lines(file, count):]


@pytest.mark.parametrize("count, expected", [(1, b"c\n"), (2, b"b\nc\n"), (3, b"a\nb\nc\n"), (9, b"a\nb\nc\n")])
def test_the_last_lines_of_a_log_ending_in_a_newline(count, expected):
    assert tail(b"a\nb\nc\n", count) == expected


def test_an_unfinished_last_line_counts_as_a_line():
    assert tail(b"a\nb\npartial", 1) == b"partial"
    assert tail(b"a\nb\npartial", 2) == b"b\npartial"


def test_zero_lines_is_nothing():
    assert tail(b"a\nb\n", 0) == b""


def test_an_empty_log_has_no_lines():
    assert tail(b"", 3) == b""


def test_empty_lines_count_as_lines():
    assert tail(b"a\n\n\n", 2) == b"\n\n"


def test_lines_are_found_across_blocks(monkeypatch):
    monkeypatch.setattr(log_tail, "BLOCK_SIZE", 3)
    data = b"".join(b"line %d\n" % n for n in range(20))
    assert tail(data, 4) == b"line 16\nline 17\nline 18\nline 19\n"
