"""Assembling logical lines: continuations, comments, heredoc bodies, positions."""

import pytest

from dockpy.dockerfile.lines import MAX_LINE_BYTES, SourceLines, decode_dockerfile
from dockpy.errors import DockerfileError


def logical_lines(text, escape="\\"):
    source = SourceLines(text)
    lines = []
    while (line := source.next_logical_line(escape)) is not None:
        lines.append(line)
    return lines


def test_continuation_pieces_join_without_separator():
    [line] = logical_lines("RUN echo good\\\nbye\n")
    assert (line.text, line.start_line, line.end_line) == ("RUN echo goodbye", 1, 2)


def test_comments_and_blank_lines_inside_a_continuation_are_skipped():
    [line] = logical_lines("RUN a \\\n  # note\n\n  b\n")
    assert line.text == "RUN a   b"
    assert line.has_empty_continuation


def test_escaped_escape_at_end_of_line_does_not_continue():
    assert [line.text for line in logical_lines("RUN a \\\\\nRUN b\n")] == ["RUN a \\\\", "RUN b"]


def test_backtick_escape_continues_and_backslash_does_not():
    assert [line.text for line in logical_lines("RUN a `\nb\nRUN c \\\n", "`")] == ["RUN a b", "RUN c \\"]


def test_crlf_is_a_newline():
    assert [line.text for line in logical_lines("RUN a \\\r\nb\r\nCMD c\r\n")] == ["RUN a b", "CMD c"]


def test_locate_maps_an_offset_to_the_physical_line_and_column():
    [line] = logical_lines("  RUN a \\\n\tb c\n")
    assert line.locate(0) == (1, 3)
    assert line.locate(line.text.index("c")) == (2, 4)


def test_heredoc_body_is_read_verbatim_up_to_the_terminator():
    source = SourceLines("RUN <<EOF\n# kept\r\n\tEOF\nEOF\nCMD x\n")
    source.next_logical_line("\\")
    assert source.read_heredoc_body("EOF", chomp=False) == "# kept\r\n\tEOF\n"
    assert source.next_logical_line("\\").text == "CMD x"


def test_chomped_heredoc_terminator_may_be_indented_with_tabs():
    source = SourceLines("RUN <<-EOF\n\tbody\n\t\tEOF\n")
    source.next_logical_line("\\")
    assert source.read_heredoc_body("EOF", chomp=True) == "\tbody\n"


def test_heredoc_without_terminator_reads_none():
    source = SourceLines("RUN <<EOF\nbody\n")
    source.next_logical_line("\\")
    assert source.read_heredoc_body("EOF", chomp=False) is None


def test_byte_order_mark_is_removed():
    assert decode_dockerfile(b"\xef\xbb\xbfFROM x\n", "Dockerfile") == "FROM x\n"


def test_a_line_longer_than_buildkit_reads_is_an_error_naming_it():
    data = b"FROM x\nRUN " + b"a" * MAX_LINE_BYTES + b"\n"
    with pytest.raises(DockerfileError, match="^Dockerfile:2: dockerfile line greater than max allowed size of 65535$"):
        decode_dockerfile(data, "Dockerfile")


def test_a_line_of_exactly_the_maximum_is_accepted():
    data = b"RUN " + b"a" * (MAX_LINE_BYTES - 4)
    assert decode_dockerfile(data, "Dockerfile").startswith("RUN a")
