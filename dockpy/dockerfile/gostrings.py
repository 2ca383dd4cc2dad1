"""Go's string semantics that BuildKit's parser output depends on.

BuildKit is written in Go, and what counts as whitespace or how a string is
quoted in its AST dump comes from Go's standard library. Python's own notions
differ in small ways (``str.isspace`` also accepts U+001C..U+001F, ``repr``
quotes differently), so the parser uses these explicit definitions instead.

Source text is decoded with ``surrogateescape``: a byte that is not valid
UTF-8 becomes a lone surrogate U+DC80..U+DCFF and is quoted back as ``\\xHH``,
as Go does for the raw byte.
"""

from __future__ import annotations

import re

# Go's unicode.IsSpace: ASCII whitespace, U+0085, U+00A0 and Unicode's White_Space above U+00FF.
GO_WHITESPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"

# The whitespace BuildKit walks byte by byte (builder flags, HEALTHCHECK's type word).
ASCII_WHITESPACE = "\t\n\v\f\r "

# The separator of the keyword and of FROM/COPY/EXPOSE words: the regexp [\t\v\f\r ]+.
BLANK_RUN = re.compile(r"[\t\v\f\r ]+")

_SIMPLE_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    '"': '\\"',
    "\\": "\\\\",
}
# Strings with none of these characters quote as themselves (the common case).
_NEEDS_ESCAPING = re.compile(r'[^ -~]|["\\]')
_SURROGATE_ESCAPE_BASE = 0xDC00
# Undecodable bytes (surrogateescape) and the lone UTF-16 surrogates Python's json
# accepts from "\ud800".
_SURROGATE = re.compile("[\ud800-\udfff]")


_GO_WHITESPACE_RUN = re.compile("[" + re.escape(GO_WHITESPACE) + "]+")


def go_trim_space(text: str) -> str:
    """Go's strings.TrimSpace."""
    return text.strip(GO_WHITESPACE)


def split_go_fields(text: str) -> list[str]:
    """Split at runs of Go whitespace; the first and last piece may be empty.

    Unlike ``strings.Fields`` this keeps the empty edge pieces, so a caller
    gluing pieces onto neighbouring text knows whether the text began or ended
    with whitespace.
    """
    return _GO_WHITESPACE_RUN.split(text)


def replace_invalid_bytes(text: str) -> str:
    """``text`` as Go sees it after decoding runes: each undecodable byte is U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def go_quote(text: str) -> str:
    """Go's strconv.Quote: the string in double quotes with Go's escapes."""
    if not _NEEDS_ESCAPING.search(text):
        return f'"{text}"'
    return '"' + "".join(_quote_character(character) for character in text) + '"'


def _quote_character(character: str) -> str:
    escaped = _SIMPLE_ESCAPES.get(character)
    if escaped is not None:
        return escaped
    code = ord(character)
    if 0xDC80 <= code <= 0xDCFF:  # a raw byte that was not valid UTF-8
        return f"\\x{code - _SURROGATE_ESCAPE_BASE:02x}"
    # strconv.IsPrint accepts letters, marks, numbers, punctuation, symbols and
    # the ASCII space; str.isprintable rejects exactly the other categories.
    if character.isprintable():
        return character
    if code < 0x20 or code == 0x7F:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"

