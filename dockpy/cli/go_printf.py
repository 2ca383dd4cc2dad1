"""Go's fmt.Sprintf, as a template's ``printf`` runs it: the verbs scripts use, and Go's marks for misfits.

Verbs: ``%v`` (any value, printed as Go prints it), ``%s`` and ``%q`` (strings;
``%q`` quotes as Go's strconv.Quote), ``%d``, ``%x``/``%X``, ``%o``, ``%b``,
``%c``, ``%U`` (integers), ``%t`` (booleans), ``%e``/``%f``/``%g`` (floats),
``%%``; flags ``-``, ``+``, ``0``, ``#`` and a width and precision. Lists and
maps take the verb element by element (``%s`` of ``[a b]`` is ``[a b]``).
As in Go, nothing here is an error: a value the verb does not fit prints as
``%!d(string=web)``, a missing operand as ``%!s(MISSING)``, and operands left
over as ``%!(EXTRA string=x)``.
"""

from __future__ import annotations

from dockpy.cli.go_values import MISSING, float_text, go_text, go_type

# What may follow a '%': flags, then a width and a precision of ASCII digits (Go's fmt reads no others).
_FLAGS = "-+# 0"
_DIGITS = "0123456789"
# Go's fmt refuses widths and precisions beyond a million (%!(BADWIDTH)), which also bounds the memory used.
MAXIMUM_WIDTH = 1_000_000
_QUOTE_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v", "\\": "\\\\"}
_INTEGER_VERBS = {"d": "d", "x": "x", "X": "X", "o": "o", "b": "b"}


def go_sprintf(format_text: str, values: list) -> str:
    """``format_text`` with each directive replaced by the next of ``values``, formatted as Go formats it."""
    pieces, used, position = [], 0, 0
    while (start := format_text.find("%", position)) >= 0:
        pieces.append(format_text[position:start])
        flags, width, precision, verb, position = _directive_at(format_text, start + 1)
        if verb in ("%", ""):
            pieces.append("%" if verb else "%!(NOVERB)")
            continue
        width, precision, marks = _bounded(width, precision)
        if used == len(values):
            pieces.append(f"{marks}%!{verb}(MISSING)")
            continue
        used += 1
        pieces.append(marks + _formatted(values[used - 1], verb, flags, width, precision))
    pieces.append(format_text[position:])
    if used < len(values):
        pieces.append("%!(EXTRA " + ", ".join(f"{go_type(value)}={go_text(value)}" for value in values[used:]) + ")")
    return "".join(pieces)


def _directive_at(text: str, position: int) -> tuple[str, str, str | None, str, int]:
    """The directive whose '%' is just before ``position``: its flags, width, precision (None without a '.'),
    verb (empty when the format ends first) and the offset after it. Scanned by hand: a regular expression
    would be compiled again on every ``ps --format``, at a quarter of a millisecond."""
    flags_end = _span(text, position, _FLAGS)
    width_end = _span(text, flags_end, _DIGITS)
    precision, verb_start = None, width_end
    if text.startswith(".", width_end):
        verb_start = _span(text, width_end + 1, _DIGITS)
        precision = text[width_end + 1 : verb_start]
    verb = text[verb_start : verb_start + 1]
    return text[position:flags_end], text[flags_end:width_end], precision, verb, verb_start + len(verb)


def _span(text: str, position: int, characters: str) -> int:
    """The offset of the first character from ``position`` on that is not one of ``characters``."""
    while position < len(text) and text[position] in characters:
        position += 1
    return position


def _bounded(width: str, precision: str | None) -> tuple[int, int | None, str]:
    """Width and precision as numbers; one too large is dropped behind Go's mark, as Go drops it."""
    marks = ""
    if width and int(width) > MAXIMUM_WIDTH:
        width, marks = "", "%!(BADWIDTH)"
    if precision and int(precision) > MAXIMUM_WIDTH:
        precision, marks = None, marks + "%!(BADPREC)"
    return int(width or 0), None if precision is None else int(precision or 0), marks


