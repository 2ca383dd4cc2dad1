"""Rendering listing rows through a template: only the fields used, tables of tab-separated cells."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockpy.cli.row_template import RowMethod, print_rows
from dockpy.errors import InvalidInputError


def counted_fields(calls: list):
    """Two fields, A and B, of an int row; each call is recorded in ``calls``."""
    def field(name):
        return lambda row: calls.append(name) or f"{name}{row}"
    return {"A": field("A"), "B": field("B")}


def test_only_the_fields_the_template_names_are_computed(capsys):
    calls = []
    print_rows("{{.B}}", [1, 2], counted_fields(calls), "row", {})
    assert capsys.readouterr().out == "B1\nB2\n" and calls == ["B", "B"]


def test_no_rows_print_nothing(capsys):
    print_rows("{{.A}}", [], counted_fields([]), "row", {})
    assert capsys.readouterr().out == ""


def test_a_table_template_prints_headers_then_aligned_cells(capsys):
    print_rows("table {{.A}}\\t{{.B}}", [1, 22], counted_fields([]), "row", {"A": "FIRST"})
    assert capsys.readouterr().out.splitlines() == ["FIRST   B", "A1      B1", "A22     B22"]


def test_an_unknown_field_is_refused_before_any_row_is_computed():
    calls = []
    with pytest.raises(InvalidInputError, match="can't evaluate field C of a row"):
        print_rows("{{.A}} {{.C}}", [1], counted_fields(calls), "row", {})
    assert calls == []


def test_a_field_read_twice_is_computed_once_per_row(capsys):
    calls = []
    print_rows("{{.A}}{{if .A}}!{{end}}", [1], counted_fields(calls), "row", {})
    assert capsys.readouterr().out == "A1!\n" and calls == ["A"]


def test_a_table_header_computes_no_rows_field(capsys):
    calls = []
    print_rows("table {{.A}}", [], counted_fields(calls), "row", {})
    assert capsys.readouterr().out == "A\n" and calls == []


_PIECES = ["{{", "}}", "table ", "\\t", " ", ".A", ".B", ".C", ".Label", '"k"', "$", ".", "|", "(", ")", "if", "end",
           "range", "with", "else", "json", "upper", "pad", "1", "printf", '"%s"', "$x", ":="]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=14).map("".join))
def test_a_random_row_template_prints_or_fails_with_the_one_line_error(text):
    fields = {**counted_fields([]), "Label": RowMethod(lambda row, name: f"{name}{row}", str.upper)}
    try:
        print_rows(text, [1, 2], fields, "row", {})
    except InvalidInputError as error:
        assert str(error).startswith("template ")
