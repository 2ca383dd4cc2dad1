"""BuildKit's per-instruction argument rules."""

import pytest

from dockpy.dockerfile.arguments import (
    ArgumentError,
    name_value_args,
    reject_non_string_array,
    split_words,
    unquote_flag,
)


@pytest.mark.parametrize(
    ("raw", "flag"),
    [
        ("--from=build", "--from=build"),
        ('--chown="a b"', "--chown=a b"),
        ("--x='it\\'s'", "--x=it's"),
        ("--y=a\\ b", "--y=a b"),
        ('--z="open', "--z=open"),
        ("--end\\", "--end"),
    ],
)
def test_flag_quotes_and_backslashes_are_removed(raw, flag):
    assert unquote_flag(raw) == flag


@pytest.mark.parametrize(
    ("text", "escape", "words"),
    [
        ("a b\tc", "\\", ["a", "b", "c"]),
        ('a="b c" d', "\\", ['a="b c"', "d"]),
        ("a=b\\ c", "\\", ["a=b\\ c"]),
        ("a='b\\' c'", "\\", ["a='b\\'", "c'"]),
        ('a="b\\" c"', "\\", ['a="b\\" c"']),
        ("a=b` c", "`", ["a=b` c"]),
        ("a=b \\", "\\", ["a=b"]),
        ("'' x", "\\", ["''", "x"]),
        ("a\u3000b", "\\", ["a", "b"]),
    ],
)
def test_words_keep_quotes_and_escapes(text, escape, words):
    assert split_words(text, escape) == words


def test_legacy_name_value_keeps_the_rest_of_the_line():
    assert name_value_args("ENV", 'A  "b  c" d', "\\", 0) == ("A", '"b  c" d', "")


def test_name_value_pairs_are_triples():
    assert name_value_args("LABEL", 'a=1 b="2 3"', "\\", 0) == ("a", "1", "=", "b", '"2 3"', "=")


def test_name_without_value_is_an_error():
    with pytest.raises(ArgumentError, match="^ENV must have two arguments$"):
        name_value_args("env", "PATH", "\\", 4)


def test_pair_without_equals_is_an_error_at_the_arguments():
    with pytest.raises(ArgumentError) as raised:
        name_value_args("ENV", "a=1 b", "\\", 4)
    assert raised.value.offset == 4


@pytest.mark.parametrize("text", ["[1]", '["a", null]', '[["a"]]', '[{"a": "b"}]', "[true]"])
def test_json_arrays_of_non_strings_are_rejected(text):
    with pytest.raises(ArgumentError):
        reject_non_string_array(text, 0)


@pytest.mark.parametrize("text", ["[NaN]", "[Infinity]", "[1e400]", "['a']", "[ -f x ]", "[1] x", "[" * 5000, "x"])
def test_text_that_is_not_a_json_array_is_accepted(text):
    reject_non_string_array(text, 0)
