"""Go's parsing of templates: the tree it builds, the checks made before anything runs, and the root's fields."""

import re

import pytest

from dockpy.cli.go_functions import FUNCTIONS
from dockpy.cli.go_template_lexer import TemplateError, tokenize
from dockpy.cli.go_template_parser import (
    MAXIMUM_DEPTH, Action, Chain, Constant, Control, Field, Function, Loop, Pipeline, Text, Variable, parse, root_fields,
)


def tree(text: str):
    return parse(tokenize(text), FUNCTIONS)


def test_an_action_holds_a_pipeline_of_commands_and_their_operands():
    (action,) = tree('{{.A.B | printf "%s" $}}')
    assert isinstance(action, Action)
    first, second = action.pipeline.commands
    assert first.operands == (Field(("A", "B"), 2),)
    assert [type(operand) for operand in second.operands] == [Function, Constant, Variable]


def test_fields_after_a_parenthesis_or_a_variable_chain_onto_it():
    _, chain, variable = (action.pipeline.commands[0].operands[0] for action in tree("{{$x := 1}}{{(.A).B}}{{$x.C}}"))
    assert isinstance(chain, Chain) and chain.names == ("B",) and isinstance(chain.pipeline, Pipeline)
    assert variable == Variable("$x", ("C",), 23)


def test_else_if_nests_a_control_that_ends_with_the_outer_end():
    (control,) = tree("{{if .A}}a{{else if .B}}b{{else}}c{{end}}")
    (nested,) = control.otherwise
    assert control.body == (Text("a"),) and isinstance(nested, Control)
    assert nested.keyword == "if" and nested.body == (Text("b"),) and nested.otherwise == (Text("c"),)


def test_range_declares_an_index_and_an_element():
    (control,) = tree("{{range $i, $v := .A}}{{$i}}{{break}}{{end}}")
    assert control.pipeline.variables == ("$i", "$v") and not control.pipeline.assigns
    assert control.body[1] == Loop("break", 30)


def test_an_assignment_is_marked_as_one():
    assert tree("{{$x := 1}}{{$x = 2}}")[1].pipeline.assigns


@pytest.mark.parametrize("template, message", [
    ("{{range $i, $v, $w := .A}}{{end}}", "too many declarations in range"),
    ("{{with $a, $b := .A}}{{end}}", "too many declarations in with"),
    ("{{.A | true}}", "non executable command in pipeline stage 2"),
    ("{{nil}}", "nil is not a command"),
    ("{{.A.B.}}", "unexpected"),
    ('{{"a".B}}', "unexpected .B after term"),
    ("{{if .A}}{{else}}{{else}}{{end}}", "unexpected {{else}}"),
    ("{{define \"x\"}}{{end}}", "{{define}} is not supported"),
    ("{{len(.A)}}", "unexpected '(' in operand"),
])
def test_what_go_refuses_to_parse_is_refused(template, message):
    with pytest.raises(TemplateError, match=re.escape(message)):
        tree(template)


def test_nesting_beyond_the_limit_is_refused_rather_than_exhausting_the_stack():
    with pytest.raises(TemplateError, match="nested deeper than"):
        tree("{{if 1}}" * (MAXIMUM_DEPTH + 1) + "{{end}}" * (MAXIMUM_DEPTH + 1))


def test_root_fields_skip_the_fields_of_a_moved_dot_but_keep_dollars():
    nodes = tree("{{.A.X}}{{if .B}}{{.C}}{{end}}{{with .D}}{{.E}}{{$.F}}{{else}}{{.G}}{{end}}"
                 "{{range .H}}{{.I}}{{end}}{{len (.J)}}")
    assert root_fields(nodes) == {"A", "B", "C", "D", "F", "G", "H", "J"}
