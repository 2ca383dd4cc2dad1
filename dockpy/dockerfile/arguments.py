"""How BuildKit's parser turns an instruction's text into argument strings.

The grammar finds the pieces of a line (keyword, flags, exec-form array or
text); these functions give them their values, one rule per kind of
instruction, as BuildKit's line parsers do. Nothing here removes quotes from
arguments or expands variables: that is the builder's job, per instruction.
"""

from __future__ import annotations

import json
import re

from dockpy.dockerfile.gostrings import BLANK_RUN, GO_WHITESPACE, go_quote, replace_invalid_bytes

_QUOTES = "'\""
_GO_WHITESPACE_RUN = re.compile(f"[{re.escape(GO_WHITESPACE)}]+")
_FLOAT64_MAX = 1.7976931348623157e308


class ArgumentError(ValueError):
    """Arguments BuildKit's parser rejects; ``offset`` is where, in the instruction line."""

    def __init__(self, message: str, offset: int):
        super().__init__(message)
        self.message = message
        self.offset = offset


def unquote_flag(raw: str) -> str:
    """A builder flag's value: ``--chown="a b"`` is ``--chown=a b``.

    Quotes group and are removed, and a backslash takes the next character
    literally (inside quotes too), whatever the file's escape character.
    """
    if "\\" not in raw and "'" not in raw and '"' not in raw:
        return raw
    value, quote, position = [], None, 0
    while position < len(raw):
        character = raw[position]
        if character == "\\":
            position += 1
            value.append(raw[position : position + 1])
        elif character == quote:
            quote = None
        elif quote is None and character in _QUOTES:
            quote = character
        else:
            value.append(character)
        position += 1
    return "".join(value)


def decode_exec_form(text: str) -> tuple[str, ...]:
    """The strings of a JSON array the grammar has recognised as exec form."""
    return tuple(replace_invalid_bytes(item) for item in json.loads(text.lstrip(GO_WHITESPACE)))


def reject_non_string_array(text: str, offset: int) -> None:
    """ArgumentError if ``text`` is a valid JSON array holding anything but strings.

    Any other text that is not exec form falls back to shell form silently:
    ``CMD [ -f x ] && y`` is a shell command, ``CMD [1]`` is an error.
    """
    if not text.startswith("["):
        return
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_int=_go_number, parse_float=_go_number)
    except (ValueError, RecursionError):
        return
    if isinstance(value, list):
        raise ArgumentError("when using JSON array syntax, arrays must be comprised of strings only", offset)


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")  # Python accepts NaN and Infinity, Go does not


def _go_number(text: str) -> float:
    """A JSON number as Go decodes it: a float64, and an error beyond its range."""
    number = float(text)
    if abs(number) > _FLOAT64_MAX:
        raise ValueError(f"{text} overflows a float64")
    return number


def split_blanks(text: str) -> tuple[str, ...]:
    """FROM, EXPOSE and shell-form ADD/COPY/VOLUME: split on runs of blanks, quotes ignored."""
    return tuple(BLANK_RUN.split(text))


def split_words(text: str, escape: str) -> list[str]:
    """Shell-like words for ENV, LABEL and ARG, quotes and escapes kept as written.

    Whitespace separates words except inside quotes or after the escape
    character; the escape character at the very end of the text is dropped.
    BuildKit reads the text as runes here, so a byte that is not UTF-8 becomes U+FFFD.
    """
    text = replace_invalid_bytes(text)
    if escape not in text and "'" not in text and '"' not in text:
        return [word for word in _GO_WHITESPACE_RUN.split(text) if word]
    words, word, quote, quoted = [], [], None, False
    position, end = 0, len(text)
    while position < end:
        character = text[position]
        if quote is None and character in GO_WHITESPACE:
            if word or quoted:
                words.append("".join(word))
            word, quoted = [], False
        else:
            if character == escape and quote != "'":
                if position + 1 == end:
                    break
                word.append(character)
                position += 1
                character = text[position]
            elif character == quote:
                quote = None
            elif quote is None and character in _QUOTES:
                quote, quoted = character, True
            word.append(character)
        position += 1
    if word or quoted:
        words.append("".join(word))
    return words


def name_value_args(keyword: str, text: str, escape: str, offset: int) -> tuple[str, ...]:
    """ENV and LABEL: (name, value, separator) triples.

    The legacy form ``ENV name some value`` gives one triple with the rest of
    the line as value and "" as separator; ``ENV a=1 b="2 3"`` gives a triple
    per word with "=" as separator. Values keep their quotes and escapes.
    """
    words = split_words(text, escape)
    if not words:
        return ()
    if "=" not in words[0]:
        parts = BLANK_RUN.split(text, maxsplit=1)
        if len(parts) < 2:
            raise ArgumentError(f"{keyword.upper()} must have two arguments", offset)
        return (parts[0], parts[1], "")
    args: list[str] = []
    for word in words:
        name, equals, value = word.partition("=")
        if not equals:
            raise ArgumentError(f"Syntax error - can't find = in {go_quote(word)}. Must be of the form: name=value", offset)
        args += (name, value, "=")
    return tuple(args)
