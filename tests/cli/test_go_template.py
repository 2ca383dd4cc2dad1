"""inspect --format's templates: Go's text/template, the subset CI scripts use."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockpy.cli.go_template import GoTemplate
from dockpy.errors import InvalidInputError

DOCUMENT = {
    "Id": "abc",
    "State": {"Status": "exited", "ExitCode": 3, "Running": False, "Error": ""},
    "Config": {"Cmd": ["sh", "-c", "exit 3"], "Labels": {"b": "2", "a": "1"}, "Entrypoint": None},
    "Name": "/web",
    "Mounts": [{"Source": "/srv", "Destination": "/data"}, {"Source": "/logs", "Destination": "/var/log"}],
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


@pytest.mark.parametrize("template, message", [
    ("{{if}}up{{end}}", "line 1, column 5: missing value for if"),
    ("{{end}}", "line 1, column 3: unexpected {{end}}"),
    ("{{if .Id}}up", "an {{end}} is missing"),
    ("{{nope .Id}}", 'function "nope" not defined'),
    ("{{$x}}", 'undefined variable "$x"'),
    ("{{}}", "missing value for command"),
    ("{{.Id | 1}}", "non executable command in pipeline stage 2"),
    ('{{template "x"}}', "{{template}} is not supported"),
    ("{{break}}", "{{break}} outside {{range}}"),
    ("a\n  {{(.Id}}", "line 2, column 9: unclosed left parenthesis"),
])
def test_a_template_go_would_not_parse_is_refused_where_it_fails(template, message):
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        GoTemplate(template)


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


def test_a_methods_argument_takes_gos_escapes():
    assert render(r'{{.Label "\x41\101\u00e9"}}', {"Label": lambda name: name}) == "AAé"


@pytest.mark.parametrize("template", ["{{.Label}}", "{{json .Label}}"])
def test_a_method_without_its_argument_is_refused(template):
    with pytest.raises(InvalidInputError, match="wrong number of args for .Label: want 1 got 0"):
        render(template, {"Label": lambda name: name})


def test_an_argument_to_a_field_of_a_json_document_is_refused():
    with pytest.raises(InvalidInputError, match="Labels is not a method"):
        render('{{.Config.Labels "a"}}')


def test_top_level_fields_names_the_first_field_of_each_path():
    assert GoTemplate("{{.State.Status}} {{json .Name}} {{.State.ExitCode}}").top_level_fields() == {"State", "Name"}


def test_top_level_fields_are_those_read_where_the_dot_is_the_document_or_through_dollar():
    template = GoTemplate("{{json .}}{{with .State}}{{.Status}}{{$.Name}}{{end}}{{range .Mounts}}{{.Source}}{{end}}")
    assert template.top_level_fields() == {"State", "Name", "Mounts"}


@pytest.mark.parametrize("template, output", [
    ('{{index .Config.Labels "a"}}', "1"),
    ("{{range .Mounts}}{{.Source}}:{{.Destination}} {{end}}", "/srv:/data /logs:/var/log "),
    ("{{if .State.Running}}up{{else}}down{{end}}", "down"),
    ("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}}{{println}}{{end}}", "a=1\nb=2\n"),
    ("{{.Config.Cmd | json}}", '["sh","-c","exit 3"]'),
    ("{{len .Mounts}}", "2"),
    ('{{eq .State.Status "exited"}}', "true"),
    ('{{printf "%s:%d" .Name .State.ExitCode}}', "/web:3"),
    ('{{join .Config.Cmd " "}}', "sh -c exit 3"),
    ("{{upper .Name}} {{lower .Id | upper}}", "/WEB ABC"),
    ("{{with .State}}{{.Status}}{{end}}", "exited"),
    ("a {{- /* a comment */ -}} b", "ab"),
    ("{{$x := .Name}}{{range .Mounts}}{{$x}}{{$.Id}} {{end}}", "/webabc /webabc "),
    ("{{(index .Mounts 1).Source}}", "/logs"),
])
def test_the_templates_docker_users_write_render_as_in_docker(template, output):
    assert render(template) == output


def test_a_methods_result_can_be_an_argument_in_parentheses():
    assert render('{{json (.Label "a")}}', {"Label": lambda name: name * 2}) == '"aa"'


@pytest.mark.parametrize("value", [False, 0, 0.0, "", [], {}, None])
def test_go_takes_empty_and_zero_values_as_false(value):
    assert render("{{if .V}}yes{{else}}no{{end}}", {"V": value}) == "no"


def test_a_missing_key_is_false():
    assert render("{{if .Nope}}yes{{else}}no{{end}}") == "no"


def test_else_if_chains_take_the_first_true_branch():
    template = '{{if eq .N 1}}one{{else if eq .N 2}}two{{else}}many{{end}}'
    assert [render(template, {"N": n}) for n in (1, 2, 3)] == ["one", "two", "many"]


def test_with_runs_its_else_when_the_value_is_empty():
    assert render("{{with .Config.Entrypoint}}{{.}}{{else}}none{{end}}") == "none"


def test_range_over_a_map_visits_keys_in_sorted_order_with_the_value_as_dot():
    assert render("{{range .Config.Labels}}{{.}}{{end}}") == "12"


def test_range_runs_its_else_for_an_empty_or_null_value():
    assert render("{{range .A}}x{{else}}empty{{end}}{{range .B}}x{{else}}null{{end}}", {"A": [], "B": None}) == "emptynull"


def test_range_with_one_variable_binds_the_element_and_two_bind_index_and_element():
    assert render("{{range $m := .Mounts}}{{$m.Source}}{{end}} {{range $i, $m := .Mounts}}{{$i}}{{end}}") == "/srv/logs 01"


def test_break_and_continue_leave_or_skip_an_iteration():
    template = '{{range .N}}{{if eq . 2}}{{continue}}{{end}}{{if eq . 4}}{{break}}{{end}}{{.}}{{end}}'
    assert render(template, {"N": [1, 2, 3, 4, 5]}) == "13"


def test_an_assignment_changes_a_variable_declared_outside_the_range():
    assert render("{{$n := 0}}{{range .Mounts}}{{$n = .Source}}{{end}}{{$n}}") == "/logs"


def test_a_variable_declared_in_a_control_ends_with_it():
    with pytest.raises(InvalidInputError, match='undefined variable "\\$x"'):
        GoTemplate("{{if .Id}}{{$x := 1}}{{end}}{{$x}}")


def test_and_returns_the_first_false_argument_without_evaluating_the_rest():
    assert render("{{and .Id 0 (index .Mounts 9)}}") == "0"


def test_or_returns_the_first_true_argument_or_the_last():
    assert render('{{or "" .Name}} {{or 0 ""}}|') == '/web |'


def test_a_pipelines_value_is_the_last_argument_of_the_next_command():
    assert render('{{.Name | printf "%s-%s" "x"}}') == "x-/web"


def test_a_declaration_prints_nothing():
    assert render("{{$x := .Name}}") == ""


def test_a_function_missing_a_value_gets_nil_as_go_converts_it():
    assert render("{{print .Nope}} {{json .Nope}}") == "<nil> null"


def test_an_error_while_rendering_names_the_line_and_column_of_the_action():
    with pytest.raises(InvalidInputError, match="line 2, column 3: error calling index: index out of range: 5"):
        render("ok\n{{index .Mounts 5}}")


def test_range_over_a_string_is_an_error_as_in_go():
    with pytest.raises(InvalidInputError, match="range can't iterate over /web"):
        render("{{range .Name}}x{{end}}")


def test_header_rendering_leaves_column_names_as_they_are_but_pads_them():
    template = GoTemplate("{{upper .A}}|{{json .A}}|{{truncate .A 1}}|{{pad .A 1 1}}")
    assert template.render({"A": "Names"}, header=True) == "Names|Names|Names| Names "


_TEMPLATE_PIECES = ["{{", "}}", "{{-", " -}}", "{{/*", "*/}}", " ", ".", ".Name", ".State", ".Mounts", "$", "$x",
                    ":=", "=", "|", "(", ")", ",", "if", "else", "end", "range", "with", "break", "index", "len",
                    "eq", "lt", "and", "not", "printf", "print", "json", "join", "split", "pad", "truncate", "nil",
                    "true", '"%s"', '"a"', "`r`", "'c'", "0", "1", "-1", "2.5", "0x1F", '"\\x4', "x", "\n"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_TEMPLATE_PIECES), max_size=16).map("".join) | st.text(max_size=30))
def test_a_random_template_renders_or_fails_with_the_one_line_error(text):
    try:
        GoTemplate(text).render(DOCUMENT)
        GoTemplate(text).render({"Label": lambda name: name, "Name": "x"}, header=True)
    except InvalidInputError as error:
        assert "\n" not in str(error).replace(repr(text), "") and str(error).startswith("template ")
