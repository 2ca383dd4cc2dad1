"""The lark grammar: package data, built once, total over instruction lines."""

from importlib import resources

import pytest

from dockpy.dockerfile.arguments import ArgumentError
from dockpy.dockerfile.grammar import GRAMMAR_FILE, instruction_parser, parse_instruction_line


def test_grammar_file_ships_with_the_package():
    assert resources.files("dockpy.dockerfile").joinpath(GRAMMAR_FILE).is_file()


def test_parser_is_built_once_per_process():
    assert instruction_parser() is instruction_parser()


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        ("RUN x", "exec_form_instruction"),
        ("copy a b", "list_instruction"),
        ("HEALTHCHECK CMD x", "healthcheck_instruction"),
        ("LABEL a=b", "name_value_instruction"),
        ("ARG a", "arg_instruction"),
        ("EXPOSE 80", "word_list_instruction"),
        ("USER u", "string_instruction"),
        ("ONBUILD RUN x", "onbuild_instruction"),
        ("RUNX x", "unknown_instruction"),
        ("RUN\u00a0x", "unknown_instruction"),
    ],
)
def test_keyword_selects_the_argument_rule(line, rule):
    assert instruction_parser().parse(line).children[0].data == rule


def test_flags_stop_at_unicode_space_as_buildkits_byte_scanner_does():
    assert parse_instruction_line("COPY \u3000--x a", "\\", 1, 1).flags == ()
    assert parse_instruction_line("COPY --x \u3000--y a", "\\", 1, 1).args == ("--y", "a")


def test_lark_errors_come_out_as_argument_errors():
    # The grammar takes trimmed lines; untrimmed text is the one input it rejects.
    with pytest.raises(ArgumentError, match="^syntax error"):
        parse_instruction_line(" RUN x", "\\", 1, 1)
