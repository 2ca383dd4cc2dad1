"""inspect --format's templates: Go's text/template, the subset CI scripts use."""

import pytest

from dockpy.cli.go_template import GoTemplate, go_text
from dockpy.errors import InvalidInputError

DOCUMENT = {
    "Id": "abc",
    "State": {"Status": "exited", "ExitCode": 3, "Running": False, "Error": ""},
    "Config": {"Cmd": ["sh", "-c", "exit 3"], "Labels": {"b": "2", "a": "1"}, "Entrypoint": None},
    "Name": "/web",
}


def render(template: str, document=DOCUMENT) -> str:
    return GoTemplate(template).render(document)


def test_literal_text_is_copied_unchanged():
    assert render("no actions here") == "no actions here"


def test_a_field_path_prints_the_value_it_reaches():
    assert render("{{.State.Status}}") == "exited"


def test_several_actions_and_text_render_in_order():
    assert render("{{.Name}} exited with {{.State.ExitCode}}.") == "/web exited with 3."


def test_spaces_inside_the_braces_are_ignored():
    assert render("{{ .State.ExitCode }}") == "3"


def test_values_print_as_go_prints_them():
    assert render("{{.State.Running}} {{.Config.Cmd}} {{.Config.Labels}} {{.Config.Entrypoint}}") == \
        "false [sh -c exit 3] map[a:1 b:2] <nil>"


def test_a_key_the_document_lacks_prints_no_value():
    assert render("{{.Config.Healthcheck}}") == "<no value>"


def test_json_prints_compact_json_of_a_field():
    assert render("{{json .Config.Cmd}}") == '["sh","-c","exit 3"]'


def test_json_of_the_dot_prints_the_whole_document():
    assert render("{{json .}}", {"A": [1, "é"]}) == '{"A":[1,"é"]}'


def test_the_dot_alone_prints_the_document_as_go_does():
    assert render("{{.}}", {"A": True}) == "map[A:true]"


def test_trim_markers_remove_the_white_space_beside_the_action():
    assert render("a  {{- .Id -}}\n  b") == "aabcb"


@pytest.mark.parametrize("template, construct", [
    ("{{range .Mounts}}{{.Source}}{{end}}", "'range'"),
    ("{{if .State.Running}}up{{end}}", "'if'"),
    ('{{index .Config.Labels "a"}}', "'index'"),
    ("{{.State.Status | printf}}", "the pipe"),
    ("{{$x := .Id}}", "the variable"),
    ("{{/* note */}}", "a comment"),
    ("{{}}", "an empty action"),
])
def test_an_unsupported_construct_is_refused_by_name(template, construct):
    with pytest.raises(InvalidInputError, match=construct):
        GoTemplate(template)


def test_an_unclosed_action_is_refused():
    with pytest.raises(InvalidInputError, match="unclosed action"):
        GoTemplate("{{.Id")


def test_a_field_of_a_value_that_is_no_object_is_an_error():
    with pytest.raises(InvalidInputError, match="can't evaluate field Status in .Name"):
        render("{{.Name.Status}}")


def test_a_field_below_a_missing_key_is_an_error():
    with pytest.raises(InvalidInputError, match="can't evaluate field Status in .Health: there is no such field"):
        render("{{.Health.Status}}")


def test_a_method_is_called_with_its_string_argument():
    labels = {"com.example.k": "v", 'say "hi"': "quoted"}
    document = {"Label": lambda name: labels.get(name, "")}
    assert render('{{.Label "com.example.k"}}/{{ .Label "say \\"hi\\"" }}/{{.Label "x"}}', document) == "v/quoted/"


def test_a_methods_argument_may_hold_a_tab_as_the_row_templates_unescaping_leaves_it():
    assert render('{{.Label "a\tb"}}', {"Label": lambda name: name.upper()}) == "A\tB"


@pytest.mark.parametrize("argument", [r'"\x41"', r'"\101"', r'"\a"', '"a\nb"'])
def test_a_go_escape_json_lacks_or_a_newline_is_refused_in_a_methods_argument(argument):
    with pytest.raises(InvalidInputError, match="is not supported"):
        render("{{.Label " + argument + "}}", {"Label": lambda name: name})


@pytest.mark.parametrize("template", ["{{.Label}}", "{{json .Label}}"])
def test_a_method_without_its_argument_is_refused(template):
    with pytest.raises(InvalidInputError, match="wrong number of args for .Label: want 1 got 0"):
        render(template, {"Label": lambda name: name})


def test_an_argument_to_a_field_of_a_json_document_is_refused():
    with pytest.raises(InvalidInputError, match="Labels is not a method"):
        render('{{.Config.Labels "a"}}')


def test_go_text_prints_nested_lists_of_objects():
    assert go_text([{"Type": "bind", "RW": True}]) == "[map[RW:true Type:bind]]"


def test_top_level_fields_names_the_first_field_of_each_path():
    assert GoTemplate("{{.State.Status}} {{json .Name}} {{.State.ExitCode}}").top_level_fields() == {"State", "Name"}


def test_top_level_fields_is_none_when_the_dot_takes_the_whole_document():
    assert GoTemplate("{{.Name}} {{json .}}").top_level_fields() is None
