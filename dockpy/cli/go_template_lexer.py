"""Go text/template's lexer: a template's text as literal pieces and the tokens of its actions.

Go's rules, which scripts written for Docker rely on:

- an action is ``{{ ... }}``; ``{{- `` and `` -}}`` (the dash beside a space)
  trim the white space (space, tab, CR, LF) before and after it;
- ``{{/* comment */}}`` is dropped, and may carry the trim markers too;
- inside an action: fields ``.Name``, variables ``$x`` and ``$``, ``.`` alone,
  identifiers (functions and keywords), strings (``"..."`` with Go's escapes,
  or raw ```...```), numbers, character constants (``'a'`` is a number),
  ``|``, ``(``, ``)``, ``,``, ``:=`` and ``=``; white space (newlines
  included) separates them, and ``Token.spaced`` records it, since a field
  right after ``)`` or ``$x`` continues that value while one after a space
  is a new argument.

Hand-written rather than a lark grammar: ``ps --format`` lexes its template
at every call, and this costs microseconds and imports nothing.
"""

from __future__ import annotations

TEXT, FIELD, VARIABLE, DOT, IDENTIFIER, STRING, NUMBER, PIPE, OPEN, CLOSE, COMMA, DECLARE, ASSIGN, LEFT, RIGHT, END = (
    "text", "field", "variable", "dot", "identifier", "string", "number", "|", "(", ")", ",", ":=", "=", "{{", "}}",
    "end of template",
)


class Token:
    """``kind`` is one of the names above; ``value`` the text (or the decoded string or number); ``position``
    an offset into the template; ``spaced`` whether white space comes before it. (A class with slots rather
    than a namedtuple: ``ps --format`` imports this module, and a namedtuple costs a tenth of a millisecond.)"""

    __slots__ = ("kind", "value", "position", "spaced")

    def __init__(self, kind: str, value, position: int, spaced: bool):
        self.kind = kind
        self.value = value
        self.position = position
        self.spaced = spaced


_SPACE = " \t\r\n"
_PUNCTUATION = {"|": PIPE, "(": OPEN, ")": CLOSE, ",": COMMA, "=": ASSIGN}
_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}
_HEX_ESCAPE_LENGTHS = {"x": 2, "u": 4, "U": 8}


class TemplateError(Exception):
    """A template that cannot be parsed or executed, at ``position`` (an offset into its text)."""

    def __init__(self, message: str, position: int):
        super().__init__(message)
        self.message = message
        self.position = position


def tokenize(text: str) -> list[Token]:
    """Every token of ``text``: TEXT pieces, and each action's tokens between LEFT and RIGHT; END last."""
    tokens: list[Token] = []
    position = 0
    while (start := text.find("{{", position)) >= 0:
        trims_before = text[start + 2 : start + 3] == "-" and _is_space(text, start + 3)
        literal = text[position:start]
        _append_text(tokens, literal.rstrip(_SPACE) if trims_before else literal, position)
        position, trims_after = _lex_action(text, start, start + (4 if trims_before else 2), tokens)
        if trims_after:
            position = len(text) - len(text[position:].lstrip(_SPACE))
    _append_text(tokens, text[position:], position)
    tokens.append(Token(END, "", len(text), True))
    return tokens


def _append_text(tokens: list[Token], literal: str, position: int) -> None:
    if literal:
        tokens.append(Token(TEXT, literal, position, False))


def _is_space(text: str, position: int) -> bool:
    return text[position : position + 1] != "" and text[position] in _SPACE


def _lex_action(text: str, opening: int, position: int, tokens: list[Token]) -> tuple[int, bool]:
    """Lex the action whose ``{{`` is at ``opening`` from ``position``, just inside it (and its trim marker):
    the offset just past its ``}}``, and whether it ended with a trim marker. A comment adds no tokens."""
    if text.startswith("/*", position):
        return _skip_comment(text, position)
    tokens.append(Token(LEFT, "{{", opening, False))
    spaced = True
    while True:
        if position >= len(text):
            raise TemplateError("unclosed action (a '{{' without '}}')", opening)
        if _is_space(text, position):
            if text.startswith("-}}", position + 1):
                tokens.append(Token(RIGHT, "}}", position, True))
                return position + 4, True
            position, spaced = position + 1, True
        elif text.startswith("}}", position):
            tokens.append(Token(RIGHT, "}}", position, spaced))
            return position + 2, False
        else:
            token, position = _lex_token(text, position, spaced)
            tokens.append(token)
            spaced = False


def _skip_comment(text: str, position: int) -> tuple[int, bool]:
    """Skip ``/* ... */`` and the action's end, as ``_lex_action`` returns them."""
    end = text.find("*/", position + 2)
    if end < 0:
        raise TemplateError("unclosed comment", position)
    end += 2
    if text.startswith("}}", end):
        return end + 2, False
    if _is_space(text, end) and text.startswith("-}}", end + 1):
        return end + 4, True
    raise TemplateError("comment ends before closing delimiter", end)


