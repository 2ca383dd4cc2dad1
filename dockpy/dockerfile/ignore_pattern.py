"""One ``.dockerignore`` pattern, compiled the way moby/patternmatcher compiles it.

Docker checks a pattern's syntax with Go's ``filepath.Match`` and then matches
paths with a Go regular expression it builds from the pattern:

- ``*`` is ``[^/]*`` and ``?`` is ``[^/]``; ``**`` is ``(.*/)?`` (any number of
  directories, ``**/`` included), or "everything" at the end of the pattern;
- ``\\x`` is a literal ``x``; ``.+()|{}$`` are literal;
- ``[...]`` is handed to the regex engine as it is, so classes mean what they
  mean in a Go regex: ``[a-c]``, ``[^a]`` (``^`` negates, ``!`` does not),
  ``[[:alpha:]]``;
- a pattern made only of literals is compared as a string, ``dir/**`` as a
  prefix (``dir/``) and ``**/name`` as a suffix (``/name``, or exactly
  ``name``).

This module builds the same Go regex text, parses it with Go's rules into a
``tiny_regex`` expression, and matches with that. The few Go escapes this
does not implement (``\\pL``, ``\\Q...\\E``, octal and hex escapes) are
refused with a clear error rather than matched differently.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass

from dockpy.dockerfile.tiny_regex import (
    END,
    NOT_WORD_BOUNDARY,
    START,
    WORD_BOUNDARY,
    Assertion,
    CharTest,
    Group,
    Piece,
    compile_full_match,
)
from dockpy.errors import InvalidInputError

LITERAL_REGEX_CHARS = ".+()|{}$"
"""Characters that are special in a Go regex but literal in a pattern (patternmatcher escapes them)."""

POSIX_CLASSES = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7f",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}
"""Go's ``[:name:]`` classes, ASCII-only as in Go, written as Python class contents."""

PERL_CLASSES = {"d": "0-9", "s": "\\t\\n\\f\\r ", "w": "0-9A-Za-z_"}
"""Go's ``\\d``, ``\\s``, ``\\w`` (ASCII-only, unlike Python's), as Python class contents."""

