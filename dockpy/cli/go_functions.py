"""The functions a ``--format`` template may call: Go's own and Docker's ``templates`` package's.

Go's: ``index``, ``len``, ``not``, ``eq``/``ne``/``lt``/``le``/``gt``/``ge``,
``print``, ``printf``, ``println`` (``and`` and ``or`` evaluate their arguments
lazily, so the template executor runs them). Docker's: ``json``, ``join``,
``split``, ``upper``, ``lower``, ``title``, ``truncate``, ``pad``; a ``table``
header is rendered with ``HEADER_FUNCTIONS``, in which those that would change
a column's name return it unchanged, as Docker's do.

Each function takes the list of its argument values and raises
``FunctionError`` with Go's wording: ``wrong number of args for join: want 2
got 1``, ``wrong type for value; expected string; got int``, ``error calling
index: index out of range: 3``.

Where Go's static types decide and a JSON document has none, dockpy chooses:
numbers compare with each other whether whole or not (JSON has one kind of
number), and ``index`` of a key a map of strings lacks, or of any key of a
null map, is ``""``, as Docker's typed ``Labels`` give it.
"""

from __future__ import annotations

from dockpy.cli.go_values import go_text, go_type, json_text, truth


class FunctionError(Exception):
    """A function refused its arguments; the message is Go's."""


def _count(name: str, arguments: list, want: int) -> list:
    if len(arguments) != want:
        raise FunctionError(f"wrong number of args for {name}: want {want} got {len(arguments)}")
    return arguments


def _at_least(name: str, arguments: list, want: int) -> list:
    if len(arguments) < want:
        raise FunctionError(f"wrong number of args for {name}: want at least {want} got {len(arguments)}")
    return arguments


def _string(value) -> str:
    if isinstance(value, str):
        return value
    raise FunctionError(f"wrong type for value; expected string; got {go_type(value)}")


def _strings(value) -> list[str]:
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise FunctionError(f"wrong type for value; expected []string; got {go_type(value)}")


def _integer(value) -> int:
    whole = isinstance(value, int) or isinstance(value, float) and value.is_integer()
    if isinstance(value, bool) or not whole:
        raise FunctionError(f"wrong type for value; expected int; got {go_type(value)}")
    return int(value)


def _failed(name: str, message: str) -> FunctionError:
    return FunctionError(f"error calling {name}: {message}")


def index(arguments: list):
    """``index ITEM KEY...``: a list's element, a string's byte, a map's value; each key indexing the last result."""
    item, *keys = _at_least("index", arguments, 1)
    for key in keys:
        item = _indexed(item, key)
    return item


def _indexed(item, key):
    if isinstance(item, (list, str)):
        sequence = item.encode() if isinstance(item, str) else item
        position = _integer(key)
        if not 0 <= position < len(sequence):
            raise _failed("index", f"index out of range: {position}")
        return sequence[position]
    if isinstance(item, dict):
        if not isinstance(key, str):
            raise _failed("index", f"value has type {go_type(key)}; should be string")
        return item.get(key, "" if all(isinstance(value, str) for value in item.values()) else None)
    if item is None and isinstance(key, str):
        return ""
    raise _failed("index", "index of untyped nil" if item is None else f"can't index item of type {go_type(item)}")


def length(arguments: list) -> int:
    """``len``: a string's bytes, a list's elements, a map's keys; 0 for null.

    A null in these documents is what Docker holds as a nil slice or map
    (``Config.Env``, ``Mounts``...), whose Go ``len`` is 0.
    """
    (item,) = _count("len", arguments, 1)
    if item is None:
        return 0
    if isinstance(item, str):
        return len(item.encode())
    if isinstance(item, (list, dict)):
        return len(item)
    raise _failed("len", f"len of type {go_type(item)}")