def _lex_token(text: str, position: int, spaced: bool) -> tuple[Token, int]:
    """The token that starts at ``position`` (not white space, not ``}}``), and the offset after it."""
    character = text[position]
    if character == "." and not _is_digit(text, position + 1):
        end = _word_end(text, position + 1)
        return Token(FIELD if end > position + 1 else DOT, text[position + 1 : end] or ".", position, spaced), end
    if character == "$":
        end = _word_end(text, position + 1)
        return Token(VARIABLE, text[position:end], position, spaced), end
    if character.isalpha() or character == "_":
        end = _word_end(text, position)
        return Token(IDENTIFIER, text[position:end], position, spaced), end
    if character in "\"`'":
        value, end = _lex_quoted(text, position)
        kind = NUMBER if character == "'" else STRING
        return Token(kind, ord(value) if kind == NUMBER else value, position, spaced), end
    if _is_digit(text, position) or character in "+-." and _starts_number(text, position + 1):
        value, end = _lex_number(text, position)
        return Token(NUMBER, value, position, spaced), end
    if text.startswith(":=", position):
        return Token(DECLARE, ":=", position, spaced), position + 2
    if character in _PUNCTUATION:
        return Token(_PUNCTUATION[character], character, position, spaced), position + 1
    raise TemplateError(f"unrecognized character in action: {character!r}", position)


def _starts_number(text: str, position: int) -> bool:
    """Whether a sign or point before ``position`` begins a number: a digit or a point follows it."""
    return _is_digit(text, position) or text[position : position + 1] == "."


def _is_digit(text: str, position: int) -> bool:
    """An ASCII digit at ``position``: Go's numbers have no others."""
    return "0" <= text[position : position + 1] <= "9"


def _word_end(text: str, position: int) -> int:
    while position < len(text) and (text[position].isalnum() or text[position] == "_"):
        position += 1
    return position


def _lex_number(text: str, position: int) -> tuple[int | float, int]:
    """A Go number constant: decimal, 0x/0o/0b or leading-0 octal integers, floats with an exponent."""
    end = position + 1
    while end < len(text) and (text[end].isalnum() or text[end] in "._" or text[end] in "+-" and text[end - 1] in "eEpP"):
        end += 1
    word = text[position:end].replace("_", "")
    try:
        return _number_of(word), end
    except ValueError:
        raise TemplateError(f"bad number syntax: {text[position:end]!r}", position) from None


def _number_of(word: str) -> int | float:
    digits = word.lstrip("+-")
    if digits[:2].lower() in ("0x", "0o", "0b"):
        return int(word, 0)
    if digits.isdigit():
        return int(word, 8) if digits.startswith("0") and len(digits) > 1 else int(word)
    if digits.lower() in ("inf", "infinity", "nan"):
        raise ValueError(word)
    return float(word)


def _lex_quoted(text: str, position: int) -> tuple[str, int]:
    """A quoted constant's value and the offset after its closing quote: raw ```...``` as it is, else unescaped."""
    quote = text[position]
    if quote == "`":
        end = text.find("`", position + 1)
        if end < 0:
            raise TemplateError("unterminated raw quoted string", position)
        return text[position + 1 : end], end + 1
    pieces, index = [], position + 1
    while index < len(text) and text[index] != quote:
        if text[index] == "\n":
            break
        piece, index = _unescaped(text, index, quote) if text[index] == "\\" else (text[index], index + 1)
        pieces.append(piece)
    if index >= len(text) or text[index] != quote:
        raise TemplateError("unterminated quoted string" if quote == '"' else "unterminated character constant", position)
    value = "".join(pieces)
    if quote == "'" and len(value) != 1:
        raise TemplateError(f"malformed character constant: {text[position:index + 1]}", position)
    return value, index + 1


def _unescaped(text: str, index: int, quote: str) -> tuple[str, int]:
    """The character a Go escape at ``index`` (its backslash) stands for, and the offset after it."""
    letter = text[index + 1 : index + 2]
    if letter in _SIMPLE_ESCAPES or letter == quote:
        return _SIMPLE_ESCAPES.get(letter, quote), index + 2
    if letter in _HEX_ESCAPE_LENGTHS:
        digits = text[index + 2 : index + 2 + _HEX_ESCAPE_LENGTHS[letter]]
        if len(digits) == _HEX_ESCAPE_LENGTHS[letter] and all(d in "0123456789abcdefABCDEF" for d in digits):
            return _character(int(digits, 16), letter, index), index + 2 + len(digits)
    digits = text[index + 1 : index + 4]
    if len(digits) == 3 and all(d in "01234567" for d in digits) and int(digits, 8) < 256:
        return chr(int(digits, 8)), index + 4
    raise TemplateError(f"invalid escape \\{letter} in a quoted string", index)


def _character(code: int, letter: str, index: int) -> str:
    """A \\x byte is a code point below 256 here (Python strings hold no raw bytes); \\u, \\U must be valid runes."""
    if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise TemplateError(f"invalid escape \\{letter}: {code:#x} is not a Unicode code point", index)
    return chr(code)
