"""Go's lexing of templates: literal text, trim markers, comments, and the tokens inside actions."""

import pytest

from dockpy.cli.go_template_lexer import NUMBER, STRING, TEXT, TemplateError, tokenize


def kinds_and_values(text: str) -> list[tuple]:
    return [(token.kind, token.value) for token in tokenize(text)][:-1]  # without END


def test_text_without_actions_is_one_text_token():
    assert kinds_and_values("plain") == [(TEXT, "plain")]


def test_an_action_is_its_tokens_between_the_delimiters():
    assert kinds_and_values('{{.A.B $x := "s" | f (g) ,}}') == [
        ("{{", "{{"), ("field", "A"), ("field", "B"), ("variable", "$x"), (":=", ":="), (STRING, "s"), ("|", "|"),
        ("identifier", "f"), ("(", "("), ("identifier", "g"), (")", ")"), (",", ","), ("}}", "}}"),
    ]


def test_trim_markers_remove_white_space_and_newlines_beside_the_action():
    assert kinds_and_values("a \n\t{{- .X -}}\n b")[0] == (TEXT, "a")
    assert kinds_and_values("a \n\t{{- .X -}}\n b")[-1] == (TEXT, "b")


def test_a_dash_without_a_space_is_a_negative_number_not_a_trim_marker():
    assert kinds_and_values("a {{-3}}")[:3] == [(TEXT, "a "), ("{{", "{{"), (NUMBER, -3)]


def test_a_comment_leaves_no_token_and_may_trim():
    assert kinds_and_values("a {{/* x }} */}} b {{- /* y */ -}} c") == [(TEXT, "a "), (TEXT, " b"), (TEXT, "c")]


@pytest.mark.parametrize("literal, value", [
    (r'"a\tb\"\\"', 'a\tb"\\'), (r'"\x41\101\u00e9\U0001F600"', "AAé😀"), ("`raw \\n\nline`", "raw \\n\nline"),
])
def test_strings_take_gos_escapes_and_raw_strings_none(literal, value):
    assert kinds_and_values("{{" + literal + "}}")[1] == (STRING, value)


@pytest.mark.parametrize("literal, value", [("42", 42), ("0x1F", 31), ("017", 15), ("0b101", 5), ("1_000", 1000),
                                             ("2.5", 2.5), ("1e3", 1000.0), ("'a'", 97), ("-.5", -0.5)])
def test_numbers_are_gos_integer_float_and_character_constants(literal, value):
    assert kinds_and_values("{{" + literal + "}}")[1] == (NUMBER, value)


def test_spaced_tells_a_new_argument_from_a_field_of_the_value_before():
    tokens = tokenize("{{(.A).B .C}}")
    fields = [(token.value, token.spaced) for token in tokens if token.kind == "field"]
    assert fields == [("A", False), ("B", False), ("C", True)]


@pytest.mark.parametrize("template, message, position", [
    ("ab {{.X", "unclosed action", 3),
    ("{{/* x", "unclosed comment", 2),
    ("{{/* x */ .Y}}", "comment ends before closing delimiter", 9),
    ('{{"a\nb"}}', "unterminated quoted string", 2),
    (r'{{"\q"}}', "invalid escape \\q", 3),
    ("{{'ab'}}", "malformed character constant", 2),
    ("{{1x}}", "bad number syntax", 2),
    ("{{@}}", "unrecognized character in action: '@'", 2),
])
def test_a_lexing_error_names_what_and_where(template, message, position):
    with pytest.raises(TemplateError, match=message.replace("\\", "\\\\")) as raised:
        tokenize(template)
    assert raised.value.position == position
