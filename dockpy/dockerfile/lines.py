"""From a Dockerfile's physical lines to its logical instruction lines.

This is the hand-written half of the parser, and the grammar
(``dockerfile.lark``) the other. The split follows what each can express:
BuildKit decides line by line, with state a context-free grammar does not
have. A ``# escape=`` directive changes the continuation character for the
rest of the file; whether the lines after an instruction are a heredoc body
depends on that instruction's parsed form (``RUN <<EOF`` is one, ``RUN
["<<EOF"]`` is not); and a body ends at a line equal to a name chosen in the
text. So this module reads lines (BOM, CRLF, continuations, comments and blank
lines inside a continuation, heredoc bodies), and the grammar parses each
assembled line. parser.py drives the two in turn, as BuildKit's loop does.

Rules (BuildKit's): a line's newline is all trailing CR and LF characters. A
line continues when it ends with the escape character, optionally followed by
spaces and tabs, unless that character is itself escaped (``\\\\``). Inside a
continued instruction, comment lines and blank lines are skipped; the pieces
are joined without separator. End of file ends a continued instruction.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from dockpy.dockerfile.gostrings import GO_WHITESPACE
from dockpy.errors import DockerfileError

# BuildKit reads lines with Go's bufio.Scanner, whose 64 KiB buffer must hold a line and its newline.
MAX_LINE_BYTES = 64 * 1024 - 1
# A longer line is cut in the error message so the message stays one screen.
_SNIPPET_LIMIT = 200
_BYTE_ORDER_MARK = "\ufeff"


@dataclass(frozen=True, slots=True)
class LogicalLine:
    """One instruction's text, assembled from its physical lines.

    ``segments`` maps offsets in ``text`` back to the source: for each piece,
    its offset in ``text``, its line number, and how many characters precede
    it on that line (the indentation stripped from a first line).
    """

    text: str
    start_line: int
    end_line: int
    segments: tuple[tuple[int, int, int], ...]
    has_empty_continuation: bool = False

    def locate(self, offset: int) -> tuple[int, int]:
        """The (line, column) in the source of ``text[offset]``, both from 1."""
        index = max(bisect_right(self.segments, (offset, float("inf"))) - 1, 0)
        piece_offset, line, column = self.segments[index]
        return line, column + offset - piece_offset + 1


def decode_dockerfile(data: bytes | str, filename: str) -> str:
    """The text of a Dockerfile: UTF-8 (bad bytes kept, see gostrings), BOM removed.

    Raises DockerfileError for a line longer than BuildKit reads.
    """
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    if len(data) > MAX_LINE_BYTES:
        _check_line_lengths(data, filename)
    return data.decode("utf-8", "surrogateescape").removeprefix(_BYTE_ORDER_MARK)


def _check_line_lengths(data: bytes, filename: str) -> None:
    for number, line in enumerate(data.split(b"\n"), start=1):
        if len(line) > MAX_LINE_BYTES:
            snippet = line[:_SNIPPET_LIMIT].decode("utf-8", "replace") + "..."
            raise DockerfileError(
                f"dockerfile line greater than max allowed size of {MAX_LINE_BYTES}",
                filename=filename,
                line=number,
                snippet=snippet,
            )


class SourceLines:
    """The physical lines of one Dockerfile, read front to back.

    ``next_logical_line`` returns instruction lines one at a time; between two
    calls the caller may ``read_heredoc_body`` from the lines that follow.
    """

    def __init__(self, text: str, filename: str = "Dockerfile"):
        self.filename = filename
        self._lines = text.split("\n")
        # text.split leaves an empty last item after a final newline: not a line.
        self._ends_with_newline = self._lines[-1] == ""
        if self._ends_with_newline:
            self._lines.pop()
        self._next = 0

    @property
    def lines_read(self) -> int:
        """How many lines have been consumed: the number of the last one read."""
        return self._next

    def line(self, number: int) -> str:
        """Line ``number`` (from 1) without its newline."""
        return self._lines[number - 1].rstrip("\r")

    @property
    def line_count(self) -> int:
        return len(self._lines)

    def error(self, message: str, line: int | None = None, column: int | None = None) -> DockerfileError:
        """A DockerfileError located at ``line``/``column``, showing that line."""
        snippet = None
        if line is not None and 0 < line <= len(self._lines):
            snippet = self.line(line)
            if len(snippet) > _SNIPPET_LIMIT:
                snippet = snippet[:_SNIPPET_LIMIT] + "..."
        return DockerfileError(message, filename=self.filename, line=line, column=column, snippet=snippet)

    def next_logical_line(self, escape: str) -> LogicalLine | None:
        """The next instruction's assembled line, or None at the end of the file."""
        while self._next < len(self._lines):
            number, physical = self._take_line()
            stripped = physical.lstrip(GO_WHITESPACE)
            if stripped.startswith("#"):
                continue
            text, continues = _trim_continuation(stripped, escape)
            if continues or text:
                indent = len(physical) - len(stripped)
                return self._continue_logical_line(text, continues, escape, (0, number, indent))
        return None

    def _take_line(self) -> tuple[int, str]:
        """The next physical line's number and text (without newline)."""
        self._next += 1
        return self._next, self.line(self._next)

    def _continue_logical_line(self, text, continues, escape, first_segment) -> LogicalLine:
        """The logical line that starts with ``text``, taking continuation lines while it continues."""
        pieces, segments, length = [text], [first_segment], len(text)
        has_empty_continuation = False
        while continues and self._next < len(self._lines):
            number, physical = self._take_line()
            stripped = physical.lstrip(GO_WHITESPACE)
            if stripped.startswith("#"):
                continue
            if not stripped:
                has_empty_continuation = True
                continue
            piece, continues = _trim_continuation(physical, escape)
            pieces.append(piece)
            segments.append((length, number, 0))
            length += len(piece)
        return LogicalLine("".join(pieces), first_segment[1], self._next, tuple(segments), has_empty_continuation)

    def read_heredoc_body(self, name: str, chomp: bool) -> str | None:
        """The lines up to the one that equals ``name``, verbatim; None if no line does.

        With ``chomp`` (``<<-``) leading tabs do not count when comparing.
        """
        body = []
        while self._next < len(self._lines):
            physical = self._lines[self._next]
            self._next += 1
            candidate = physical.rstrip("\r")
            if chomp:
                candidate = candidate.lstrip("\t")
            if candidate == name:
                return "".join(body)
            body.append(physical if self._is_last_line_without_newline() else physical + "\n")
        return None

    def _is_last_line_without_newline(self) -> bool:
        return self._next == len(self._lines) and not self._ends_with_newline


def _trim_continuation(line: str, escape: str) -> tuple[str, bool]:
    """``line`` without a trailing continuation character, and whether there was one."""
    body = line.rstrip(" \t")
    if body.endswith(escape) and not body.endswith(escape + escape):
        return body[:-1], True
    return line, False
