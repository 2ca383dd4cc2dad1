"""The part of Go's text/template that scripts pass to ``inspect --format``.

Supported, as ``docker inspect -f`` renders them against the JSON document:

- literal text, copied as it is;
- ``{{.}}`` and field paths ``{{.State.ExitCode}}``: values are printed as Go
  prints them (``true``, ``[a b]``, ``map[k:v]``; ``<no value>`` for a key
  the document lacks, ``<nil>`` for null);
- ``{{json .Config}}`` and ``{{json .}}``: compact JSON, as Docker's ``json`` function;
- ``{{.Label "com.example.key"}}``: a method of the document called with one
  string (``ps`` rows have ``Label``); a JSON document has no methods, so there
  it is refused;
- ``{{-`` and ``-}}``, which trim the white space beside the action.

Anything else (``range``, ``if``, ``index``, pipes, variables...) is refused
when the template is compiled, naming the construct, so nothing is printed
half-way through.
"""

from __future__ import annotations

import re

from dockpy.errors import InvalidInputError

# An action's body: ``.``, ``.Field.Field``, optionally after ``json``, or a method called with a string.
_FIELD_PATH = r"\.|(?:\.[A-Za-z_][A-Za-z0-9_]*)+"
# A Go string literal with only the escapes JSON shares (json.loads decodes it); \x41, \101, \a... are refused.
_STRING = r'"(?:[^"\\\n]|\\[\\"bfnrt]|\\u[0-9A-Fa-f]{4})*"'
_ACTION = re.compile(rf"(?:(?P<function>json)\s+)?(?P<path>{_FIELD_PATH})|(?P<method>{_FIELD_PATH})\s+(?P<argument>{_STRING})")
_MISSING = object()


class GoTemplate:
    """A compiled template: literal strings and field actions, in order, rendered per document."""

    def __init__(self, text: str):
        self.text = text
        self.parts = _compile(text)

    def render(self, document) -> str:
        return "".join(part if isinstance(part, str) else part.render(document, self.text) for part in self.parts)

    def top_level_fields(self) -> set[str] | None:
        """The first names of the field paths (``Status`` for ``{{.Status.X}}``); None when ``{{.}}`` takes everything.

        A listing computes only these per row, and refuses names it lacks before printing anything.
        """
        actions = [part for part in self.parts if isinstance(part, _FieldAction)]
        if any(not action.fields for action in actions):
            return None
        return {action.fields[0] for action in actions}


class _FieldAction:
    """``{{.A.B}}`` or ``{{json .A.B}}``: the value at ``fields`` of the document, printed Go's way or as JSON;
    ``{{.A "text"}}``: the method at ``fields`` called with ``argument``."""

    def __init__(self, fields: tuple[str, ...], as_json: bool, argument: str | None = None):
        self.fields = fields
        self.as_json = as_json
        self.argument = argument

    def render(self, document, template: str) -> str:
        value = self._called(_value_at(document, self.fields, template), template)
        if self.as_json:
            import json

            return json.dumps(None if value is _MISSING else value, separators=(",", ":"), ensure_ascii=False)
        return go_text(value)

    def _called(self, value, template: str):
        """A method's result, called with its one argument; any other value as it is. A method without
        its argument, or an argument to a plain value, is refused as Go refuses it."""
        path = "." + ".".join(self.fields)
        if callable(value):
            if self.argument is None:
                raise InvalidInputError(f"template {template!r}: wrong number of args for {path}: want 1 got 0")
            return value(self.argument)
        if self.argument is not None:
            raise InvalidInputError(f"template {template!r}: {path} is not a method: it takes no argument")
        return value


def _compile(text: str) -> list:
    """Literal strings and actions, in order; every action is checked here, so rendering never meets a bad one."""
    parts: list = []
    position = 0
    while (start := text.find("{{", position)) >= 0:
        end = text.find("}}", start + 2)
        if end < 0:
            raise InvalidInputError(f"template {text!r}: unclosed action (a '{{{{' without '}}}}')")
        literal, body = text[position:start], text[start + 2 : end]
        if body.startswith("- "):
            literal, body = literal.rstrip(), body[2:]
        parts.append(literal)
        position = end + 2
        if body.endswith(" -"):
            body = body[:-2]
            position = len(text) - len(text[position:].lstrip())
        parts.append(_compile_action(body.strip(), text))
    parts.append(text[position:])
    return [part for part in parts if part != ""]


def _compile_action(body: str, template: str) -> _FieldAction:
    match = _ACTION.fullmatch(body)
    if match is None:
        raise InvalidInputError(
            f"template {template!r}: {_construct_of(body)} is not supported",
            hint="dockpy's --format takes text, field paths like {{.State.Status}} and {{json .Config}}.",
        )
    if match["method"] is not None:
        import json

        return _FieldAction(_fields_of(match["method"]), as_json=False, argument=json.loads(match["argument"], strict=False))
    return _FieldAction(_fields_of(match["path"]), as_json=match["function"] is not None)


def _fields_of(path: str) -> tuple[str, ...]:
    return tuple(path.split(".")[1:]) if path != "." else ()


def _construct_of(body: str) -> str:
    """What a refused action is, in Go's words: a pipe, a variable, a comment, or its first word."""
    if body.startswith("/*"):
        return "a comment"
    if "|" in body:
        return f"the pipe in {{{{{body}}}}}"
    if body.startswith("$"):
        return f"the variable in {{{{{body}}}}}"
    word = body.split()[0] if body.split() else ""
    return f"'{word}' (in {{{{{body}}}}})" if word else "an empty action {{}}"


def _value_at(document, fields: tuple[str, ...], template: str):
    """The value at ``fields``: a key the object lacks is missing (``<no value>``); a field of anything else is an error."""
    value = document
    for depth, field in enumerate(fields):
        if not isinstance(value, dict):
            path = "." + ".".join(fields[:depth])
            found = "there is no such field" if value is _MISSING else f"it is {go_text(value)}"
            raise InvalidInputError(f"template {template!r}: can't evaluate field {field} in {path}: {found}")
        value = value.get(field, _MISSING)
    return value


def go_text(value) -> str:
    """``value`` as Go's fmt prints a decoded JSON value: ``true``, ``[a b]``, ``map[k:v]``, ``<nil>``."""
    if value is _MISSING:
        return "<no value>"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(go_text(item) for item in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{key}:{go_text(value[key])}" for key in sorted(value)) + "]"
    return str(value)
