"""``--format TEMPLATE`` for listings: one line per row, with Docker's field names.

A listing describes its fields as a mapping of name to a function of one row.
A row is rendered as a Go struct whose fields are computed when the template
first reads them (``.Size`` walks a directory, ``.Labels`` reads a file), and
a name the listing lacks is refused before anything is printed, as Docker
refuses ``can't evaluate field``. ``{{json .}}`` computes them all: one JSON
object a line, keys sorted, as Docker prints it.

A field may be a ``RowMethod``, which a template calls with a string
(``{{.Label "com.example.key"}}``); ``{{json .}}`` leaves methods out, as
Docker's marshalling of a row does.

As in Docker, the two characters ``\\t`` and ``\\n`` in a template are a tab
and a newline, and ``table TEMPLATE`` prints a header (the template rendered
with each field's column name, through Docker's header functions) and aligns
the tab-separated cells in columns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from dockpy.errors import InvalidInputError


class RowMethod:
    """A field called with one string: ``lookup(row, argument)`` gives the value, ``header(argument)`` its column name."""

    def __init__(self, lookup: Callable[[object, str], str], header: Callable[[str], str]):
        self.lookup = lookup
        self.header = header


Fields = Mapping[str, Callable[[object], str] | RowMethod]
TABLE_PREFIX = "table"
# What Docker's formatter replaces in a template before parsing it: shells make a real tab awkward to type.
_ESCAPES = {"\\t": "\t", "\\n": "\n"}


def print_rows(text: str, rows: Iterable, fields: Fields, kind: str, headers: Mapping[str, str]) -> None:
    """Print each of ``rows`` through the template ``text``.

    ``kind`` names a row in errors ("container"); ``headers`` holds the column
    names ``table TEMPLATE`` prints that are not just the field's name in capitals.
    Every row is rendered before the first line prints, so a failing template prints nothing.
    """
    from dockpy.cli.go_template import GoTemplate

    is_table = text.startswith(TABLE_PREFIX)
    template = GoTemplate(_unescaped(text.removeprefix(TABLE_PREFIX) if is_table else text))
    check_fields_known(template, fields, kind)
    lines = [template.render(_Row(fields, row)) for row in rows]
    if is_table:
        header = template.render(_Header(fields, headers), header=True)
        print_tab_separated([header, *lines])
    elif lines:
        print("\n".join(lines))


def check_fields_known(template, fields: Fields, kind: str) -> None:
    """Refuse a field name the listing lacks, naming those there are, even when there are no rows to render."""
    unknown = sorted(template.top_level_fields() - fields.keys())
    if unknown:
        raise InvalidInputError(
            f"template {template.text!r}: can't evaluate field {unknown[0]} of a {kind}",
            hint="fields: " + ", ".join("." + name for name in fields),
        )


class _Row(Mapping):
    """One row as a template sees it, a Go struct: each field computed when first read, at most once."""

    def __init__(self, fields: Fields, row):
        self._fields = fields
        self._row = row
        self._values: dict[str, object] = {}

    def __getitem__(self, name: str):
        values = self._values
        if name not in values:
            values[name] = self._computed(name, self._fields[name])
        return values[name]

    def _computed(self, name: str, field):
        """The field's value for this row; a method's is a function of its one string."""
        if isinstance(field, RowMethod):
            return lambda argument: field.lookup(self._row, argument)
        return field(self._row)

    def __contains__(self, name) -> bool:
        return name in self._fields

    def __iter__(self):
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)


class _Header(_Row):
    """The row ``table TEMPLATE`` renders as its header: each field's column name (a method's is its ``header``)."""

    def __init__(self, fields: Fields, headers: Mapping[str, str]):
        super().__init__(fields, None)
        self._headers = headers

    def _computed(self, name: str, field):
        if isinstance(field, RowMethod):
            return field.header
        return self._headers.get(name, name.upper())


def print_tab_separated(lines: list[str]) -> None:
    """Align the tab-separated cells of ``lines`` (the header first) in columns, as Docker's tabwriter does."""
    from dockpy.cli.output import print_table

    rows = [line.split("\t") for line in "\n".join(lines).split("\n")]
    width = max(len(row) for row in rows)
    padded = [row + [""] * (width - len(row)) for row in rows]
    print_table(padded[0], padded[1:])


def _unescaped(text: str) -> str:
    text = text.strip(" ")
    for escape, character in _ESCAPES.items():
        text = text.replace(escape, character)
    return text
