"""Finding the heredocs an instruction line opens: ``RUN <<EOF``, ``COPY <<a 3<<-'b' /d``.

BuildKit splits the line into shell words with its shell lexer (quotes and
escapes kept, ``$VAR`` kept as written, ``<<`` glued to the word after it even
across spaces), and each word of the form ``[fd]<<[-]NAME`` opens a heredoc.
NAME is the word after quote removal; if any part of it was quoted the body
is not expanded later. Only RUN, COPY and ADD in shell form have heredocs
(also under ONBUILD); parser.py decides that.

The lexer here is the small part of BuildKit's shell lexer this needs, with
its quirks, and with no variables set (every ``$x`` is unset and kept).
``expand.py`` is the full lexer the builder uses for variable expansion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dockpy.dockerfile.gostrings import GO_WHITESPACE

# A heredoc word: optional file descriptor, <<, optional chomp, then the name.
_HEREDOC_WORD = re.compile(r"([0-9]*)<<(-?)[\t\n\f\r ]*([^<]*)")
_ESCAPE = "\\"  # the shell lexer always escapes with a backslash, whatever `# escape=` says
_SPECIAL_PARAMETERS = "@*#?-$!0"


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
    words = _ShellWords(line, raw_quotes=True, raw_escapes=True).split()
    markers = []
    for word in words or ():
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
    words = _ShellWords(rest, raw_quotes=False, raw_escapes=False).split()
    if words is None:
        raise HeredocSyntaxError(f"failed to process heredoc name {rest!r}")
    if len(words) != 1:
        return None
    raw_words = _ShellWords(rest, raw_quotes=True, raw_escapes=False).split()
    if raw_words is None or len(raw_words) != 1:
        raise HeredocSyntaxError(f"internal lexing of heredoc produced inconsistent results: {rest}")
    name, raw_name = words[0], raw_words[0]
    expand = _count_quotes(name) == _count_quotes(raw_name)
    return HeredocMarker(name=name, expand=expand, chomp=chomp == "-", fd=int(fd or 0))


def _count_quotes(word: str) -> int:
    return word.count("'") + word.count('"')


class _LexError(ValueError):
    """The line does not lex (an unterminated quote, a bad ${...})."""


class _WordList:
    """Collects characters into words split at unquoted whitespace (BuildKit's wordsStruct)."""

    def __init__(self):
        self.words: list[str] = []
        self.word = ""
        self.in_word = False

    def add_char(self, character: str) -> None:
        if character not in GO_WHITESPACE:
            self.add_raw(character)
        elif self.in_word and self.word:
            self.words.append(self.word)
            self.word, self.in_word = "", False

    def add_text(self, text: str) -> None:
        for character in text:
            self.add_char(character)

    def add_raw(self, text: str) -> None:
        self.word += text
        self.in_word = True

    def finish(self) -> list[str]:
        if self.word:
            self.words.append(self.word)
        return self.words


class _ShellWords:
    """BuildKit's shell lexer in word-list mode, with every variable unset and kept."""

    def __init__(self, text: str, *, raw_quotes: bool, raw_escapes: bool):
        self._text = text
        self._position = 0
        self._raw_quotes = raw_quotes
        self._raw_escapes = raw_escapes
        self._specials = {
            "$": self._dollar,
            "<": self._possible_heredoc,
            "'": self._single_quoted,
            '"': self._double_quoted,
        }

    def split(self) -> list[str] | None:
        """The words of the text, or None if it does not lex."""
        try:
            return self._process_until(None, self._raw_escapes)[1]
        except _LexError:
            return None

    def _peek(self) -> str | None:
        return self._text[self._position] if self._position < len(self._text) else None

    def _next(self) -> str | None:
        character = self._peek()
        self._position += 1
        return character

    def _process_until(self, stop: str | None, raw_escapes: bool) -> tuple[str, list[str]]:
        saved, self._raw_escapes = self._raw_escapes, raw_escapes
        try:
            return self._process_characters(stop)
        finally:
            self._raw_escapes = saved

    def _process_characters(self, stop: str | None) -> tuple[str, list[str]]:
        result, words = [], _WordList()
        while (character := self._peek()) is not None:
            if character == stop:
                self._position += 1
                return "".join(result), words.finish()
            special = self._specials.get(character)
            if special is not None:
                text = special()
                result.append(text)
                if character == "$":  # an expansion splits into words; quotes do not
                    words.add_text(text)
                else:
                    words.add_raw(text)
            elif not self._process_plain(result, words):
                break
        if stop is not None:
            raise _LexError(f"unexpected end of statement while looking for matching {stop}")
        return "".join(result), words.finish()

    def _process_plain(self, result: list[str], words: _WordList) -> bool:
        """One ordinary or escaped character; False at an escape that ends the text."""
        character = self._next()
        if character != _ESCAPE:
            words.add_char(character)
            result.append(character)
            return True
        if self._raw_escapes:
            words.add_raw(character)
            result.append(character)
        escaped = self._next()
        if escaped is None:
            return False
        words.add_raw(escaped)
        result.append(escaped)
        return True

    def _single_quoted(self) -> str:
        """'...': every character literal; the quotes kept only with raw quotes."""
        end = self._text.find("'", self._position + 1)
        if end < 0:
            raise _LexError("unexpected end of statement while looking for matching single-quote")
        start, self._position = self._position, end + 1
        return self._text[start : end + 1] if self._raw_quotes else self._text[start + 1 : end]

    def _double_quoted(self) -> str:
        """"...": $ is processed, and the escape escapes only " $ and itself."""
        self._position += 1
        result = ['"'] if self._raw_quotes else []
        while (character := self._peek()) != '"':
            if character is None:
                raise _LexError("unexpected end of statement while looking for matching double-quote")
            if character == "$":
                result.append(self._dollar())
                continue
            self._position += 1
            if character == _ESCAPE:
                if self._raw_escapes:
                    result.append(character)
                if self._peek() in ('"', "$", _ESCAPE):
                    character = self._next()
            result.append(character)
        self._position += 1
        return "".join(result) + ('"' if self._raw_quotes else "")

    def _possible_heredoc(self) -> str:
        """``<<`` and the spaces after it stay one word with the name that follows."""
        self._position += 1
        if self._peek() != "<":
            return "<"
        self._position += 1
        start = self._position
        while self._peek() is not None and self._peek() in " \t\r\n":
            self._position += 1
        return "<<" + self._text[start : self._position]

    def _dollar(self) -> str:
        """``$name`` or ``${...}``, kept as written because nothing is set."""
        self._position += 1
        if self._peek() != "{":
            return "$" + self._name()
        self._position += 1
        if self._peek() is None:
            raise _LexError("syntax error: missing '}'")
        if self._peek() in "{}:":
            raise _LexError("syntax error: bad substitution")
        return self._braced(self._name())

    def _braced(self, name: str) -> str:
        modifier = self._next()
        if modifier == "}":
            return "${" + name + "}"
        if modifier == ":":
            modifier += self._next() or ""
        if modifier and modifier[0] in ":+-?#%":
            word, _ = self._process_until("}", raw_escapes=modifier[-1] in "#%")
            return "${" + name + modifier + word + "}"
        if modifier == "/":
            if self._peek() == "/":
                self._position += 1
            pattern, _ = self._process_until("/", raw_escapes=True)
            replacement, _ = self._process_until("}", raw_escapes=True)
            return "${" + name + "/" + pattern + "/" + replacement + "}"
        raise _LexError(f"unsupported modifier ({modifier}) in substitution")

    def _name(self) -> str:
        """A variable name: letters, digits and _; or all leading digits; or one special character."""
        start = self._position
        first = self._peek()
        if first is not None and first.isdecimal():
            while self._peek() is not None and self._peek().isdecimal():
                self._position += 1
        elif first is not None and first in _SPECIAL_PARAMETERS:
            self._position += 1
        else:
            while self._peek() is not None and _is_name_character(self._peek()):
                self._position += 1
        return self._text[start : self._position]


def _is_name_character(character: str) -> bool:
    """Go's unicode.IsLetter, unicode.IsDigit, or an underscore."""
    return character.isalpha() or character.isdecimal() or character == "_"
