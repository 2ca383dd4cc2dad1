"""Values as Go's text/template sees them: their truth, their printing, their JSON and their type names.

A template runs over Python values: what ``json.loads`` gives (a document of
``inspect``), and, for a listing's row, a ``Mapping`` that is not a ``dict``.
The two differ as Go's map and struct do: a key a dict lacks is ``MISSING``
(Go's ``<no value>``), a name a row lacks is an error. A callable is a method
of the value that holds it (``.Label "key"``).
"""

from __future__ import annotations

from collections.abc import Mapping


class _Missing:
    """Go's invalid value: what a map gives for a key it lacks, printed ``<no value>``."""

    def __repr__(self) -> str:
        return "<no value>"


MISSING = _Missing()


def is_struct(value) -> bool:
    """A listing's row: a Mapping whose names are fixed, unlike a dict's keys."""
    return isinstance(value, Mapping) and not isinstance(value, dict)


def struct_fields(value: Mapping) -> dict:
    """A row's fields with their values, sorted by name, its methods left out (as Go's JSON leaves them out)."""
    fields = {name: value[name] for name in sorted(value)}
    return {name: field for name, field in fields.items() if not callable(field)}


def truth(value) -> bool:
    """Go's ``if``: false, 0, "", an empty list or map, nil and a missing value are false; anything else true."""
    if value is MISSING or value is None:
        return False
    if isinstance(value, (bool, int, float)):
        return value != 0
    if isinstance(value, (str, list, dict)):
        return len(value) > 0
    return True  # a row (a Go struct) or a method


def go_text(value) -> str:
    """``value`` as Go's fmt prints it (``%v``): ``true``, ``[a b]``, ``map[k:v]``, ``<nil>``, ``1e+06``."""
    if isinstance(value, str):  # first: nearly every value a listing prints, spared the checks below
        return value
    if value is MISSING:
        return "<no value>"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return float_text(value)
    if isinstance(value, list):
        return "[" + " ".join(go_text(item) for item in value) + "]"
    if isinstance(value, Mapping):
        fields = struct_fields(value) if is_struct(value) else value
        return "map[" + " ".join(f"{key}:{go_text(fields[key])}" for key in sorted(fields)) + "]"
    return str(value)


def float_text(number: float) -> str:
    """A float as Go's ``%v`` prints it: the shortest digits that read back, with an exponent from 1e+06 or below 1e-04."""
    if number != number or number in (float("inf"), float("-inf")):
        return {"nan": "NaN", "inf": "+Inf", "-inf": "-Inf"}[repr(number)]
    sign = "-" if repr(number).startswith("-") else ""
    mantissa, _, exponent = repr(abs(number)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    significant = (whole + fraction).lstrip("0")
    point = len(whole) + int(exponent or 0) - (len(whole + fraction) - len(significant))
    digits = significant.rstrip("0") or "0"
    if not significant:
        return sign + "0"
    if not -4 <= point - 1 < 6:
        tail = "." + digits[1:] if len(digits) > 1 else ""
        return f"{sign}{digits[0]}{tail}e{point - 1:+03d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"


def json_text(value) -> str:
    """Docker's ``json`` function: compact JSON, HTML characters left alone, a missing value ``null``."""
    import json

    if value is MISSING:
        value = None
    text = json.dumps(_jsonable(value), separators=(",", ":"), ensure_ascii=False)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")  # Go's encoder escapes these two


def _jsonable(value):
    if is_struct(value):
        return {name: _jsonable(field) for name, field in struct_fields(value).items()}
    return value


def go_type(value) -> str:
    """The Go type a value would have in Docker's raw documents, for error messages."""
    if value is MISSING or value is None:
        return "<nil>"
    if callable(value):
        return "func"
    if is_struct(value):
        return "struct"
    return _TYPE_NAMES.get(type(value), type(value).__name__)


_TYPE_NAMES = {bool: "bool", int: "int", float: "float64", str: "string", list: "[]interface {}",
               dict: "map[string]interface {}"}
