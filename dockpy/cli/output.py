"""Rendering listings: aligned columns for people, JSON for programs.

Plain columns like Docker's (two spaces between columns) need no rich import,
which keeps ``dockpy images`` and ``dockpy ps`` fast to start.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]], file=None) -> None:
    """Print ``rows`` under ``headers`` in left-aligned columns."""
    file = file or sys.stdout
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        line = "   ".join(cell.ljust(width) for cell, width in zip(row, widths))
        print(line.rstrip(), file=file)


def print_json(value: object, file=None) -> None:
    """Print ``value`` as indented JSON (lists of objects for listings)."""
    import json  # here: table output, the common case, starts without it

    json.dump(value, file or sys.stdout, indent=2, sort_keys=False, default=_json_default)
    (file or sys.stdout).write("\n")


def _json_default(value: object):
    if isinstance(value, Mapping):
        return dict(value)
    if hasattr(value, "to_json"):
        return value.to_json()
    return str(value)


def add_format_option(parser, choices=("table", "json"), templates: bool = False) -> None:
    """The ``--format`` flag every listing command shares.

    With ``templates``, any value besides ``choices`` is a Go template printed
    once per row (``row_template.print_rows``), as ``docker ps --format`` takes it.
    """
    if not templates:
        parser.add_argument("--format", choices=choices, default=choices[0], help="output format")
        return
    # An empty template means the default table, as Docker takes `--format ''`, not an empty line per row.
    parser.add_argument("--format", default=choices[0], type=lambda value: value or choices[0],
                        metavar="|".join(choices) + "|TEMPLATE",
                        help="output format, or a Go template printed once per row: '{{.ID}} {{.Status}}'")
