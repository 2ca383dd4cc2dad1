"""Values as Go's templates see them: truth, printing, JSON, type names."""

from collections.abc import Mapping

import pytest

from dockpy.cli.go_values import MISSING, float_text, go_text, go_type, is_struct, json_text, truth


class Row(Mapping):
    """A listing's row: a Mapping that is not a dict, with a method."""

    def __init__(self):
        self.fields = {"B": "2", "A": "1", "Label": lambda name: name}

    def __getitem__(self, name):
        return self.fields[name]

    def __iter__(self):
        return iter(self.fields)

    def __len__(self):
        return len(self.fields)


def test_go_text_prints_nested_lists_of_objects():
    assert go_text([{"Type": "bind", "RW": True}]) == "[map[RW:true Type:bind]]"


def test_go_text_prints_missing_nil_and_a_row_without_its_methods():
    assert (go_text(MISSING), go_text(None), go_text(Row())) == ("<no value>", "<nil>", "map[A:1 B:2]")


@pytest.mark.parametrize("number, text", [
    (1.0, "1"), (1.5, "1.5"), (100000.0, "100000"), (1e6, "1e+06"), (1234567.0, "1.234567e+06"),
    (0.0001, "0.0001"), (0.00001234, "1.234e-05"), (-2.5, "-2.5"), (0.0, "0"), (float("inf"), "+Inf"),
])
def test_floats_print_as_gos_v_verb_prints_them(number, text):
    assert float_text(number) == text


@pytest.mark.parametrize("value", [True, 1, -0.5, "x", [0], {"a": 1}, Row()])
def test_non_empty_values_are_true(value):
    assert truth(value)


def test_a_row_is_a_struct_and_a_dict_is_not():
    assert is_struct(Row()) and not is_struct({})


def test_json_text_of_a_row_leaves_its_methods_out_and_sorts_its_fields():
    assert json_text(Row()) == '{"A":"1","B":"2"}'


def test_json_text_escapes_the_line_separators_as_gos_encoder_does():
    assert json_text("a\u2028b") == '"a\\u2028b"'


@pytest.mark.parametrize("value, name", [(MISSING, "<nil>"), ("", "string"), (1, "int"), (1.0, "float64"),
                                         ([], "[]interface {}"), ({}, "map[string]interface {}"), (Row(), "struct")])
def test_go_type_names_values_as_docker_raw_documents_would_type_them(value, name):
    assert go_type(value) == name