CONTROL_ESCAPES = {"a": "\a", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


class MatchKind(enum.Enum):
    """How a pattern is compared with a path (patternmatcher's ``matchType``)."""

    EXACT = "exact"
    PREFIX = "prefix"
    SUFFIX = "suffix"
    REGEX = "regex"


@dataclass(frozen=True)
class IgnorePattern:
    """A compiled pattern: ``text`` is cleaned and without the ``!`` of an exception."""

    text: str
    exception: bool
    kind: MatchKind
    full_match: Callable[[str], bool] | None

    @classmethod
    def compile(cls, pattern: str, *, exception: bool) -> IgnorePattern:
        """Compile a cleaned pattern; InvalidInputError if Docker would reject it."""
        _check_glob_syntax(pattern)
        kind, go_regex = go_regex_source(pattern)
        full_match = None
        if kind is MatchKind.REGEX:
            try:
                full_match = compile_full_match(parse_go_regex(go_regex))
            except InvalidInputError as error:
                raise InvalidInputError(f"{error.message} in {pattern!r}") from None
        return cls(pattern, exception, kind, full_match)

    def matches(self, path: str) -> bool:
        """Whether this pattern matches exactly ``path`` (clean, relative, slash-separated)."""
        if self.kind is MatchKind.EXACT:
            return path == self.text
        if self.kind is MatchKind.PREFIX:
            return path.startswith(self.text[:-2])
        if self.kind is MatchKind.SUFFIX:
            suffix = self.text[2:]
            return path.endswith(suffix) or (suffix.startswith("/") and path == suffix[1:])
        return self.full_match(path)

    @property
    def has_wildcards(self) -> bool:
        """Whether the pattern can match more than one literal path (BuildKit's test)."""
        return any(char in self.text for char in "*[]?^\\")


def go_clean_path(path: str) -> str:
    """Go's ``filepath.Clean``: no empty, ``.`` or resolvable ``..`` elements, no trailing slash."""
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == ".." and parts and parts[-1] != "..":
            parts.pop()
        elif part != ".." or not rooted:
            parts.append(part)
    cleaned = "/".join(parts)
    if rooted:
        return "/" + cleaned
    return cleaned or "."


def _check_glob_syntax(pattern: str) -> None:
    """Reject what Go's ``filepath.Match`` calls ``ErrBadPattern``."""
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            if index + 1 == len(pattern):
                raise InvalidInputError(f"bad pattern {pattern!r}: it ends with an escape character")
            index += 2
        elif char == "[":
            index = _check_glob_class(pattern, index + 1)
        else:
            index += 1


def _check_glob_class(pattern: str, index: int) -> int:
    """Check the class whose ``[`` is just before ``index``; return the index after its ``]``."""
    if pattern.startswith("^", index):
        index += 1
    ranges = 0
    while not (ranges and pattern.startswith("]", index)):
        index = _check_glob_class_char(pattern, index)
        if pattern[index] == "-":
            index = _check_glob_class_char(pattern, index + 1)
        ranges += 1
    return index + 1


def _check_glob_class_char(pattern: str, index: int) -> int:
    """One (possibly escaped) class character, which the class must not end after."""
    if index >= len(pattern) or pattern[index] in "-]":
        raise InvalidInputError(f"bad pattern {pattern!r}: malformed character class")
    index += 2 if pattern[index] == "\\" else 1
    if index >= len(pattern):
        raise InvalidInputError(f"bad pattern {pattern!r}: character class is not closed")
    return index


def go_regex_source(pattern: str) -> tuple[MatchKind, str]:
    """The match kind and the Go regex text patternmatcher builds for ``pattern``."""
    kind = MatchKind.EXACT
    regex = ["^"]
    index = 0
    while index < len(pattern):
        char = pattern[index]
        first = index == 0
        index += 1
        if char == "*" and pattern.startswith("*", index):
            index += 1 + pattern.startswith("/", index + 1)
            kind, piece = _double_star(kind, at_end=index == len(pattern), first=first)
            regex.append(piece)
        elif char in "*?":
            regex.append("[^/]*" if char == "*" else "[^/]")
            kind = MatchKind.REGEX
        elif char in LITERAL_REGEX_CHARS:
            regex.append("\\" + char)
        elif char == "\\" and index < len(pattern):
            regex.append("\\" + pattern[index])
            index += 1
            kind = MatchKind.REGEX
        else:
            regex.append(char)
            if char in "[]":
                kind = MatchKind.REGEX
    regex.append("$")
    return kind, "".join(regex)


def _double_star(kind: MatchKind, *, at_end: bool, first: bool) -> tuple[MatchKind, str]:
    """``**`` (with the ``/`` after it): any directories, or everything at the end.

    A pattern of literals ending in ``**`` is a prefix test and one starting
    with ``**`` a suffix test, unless later characters need the regex.
    """
    if first:
        return MatchKind.SUFFIX, "" if at_end else "(.*/)?"
    if not at_end:
        return MatchKind.REGEX, "(.*/)?"
    if kind is MatchKind.EXACT:
        return MatchKind.PREFIX, ""
    return MatchKind.REGEX, ".*"


def parse_go_regex(source: str) -> tuple[Piece, ...]:
    """Parse the Go regex text built by ``go_regex_source`` (Go's syntax and meaning)."""
    pieces, _ = _parse_sequence(source, 0, in_group=False)
    return pieces


def _parse_sequence(source: str, index: int, *, in_group: bool) -> tuple[tuple[Piece, ...], int]:
    pieces: list[Piece] = []
    while index < len(source):
        char = source[index]
        if char == ")" and in_group:
            return tuple(pieces), index + 1
        if char in "*?":
            if not pieces or pieces[-1].repeat or isinstance(pieces[-1].atom, Assertion):
                raise InvalidInputError("bad pattern: misplaced repetition")
            pieces[-1] = Piece(pieces[-1].atom, char)
            index += 1
            continue
        atom, index = _parse_atom(source, index)
        pieces.append(Piece(atom))
    if in_group:
        raise InvalidInputError("bad pattern: missing ')'")
    return tuple(pieces), index


def _parse_atom(source: str, index: int) -> tuple[CharTest | Assertion | Group, int]:
    char = source[index]
    if char == "(":
        pieces, index = _parse_sequence(source, index + 1, in_group=True)
        return Group(pieces), index
    if char == "[":
        return _parse_class(source, index + 1)
    if char == "\\":
        return _parse_escape(source, index + 1)
    if char in _ANCHORS:
        return Assertion(_ANCHORS[char]), index + 1
    return CharTest("." if char == "." else re.escape(char)), index + 1


_ANCHORS = {"^": START, "$": END}
"""Go's ``^`` and ``$`` without the ``m`` flag: start and end of the text."""

_ESCAPED_ASSERTIONS = {"A": START, "z": END, "b": WORD_BOUNDARY, "B": NOT_WORD_BOUNDARY}


def _parse_escape(source: str, index: int) -> tuple[CharTest | Assertion, int]:
    """A Go escape outside a class, ``index`` just after the backslash."""
    char = source[index : index + 1]
    if char in PERL_CLASSES:
        return CharTest(f"[{PERL_CLASSES[char]}]"), index + 1
    if char.lower() in PERL_CLASSES:
        return CharTest(f"[^{PERL_CLASSES[char.lower()]}]"), index + 1
    if char in _ESCAPED_ASSERTIONS:
        return Assertion(_ESCAPED_ASSERTIONS[char]), index + 1
    return CharTest(re.escape(_escaped_char(source, index))), index + 1


def _escaped_char(source: str, index: int) -> str:
    """The character a Go escape other than a class stands for."""
    char = source[index : index + 1]
    if char and char.isascii() and not char.isalnum():
        return char
    if char in CONTROL_ESCAPES:
        return CONTROL_ESCAPES[char]
    raise InvalidInputError(f"bad pattern: escape '\\{char}' is invalid or not supported in .dockerignore")


def _parse_class(source: str, index: int) -> tuple[CharTest, int]:
    """A Go character class, ``index`` just after its ``[``, as a Python class."""
    negated = source.startswith("^", index)
    index += negated
    members: list[str] = []
    first = True
    while first or not source.startswith("]", index):
        if index >= len(source):
            raise InvalidInputError("bad pattern: character class is not closed")
        first = False
        member, index = _parse_class_member(source, index)
        members.append(member)
    return CharTest("[" + "^" * negated + "".join(members) + "]"), index + 1


def _parse_class_member(source: str, index: int) -> tuple[str, int]:
    """One named class, Perl class, character or range inside a Go class."""
    if source.startswith("[:", index) and (end := source.find(":]", index + 2)) >= 0:
        name = source[index + 2 : end]
        if name not in POSIX_CLASSES:
            raise InvalidInputError(f"bad pattern: [:{name}:] is not a supported character class")
        return POSIX_CLASSES[name], end + 2
    if source.startswith("\\", index) and source[index + 1 : index + 2] in PERL_CLASSES:
        return PERL_CLASSES[source[index + 1]], index + 2
    low, index = _class_char(source, index)
    if source.startswith("-", index) and index + 1 < len(source) and source[index + 1] != "]":
        high, index = _class_char(source, index + 1)
        if high < low:
            raise InvalidInputError(f"bad pattern: invalid character class range {low}-{high}")
        return f"{re.escape(low)}-{re.escape(high)}", index
    return re.escape(low), index


def _class_char(source: str, index: int) -> tuple[str, int]:
    if source.startswith("\\", index):
        return _escaped_char(source, index + 1), index + 2
    if index >= len(source):
        raise InvalidInputError("bad pattern: character class is not closed")
    return source[index], index + 1
