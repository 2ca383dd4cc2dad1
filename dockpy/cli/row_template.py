"""``--format TEMPLATE`` for listings: one line per row, with Docker's field names.

A listing describes its fields as a mapping of name to a function of one row.
Only the fields the template uses are computed (``.Size`` walks a directory,
``.Labels`` reads a file), and a name the listing lacks is refused before
anything is printed, as Docker refuses ``can't evaluate field``. ``{{json .}}``
computes them all: one JSON object a line, keys sorted, as Docker prints it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from dockpy.errors import InvalidInputError

Fields = Mapping[str, Callable[[object], str]]


def print_rows(text: str, rows: Iterable, fields: Fields, kind: str) -> None:
    """Print each of ``rows`` through the template ``text``; ``kind`` names a row in errors ("container")."""
    from dockpy.cli.go_template import GoTemplate

    if text.startswith("table"):
        raise InvalidInputError(
            f"--format {text!r}: 'table TEMPLATE' is not supported",
            hint="use --format table for the columns, or a template alone for one line per row.",
        )
    template = GoTemplate(text)
    names = fields_used(template, fields, kind)
    lines = [template.render({name: fields[name](row) for name in names}) for row in rows]
    if lines:
        print("\n".join(lines))


def fields_used(template, fields: Fields, kind: str) -> list[str]:
    """The field names ``template`` reads, sorted; an unknown one is an error naming those there are."""
    used = template.top_level_fields()
    if used is None:
        return sorted(fields)
    unknown = sorted(used - fields.keys())
    if unknown:
        raise InvalidInputError(
            f"template {template.text!r}: can't evaluate field {unknown[0]} of a {kind}",
            hint="fields: " + ", ".join("." + name for name in fields),
        )
    return sorted(used)
