"""Finding the heredocs an instruction line opens: ``RUN <<EOF``, ``COPY <<a 3<<-'b' /d``.

BuildKit splits the line into words with its shell lexer (quotes and escapes
kept, every ``$VAR`` unset and kept as written, ``<<`` glued to the word after
it even across blanks), and each word of the form ``[fd]<<[-]NAME`` opens a
heredoc. NAME is the word after quote removal; if any part of it was quoted
the body is not expanded later. Only RUN, COPY and ADD in shell form have
heredocs (also under ONBUILD); parser.py decides that.

The lexer is ``expand.ShellLexer``, the one the builder expands words with,
in the modes BuildKit uses here and always with a backslash as escape token,
whatever ``# escape=`` says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dockpy.dockerfile.expand import ShellLexer
from dockpy.errors import ExpansionError

# A heredoc word: optional file descriptor, <<, optional chomp, then the name.
_HEREDOC_WORD = re.compile(r"([0-9]*)<<(-?)[\t\n\f\r ]*([^<]*)")
# The line keeps everything as written; a name is read with quotes removed and with them kept.
_LINE_LEXER = ShellLexer(keep_unset=True, raw_quotes=True, raw_escapes=True)
_NAME_LEXER = ShellLexer(keep_unset=True)
_QUOTED_NAME_LEXER = ShellLexer(keep_unset=True, raw_quotes=True)


class HeredocSyntaxError(ValueError):
    """A heredoc name BuildKit's lexer cannot read; parser.py locates it."""


@dataclass(frozen=True, slots=True)
class HeredocMarker:
    """A ``<<NAME`` found on an instruction line; its body comes from the next lines."""

    name: str
    expand: bool
    chomp: bool
    fd: int


def find_heredoc_markers(line: str) -> list[HeredocMarker]:
    """The heredocs ``line`` opens, in order; none when the line does not lex."""
    markers = []
    for word in _words(_LINE_LEXER, line) or ():
        match = _HEREDOC_WORD.fullmatch(word)
        if match and match[3]:
            marker = _marker(match[1], match[2], match[3])
            if marker is not None:
                markers.append(marker)
    return markers


def _marker(fd: str, chomp: str, rest: str) -> HeredocMarker | None:
    """The heredoc named by ``rest``, or None when ``rest`` is more than one word.

    Whether the name was quoted is seen by lexing it twice, removing quotes
    and keeping them: an escaped quote is in both results, a quoting one only
    in the second.
    """
    words = _words(_NAME_LEXER, rest)
    if words is None:
        raise HeredocSyntaxError(f"failed to process heredoc name {rest!r}")
    if len(words) != 1:
        return None
    raw_words = _words(_QUOTED_NAME_LEXER, rest)
    if raw_words is None or len(raw_words) != 1:
        raise HeredocSyntaxError(f"internal lexing of heredoc produced inconsistent results: {rest}")
    name, raw_name = words[0], raw_words[0]
    expand = _count_quotes(name) == _count_quotes(raw_name)
    return HeredocMarker(name=name, expand=expand, chomp=chomp == "-", fd=int(fd or 0))


def _words(lexer: ShellLexer, text: str) -> list[str] | None:
    """The words ``lexer`` splits ``text`` into with no variable set; None if it does not lex."""
    try:
        return lexer.expand_words(text, {})
    except ExpansionError:
        return None


def _count_quotes(word: str) -> int:
    return word.count("'") + word.count('"')