def _kind(value) -> str | None:
    """Go's basic kind for comparisons; None for lists, maps and rows, which do not compare."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return "string" if isinstance(value, str) else None


def _equal(name: str, first, second) -> bool:
    kinds = (_kind(first), _kind(second))
    if None in kinds:
        culprit = first if kinds[0] is None else second
        raise _failed(name, f"non-comparable type {go_text(culprit)}: {go_type(culprit)}")
    if "nil" in kinds:
        return kinds[0] == kinds[1]
    if kinds[0] != kinds[1]:
        raise _failed(name, "incompatible types for comparison")
    return first == second


def _less(name: str, first, second) -> bool:
    kinds = (_kind(first), _kind(second))
    if not {"number", "string", "bool"}.issuperset(kinds):
        raise _failed(name, "invalid type for comparison")
    if kinds[0] != kinds[1]:
        raise _failed(name, "incompatible types for comparison")
    if kinds[0] == "bool":
        raise _failed(name, "invalid type for comparison")
    return first < second


def equal(arguments: list) -> bool:
    """``eq A B...``: whether A equals any of the others."""
    first, *others = _at_least("eq", arguments, 1)
    if not others:
        raise _failed("eq", "missing argument for comparison")
    return any(_equal("eq", first, other) for other in others)


def not_equal(arguments: list) -> bool:
    return not _equal("ne", *_count("ne", arguments, 2))


def less(arguments: list) -> bool:
    return _less("lt", *_count("lt", arguments, 2))


def less_or_equal(arguments: list) -> bool:
    return _at_most("le", *_count("le", arguments, 2))


def greater(arguments: list) -> bool:
    """``gt`` is ``not le``, as in Go, whose messages still name ``gt``."""
    return not _at_most("gt", *_count("gt", arguments, 2))


def greater_or_equal(arguments: list) -> bool:
    return not _less("ge", *_count("ge", arguments, 2))


def _at_most(name: str, first, second) -> bool:
    return _less(name, first, second) or _equal(name, first, second)


def negation(arguments: list) -> bool:
    (value,) = _count("not", arguments, 1)
    return not truth(value)


def sprint(arguments: list) -> str:
    """``print``: Go's Sprint, a space between two operands when neither is a string."""
    pieces = []
    for position, value in enumerate(arguments):
        if position and not isinstance(value, str) and not isinstance(arguments[position - 1], str):
            pieces.append(" ")
        pieces.append(go_text(value))
    return "".join(pieces)


def sprintln(arguments: list) -> str:
    """``println``: the operands separated by spaces, and a newline."""
    return " ".join(go_text(value) for value in arguments) + "\n"


def sprintf(arguments: list) -> str:
    from dockpy.cli.go_printf import go_sprintf  # here: a template without printf is spared importing fmt

    format_text, *values = _at_least("printf", arguments, 1)
    return go_sprintf(_string(format_text), values)


def to_json(arguments: list) -> str:
    (value,) = _count("json", arguments, 1)
    return json_text(value)


def join(arguments: list) -> str:
    items, separator = _count("join", arguments, 2)
    return _string(separator).join(_strings(items))


def split(arguments: list) -> list[str]:
    """Go's strings.Split: an empty separator splits after each character."""
    text, separator = (_string(value) for value in _count("split", arguments, 2))
    return text.split(separator) if separator else list(text)


def upper(arguments: list) -> str:
    return _string(_count("upper", arguments, 1)[0]).upper()


def lower(arguments: list) -> str:
    return _string(_count("lower", arguments, 1)[0]).lower()


def title(arguments: list) -> str:
    """Go's strings.Title: the first letter of each word upper-cased, the rest left as it is."""
    text = _string(_count("title", arguments, 1)[0])
    characters = list(text)
    for position, character in enumerate(characters):
        if position == 0 or _separates_words(characters[position - 1]):
            characters[position] = character.title()
    return "".join(characters)


def _separates_words(character: str) -> bool:
    if character.isascii():
        return not (character.isalnum() or character == "_")
    return character.isspace()


def truncate(arguments: list) -> str:
    """Docker's ``truncate TEXT N``: the first N bytes (a character cut in two is dropped)."""
    text, count = _count("truncate", arguments, 2)
    encoded, count = _string(text).encode(), _integer(count)
    if count < 0:
        raise _failed("truncate", f"slice bounds out of range [:{count}]")
    return encoded[:count].decode(errors="ignore")


def pad(arguments: list) -> str:
    """Docker's ``pad TEXT BEFORE AFTER``: spaces around a text that is not empty."""
    from dockpy.cli.go_printf import MAXIMUM_WIDTH

    text, before, after = _count("pad", arguments, 3)
    text, before, after = _string(text), _integer(before), _integer(after)
    if min(before, after) < 0 or max(before, after) > MAXIMUM_WIDTH:  # fmt's bound on widths: memory stays bounded
        raise _failed("pad", f"a count of spaces must be between 0 and {MAXIMUM_WIDTH}")
    return " " * before + text + " " * after if text else text


def _header_function(name: str, count: int):
    """Docker's header version of a function: the column name, unchanged."""
    def unchanged(arguments: list) -> str:
        return _string(_count(name, arguments, count)[0])
    return unchanged


# ``and`` and ``or`` are here so a template naming them parses; the executor evaluates them itself.
FUNCTIONS = {
    "and": None, "or": None, "not": negation, "index": index, "len": length,
    "eq": equal, "ne": not_equal, "lt": less, "le": less_or_equal, "gt": greater, "ge": greater_or_equal,
    "print": sprint, "printf": sprintf, "println": sprintln,
    "json": to_json, "join": join, "split": split, "upper": upper, "lower": lower, "title": title,
    "truncate": truncate, "pad": pad,
}
HEADER_FUNCTIONS = {
    **FUNCTIONS,
    **{name: _header_function(name, count) for name, count in
       (("json", 1), ("split", 2), ("join", 2), ("title", 1), ("lower", 1), ("upper", 1), ("truncate", 2))},
}