def _formatted(value, verb: str, flags: str, width: int, precision: int | None) -> str:
    text = _verb_text(value, verb, flags, precision)
    if text is None:
        return _misfit(verb, value)
    if len(text) >= width:
        return text
    if "-" in flags:
        return text.ljust(width)
    if "0" in flags and isinstance(value, (int, float)) and not isinstance(value, bool):
        sign = text[0] if text[:1] in ("-", "+") else ""
        return sign + text[len(sign):].rjust(width - len(sign), "0")
    return text.rjust(width)


def _verb_text(value, verb: str, flags: str, precision: int | None) -> str | None:
    """``value`` formatted by ``verb``; None when the verb does not fit its type."""
    if verb == "v":
        return value[:precision] if isinstance(value, str) and precision is not None else go_text(value)
    if isinstance(value, list):
        return "[" + " ".join(_element_text(item, verb, flags, precision) for item in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(
            f"{_element_text(key, verb, flags, precision)}:{_element_text(value[key], verb, flags, precision)}"
            for key in sorted(value)) + "]"
    if isinstance(value, str):
        return _string_text(value, verb, precision)
    if isinstance(value, bool):
        return ("true" if value else "false") if verb == "t" else None
    if isinstance(value, int):
        return _integer_text(value, verb, flags)
    if isinstance(value, float):
        return _float_text(value, verb, flags, precision)
    return None


def _element_text(value, verb: str, flags: str, precision: int | None) -> str:
    text = _verb_text(value, verb, flags, precision)
    return _misfit(verb, value) if text is None else text


def _string_text(value: str, verb: str, precision: int | None) -> str | None:
    shown = value if precision is None else value[:precision]
    if verb == "s":
        return shown
    if verb == "q":
        return go_quote(shown)
    if verb in ("x", "X"):
        digits = shown.encode().hex()
        return digits.upper() if verb == "X" else digits
    return None


def _integer_text(value: int, verb: str, flags: str) -> str | None:
    if verb in _INTEGER_VERBS:
        prefix = {"x": "0x", "X": "0X", "o": "0", "b": ""}.get(verb, "") if "#" in flags else ""
        sign = "-" if value < 0 else "+" if "+" in flags else ""
        return sign + prefix + format(abs(value), _INTEGER_VERBS[verb])
    if verb in ("c", "q"):
        character = chr(value) if 0 <= value <= 0x10FFFF and not 0xD800 <= value <= 0xDFFF else "\ufffd"
        return character if verb == "c" else go_quote(character, "'")
    return f"U+{value:04X}" if verb == "U" and value >= 0 else None


def _float_text(value: float, verb: str, flags: str, precision: int | None) -> str | None:
    if verb.lower() not in ("e", "f", "g"):
        return None
    if verb.lower() == "g" and precision is None:
        text = float_text(value)
    else:
        text = format(value, f".{6 if precision is None else precision}{verb}")
    return "+" + text if "+" in flags and not text.startswith("-") else text


def _misfit(verb: str, value) -> str:
    """Go's mark for a value its verb does not fit: ``%!d(string=web)``, ``%!s(<nil>)``."""
    if value is None or value is MISSING:
        return f"%!{verb}(<nil>)"
    return f"%!{verb}({go_type(value)}={go_text(value)})"


def go_quote(text: str, quote: str = '"') -> str:
    """Go's strconv.Quote (or QuoteRune with ``'``): printable characters as they are, the rest escaped."""
    pieces = []
    for character in text:
        if character in (quote, "\\"):
            pieces.append("\\" + character)
        elif character in _QUOTE_ESCAPES:
            pieces.append(_QUOTE_ESCAPES[character])
        elif character.isprintable():
            pieces.append(character)
        elif ord(character) < 0x80:
            pieces.append(f"\\x{ord(character):02x}")
        else:
            pieces.append(f"\\u{ord(character):04x}" if ord(character) < 0x10000 else f"\\U{ord(character):08x}")
    return quote + "".join(pieces) + quote
