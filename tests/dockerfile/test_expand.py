"""Shell-word expansion: BuildKit's conformance data plus our own table."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockpy.dockerfile.expand import (
    EXPANDING_INSTRUCTIONS,
    WORD_SPLITTING_INSTRUCTIONS,
    ShellLexer,
    expand,
    expand_word,
    expand_words,
)
from dockpy.errors import ExpansionError
from tests.conftest import SHARED

SHELL_DATA = SHARED / "conformance" / "buildkit" / "shell"
ENV_VAR_TEST_ENV = {"PWD": "/home", "SHELL": "bash", "KOREAN": "한국어", "NULL": ""}
ERROR = "error"


def _absent(name: str):
    return [pytest.param(None, None, None, marks=pytest.mark.skip(reason=f"{SHELL_DATA / name} is absent"))]


def _env_var_cases():
    """Every applicable line of envVarTest, as (case_insensitive, source, expected)."""
    path = SHELL_DATA / "envVarTest"
    if not path.is_file():
        return _absent("envVarTest")
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("#") or not line.strip():
            continue
        platform, source, expected = (field.strip() for field in line.strip().split("|"))
        for case_insensitive, platforms in ((False, "AU"), (True, "AW")):
            if platform in platforms:
                label = f"{'windows' if case_insensitive else 'unix'}-line{number}"
                cases.append(pytest.param(case_insensitive, source, expected, id=label))
    return cases


def _words_cases():
    """Every case of wordsTest, with the environment accumulated up to it."""
    path = SHELL_DATA / "wordsTest"
    if not path.is_file():
        return _absent("wordsTest")
    cases, env = [], {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("#"):
            continue
        if line.startswith("ENV "):
            name, _, value = line[3:].lstrip(" ").partition("=")
            env = {**env, name: value}
            continue
        source, expected = line.split("|")
        cases.append(pytest.param(dict(env), source.strip(), expected.lstrip(" ").split(","), id=f"line{number}"))
    return cases


@pytest.mark.parametrize(("case_insensitive", "source", "expected"), _env_var_cases())
def test_buildkit_env_var_test_line(case_insensitive, source, expected):
    lexer = ShellLexer(case_insensitive=case_insensitive)
    if expected == ERROR:
        with pytest.raises(ExpansionError):
            lexer.expand_word(source, ENV_VAR_TEST_ENV)
    else:
        assert lexer.expand_word(source, ENV_VAR_TEST_ENV) == expected


@pytest.mark.parametrize(("env", "source", "expected"), _words_cases())
def test_buildkit_words_test_line(env, source, expected):
    try:
        fields = expand_words(source, env)
    except ExpansionError:
        fields = [ERROR]
    assert fields == expected


ENV = {
    "NAME": "world",
    "EMPTY": "",
    "VERSION": "v1.2.3-rc1",
    "FILE": "/src/app/main.tar.gz",
    "PATHS": "/a:/b:/c",
    "SPACED": "one  two",
    "STARS": "a***yy*",
    "GLOBBY": "[ab]xy",
    "MULTILINE": "ab\ncd",
}

# (word, expected value or ERROR)
OWN_CASES = [
    # plain references
    ("hello-$NAME", "hello-world"),
    ("${NAME}s", "worlds"),
    ("$NAME$NAME", "worldworld"),
    ("$UNSET-x", "-x"),
    ("cost: $", "cost: $"),
    ("$-x", "x"),
    # defaults and alternatives, colon and not
    ("${UNSET:-dflt}", "dflt"),
    ("${EMPTY:-dflt}", "dflt"),
    ("${EMPTY-dflt}", ""),
    ("${UNSET-dflt}", "dflt"),
    ("${NAME:+alt}", "alt"),
    ("${EMPTY:+alt}", ""),
    ("${EMPTY+alt}", "alt"),
    ("${UNSET+alt}", ""),
    ("${EMPTY?}", ""),
    ("${NAME:?must be set}", "world"),
    # nesting
    ("${UNSET:-${ALSO_UNSET:-${NAME}}}", "world"),
    ("${NAME:+<${NAME}>}", "<world>"),
    ("${UNSET:-a b}", "a b"),
    ("${UNSET:-'quoted }'}", "quoted }"),
    ('${UNSET:-"$NAME"}', "world"),
    # prefix and suffix trimming
    ("${VERSION#v}", "1.2.3-rc1"),
    ("${VERSION#*.}", "2.3-rc1"),
    ("${VERSION##*.}", "3-rc1"),
    ("${VERSION%-*}", "v1.2.3"),
    ("${VERSION%.*}", "v1.2"),
    ("${VERSION%%.*}", "v1"),
    ("${FILE##*/}", "main.tar.gz"),
    ("${FILE%/*}", "/src/app"),
    ("${FILE%%.*}", "/src/app/main"),
    ("${FILE#/src/}", "app/main.tar.gz"),
    ("${FILE#nomatch}", "/src/app/main.tar.gz"),
    ("${VERSION#v?}", ".2.3-rc1"),
    ("${STARS%%\\**\\*}", "a"),
    ("${STARS#a\\*}", "**yy*"),
    ("${GLOBBY#[ab]}", "xy"),
    ("${UNSET#x}", ""),
    ("${MULTILINE#*}", "ab\ncd"),
    ("${MULTILINE##*}", "\ncd"),
    ("${MULTILINE%?d}", "ab\n"),
    # substitution
    ("${PATHS/:/ }", "/a /b:/c"),
    ("${PATHS//:/ }", "/a /b /c"),
    ("${PATHS//\\//}", "a:b:c"),
    ("${PATHS/#/x}", "/a:/b:/c"),
    ("${NAME/o*/0}", "w0"),
    ("${NAME//?/.}", "....."),
    ("${NAME//z/Z}", "world"),
    ("${NAME//o/'[$0]'}", "w[o]rld"),
    ("${NAME/o/'[$0]'}", "w[$0]rld"),
    ("${NAME//o/'$$'}", "w$rld"),
    ("${UNSET//a/b}", ""),
    # quotes and escapes
    ("'$NAME'", "$NAME"),
    ('"$NAME\\$NAME"', "world$NAME"),
    ('"a\\b"', "a\\b"),
    ("\\$NAME", "$NAME"),
    ('a"b"\'c\'', "abc"),
    # errors
    ("${NAME", ERROR),
    ("${NAME:-x", ERROR),
    ("${}", ERROR),
    ("${:-x}", ERROR),
    ("${NAME:=x}", ERROR),
    ("${NAME=x}", ERROR),
    ("${NAME:#x}", ERROR),
    ("${NAME:%x}", ERROR),
    ("${NAME#\\x}", ERROR),
    ("${NAME/x}", ERROR),
    ("${UNSET?}", ERROR),
    ("${EMPTY:?}", ERROR),
    ("'open", ERROR),
    ('"open', ERROR),
]


@pytest.mark.parametrize(("word", "expected"), OWN_CASES)
def test_word_expands_as_buildkit_does(word, expected):
    if expected == ERROR:
        with pytest.raises(ExpansionError):
            expand_word(word, ENV)
    else:
        assert expand_word(word, ENV) == expected


def test_a_required_variable_error_names_the_variable_and_the_message():
    with pytest.raises(ExpansionError, match=r"FOO: must be set"):
        expand_word("${FOO:?must be set}", {})


def test_the_required_message_is_itself_expanded():
    with pytest.raises(ExpansionError, match="need x here"):
        expand_word("${FOO?need $ARG here}", {"ARG": "x"})


def test_a_required_variable_error_without_message_says_unset_or_empty():
    with pytest.raises(ExpansionError, match="FOO: is not allowed to be unset"):
        expand_word("${FOO?}", {})
    with pytest.raises(ExpansionError, match="FOO: is not allowed to be empty"):
        expand_word("${FOO:?}", {"FOO": ""})


def test_an_error_message_quotes_the_word_that_failed():
    with pytest.raises(ExpansionError, match=r'failed to process "\$\{X": syntax error'):
        expand_word("${X", {})


def test_used_and_unset_report_the_names_looked_up():
    result = expand("${A:-x} $B ${C-y} ${D:+z} '$E' \\$F", {"A": "1", "D": ""})
    assert result.used == {"A", "D"}
    assert result.unset == {"B", "C"}


def test_the_default_word_is_expanded_even_when_the_variable_is_set():
    result = expand("${A:-$B}", {"A": "1"})
    assert result.value == "1"
    assert result.unset == {"B"}


def test_positional_and_special_parameters_are_reported_unset():
    assert expand("$1$@", {"1": "x", "@": "y"}).value == "xy"
    assert expand("$1$@", {}).unset == {"1", "@"}


def test_a_plain_word_reports_no_variables():
    result = expand("plain text", {"plain": "x"})
    assert (result.value, result.used, result.unset) == ("plain text", frozenset(), frozenset())


def test_backtick_escape_token_escapes_and_backslash_is_literal():
    env = {"DIR": "C:\\app"}
    assert expand_word("`$DIR", env, escape="`") == "$DIR"
    assert expand_word("C:\\Windows\\$DIR", env, escape="`") == "C:\\Windows\\C:\\app"
    assert expand_word('"a`"b"', env, escape="`") == 'a"b'
    assert expand_word("a` b", {}, escape="`") == "a b"


def test_backtick_escape_keeps_backslash_escapes_in_patterns():
    assert expand_word("${V#\\*}", {"V": "*x"}, escape="`") == "x"


def test_an_escape_token_other_than_backslash_or_backtick_is_refused():
    with pytest.raises(ValueError):
        ShellLexer(escape="^")


def test_fields_split_unquoted_expansions_but_not_quoted_ones():
    env = {"PORTS": "80  443/udp"}
    assert expand_words("$PORTS 8080", env) == ["80", "443/udp", "8080"]
    assert expand_words('"$PORTS" 8080', env) == ["80  443/udp", "8080"]
    assert expand_words("a\\ b ${PORTS:-x}", env) == ["a b", "80", "443/udp"]


def test_fields_drop_empty_quoted_words():
    assert expand_words('a "" b', {}) == ["a", "b"]


def test_fields_split_on_go_whitespace_only():
    assert expand_words("a\x1cb\u3000c", {}) == ["a\x1cb", "c"]


def test_heredoc_operator_joins_the_field_of_the_next_word():
    assert expand_words("cat << EOF x", {}) == ["cat", "<< EOF", "x"]
    assert expand_words("3<<-  EOF", {}) == ["3<<-", "EOF"]


def test_heredoc_operator_keeps_spaces_tabs_and_carriage_returns_only():
    assert expand_words("<< \t\rEOF", {}) == ["<< \t\rEOF"]
    assert expand_words("<<\vEOF", {}) == ["<<", "EOF"]
    assert expand_words("<<\nEOF", {}) == ["<<", "EOF"]


def test_heredoc_operator_joins_the_first_field_of_an_expansion():
    assert expand_words("<< $X", {"X": "a b"}) == ["<< a", "b"]


def test_single_or_quoted_angle_brackets_do_not_join_fields():
    assert expand_words("a < b", {}) == ["a", "<", "b"]
    assert expand_words('"<<" b \\<< c', {}) == ["<<", "b", "<<", "c"]
    assert expand_words("<<< b", {}) == ["<<<", "b"]


def test_heredoc_operator_leaves_the_value_as_written():
    assert expand_word("cat <<  EOF", {}) == "cat <<  EOF"
    assert expand_word("${X:-a << b}", {}) == "a << b"


def test_heredoc_operator_joins_fields_in_every_mode():
    lexer = ShellLexer(keep_unset=True, raw_quotes=True, raw_escapes=True, skip_quotes=True)
    assert lexer.expand_words("a << 'b'", {}) == ["a", "<< 'b'"]


def test_keep_unset_leaves_unset_variables_as_written():
    lexer = ShellLexer(keep_unset=True)
    env = {"SET": "v"}
    assert lexer.expand_word("$SET-$UNSET-${UNSET}", env) == "v-$UNSET-${UNSET}"
    assert lexer.expand_word("${UNSET:-$SET}", env) == "${UNSET:-v}"
    assert lexer.expand_word("${UNSET:?boom}", env) == "${UNSET:?boom}"
    assert lexer.expand_word("${UNSET//a/b}", env) == "${UNSET//a/b}"


def test_raw_quotes_and_raw_escapes_keep_what_they_interpret():
    assert ShellLexer(raw_quotes=True).expand_word("'a b'\"$X\"", {"X": "1"}) == "'a b'\"1\""
    assert ShellLexer(raw_escapes=True).expand_word("a\\ b", {}) == "a\\ b"


def test_skip_quotes_expands_inside_quotes_and_keeps_them():
    lexer = ShellLexer(skip_quotes=True)
    assert lexer.expand_word("echo '$X' \"$X\"", {"X": "1"}) == "echo '1' \"1\""


def test_case_insensitive_lookup_finds_differently_cased_names():
    lexer = ShellLexer(case_insensitive=True)
    result = lexer.expand("$path", {"PATH": "/bin"})
    assert result.value == "/bin"
    assert result.used == {"path"}


def test_expanding_instructions_follow_buildkit():
    assert {"ENV", "ARG", "COPY", "ADD", "WORKDIR", "FROM", "EXPOSE"} <= EXPANDING_INSTRUCTIONS
    assert EXPANDING_INSTRUCTIONS.isdisjoint({"RUN", "CMD", "ENTRYPOINT", "SHELL", "HEALTHCHECK", "ONBUILD"})
    assert WORD_SPLITTING_INSTRUCTIONS <= EXPANDING_INSTRUCTIONS


WORD_ALPHABET = st.sampled_from(list("${}:-+?#%/*\\'\"`<abAB_01 @.\n") + ["é", "한"])


@settings(max_examples=400)
@given(word=st.text(WORD_ALPHABET, max_size=40), escape=st.sampled_from(["\\", "`"]))
def test_random_words_raise_nothing_but_expansion_error(word, escape):
    env = {"a": "x y", "A": "", "b": "*", "ab": "\\"}
    for lexer in (ShellLexer(escape), ShellLexer(escape, keep_unset=True, raw_quotes=True)):
        try:
            result = lexer.expand(word, env)
        except ExpansionError:
            continue
        assert isinstance(result.value, str)


@settings(max_examples=200)
@given(pattern=st.text(st.sampled_from(list("*?ab\\")), max_size=24), value=st.text("ab\n", max_size=60))
def test_random_patterns_match_without_error_or_blowup(pattern, value):
    for word in ("${V#P}", "${V##P}", "${V%P}", "${V%%P}", "${V/P/r}", "${V//P/r}"):
        try:
            expand_word(word.replace("P", "$P"), {"V": value, "P": pattern})
        except ExpansionError:
            pass
