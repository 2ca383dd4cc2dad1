""".dockerignore reading and matching, as Docker (moby/patternmatcher) does it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockpy.dockerfile.dockerignore import IgnoreRules
from dockpy.dockerfile.ignore_pattern import MatchKind, go_clean_path
from dockpy.errors import InvalidInputError

# (patterns, path, excluded): single patterns from patternmatcher's tables and
# Go's filepath.Match tests, then Docker's documented examples.
MATCH_CASES = [
    (["**"], "file", True),
    (["**"], "dir/file", True),
    (["**/"], "dir/file/", True),
    (["**/**"], "dir/file", True),
    (["dir/**"], "dir/dir2/file", True),
    (["dir/**"], "dir", False),
    (["**/dir"], "dir", True),
    (["**/dir"], "a/dir/file", True),
    (["**/dir2/*"], "dir/dir2/file", True),
    (["**/dir2/**"], "dir/dir2/dir3/file", True),
    (["**file"], "dir/dir/file", True),
    (["**/file*.txt"], "dir/dir/file.txt", True),
    (["**/**/*.txt2"], "dir/dir/file.txt", False),
    (["**/*.txt"], "file.txt", True),
    (["a**/*.txt"], "a/dir/dir/file.txt", True),
    (["a/*.txt"], "a/dir/file.txt", False),
    (["a/*.txt**"], "a/file.txt", True),
    (["a[b-d]e"], "ace", True),
    (["a[b-d]e"], "aae", False),
    (["a[^b-d]e"], "aze", True),
    (["[!a]"], "!", True),
    (["[!a]"], "b", False),
    (["[[:digit:]]*.log"], "1.log", True),
    (["[[:digit:]]*.log"], "x.log", False),
    ([".*"], ".foo", True),
    ([".*"], "foo", False),
    (["abc.def"], "abcZdef", False),
    (["abc?def"], "abcZdef", True),
    (["abc?def"], "abc/def", False),
    (["a(b)c/def"], "a(b)c/def", True),
    (["a.|)$(}+{bc"], "a.|)$(}+{bc", True),
    (["a\\*b"], "a*b", True),
    (["a\\*b"], "axb", False),
    (["a*"], "ab/c", True),
    (["a*/b"], "a/c/b", False),
    (["a*b*c*d*e*/f"], "axbxcxdxexxx/f", True),
    (["a*b?c*x"], "abxbbxdbxebxczzy", False),
    (["a?b"], "a☺b", True),
    (["[a-ζ]*"], "α", True),
    (["[\\]a]"], "]", True),
    (["[x\\-]"], "-", True),
    (["*x"], "xxx", True),
    # Docker's documentation
    (["*/temp*"], "somedir/temporary.txt", True),
    (["*/temp*"], "somedir/temp", True),
    (["*/temp*"], "temp", False),
    (["*/*/temp*"], "somedir/subdir/temporary.txt", True),
    (["temp?"], "tempa", True),
    (["temp?"], "temp", False),
    (["**/*.go"], "a/b/c.go", True),
    (["*.md", "!README*.md", "README-secret.md"], "README.md", False),
    (["*.md", "!README*.md", "README-secret.md"], "README-secret.md", True),
    (["*.md", "!README*.md", "README-secret.md"], "notes.md", True),
    (["*.md", "README-secret.md", "!README*.md"], "README-secret.md", False),
    # exceptions and parent directories
    (["docs", "!docs/README.md"], "docs/README.md", False),
    (["docs", "!docs/README.md"], "docs/other.md", True),
    (["docs/", "!docs/README.md"], "docs/README.md", False),
    (["docs/*", "!docs/README.md"], "docs/README.md", False),
    (["!fileutils.go", "*.go"], "fileutils.go", True),
    (["*.go", "!fileutils.go"], "fileutils.go", False),
    (["**", "!util/docker/web"], "util/docker/web/foo", False),
    (["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo", True),
    (["build", "!build/keep"], "build/keep/deep/file", False),
    # path cleaning of patterns and paths
    (["/tmp"], "tmp", True),
    (["./tmp/"], "tmp/x", True),
    (["a//b/../c"], "a/c", True),
    (["x"], "./x", True),
    (["x"], "a/../x", True),
    (["x"], "/x", True),
    (["*.go"], ".", False),
]


@pytest.mark.parametrize(("patterns", "path", "excluded"), MATCH_CASES)
def test_path_is_excluded_as_docker_decides(patterns, path, excluded):
    assert IgnoreRules.from_lines(patterns).excludes(path) is excluded


BAD_PATTERNS = ["[", "[^", "[^bc", "a[", "[]a]", "[-]", "[x-]", "[-x]", "[a-b-c]", "\\", "!", "a\\é", "[[:nope:]]"]


@pytest.mark.parametrize("pattern", BAD_PATTERNS)
def test_bad_pattern_is_refused_with_its_line(pattern):
    with pytest.raises(InvalidInputError, match=r"^\.dockerignore:3: "):
        IgnoreRules.from_lines(["ok", "# fine", pattern])


def test_reading_trims_comments_blanks_bom_and_slashes():
    text = "\ufefftest1\n/test2\n/a/file/here\r\n\nlastfile\n# a comment\n  # not a comment\n! /inverted/abs/path\n"
    rules = IgnoreRules.from_text(text)
    written = [("!" if pattern.exception else "") + pattern.text for pattern in rules.patterns]
    assert written == ["test1", "test2", "a/file/here", "lastfile", "# not a comment", "!inverted/abs/path"]


def test_an_exclamation_mark_alone_is_an_error():
    with pytest.raises(InvalidInputError, match='illegal exclusion pattern: "!"'):
        IgnoreRules.from_text("a\n! \n")


def test_a_missing_file_means_no_rules(tmp_path):
    rules = IgnoreRules.from_file(tmp_path / ".dockerignore")
    assert rules.patterns == ()
    assert not rules.excludes("anything")


def test_a_file_is_read_and_errors_name_it(tmp_path):
    path = tmp_path / ".dockerignore"
    path.write_text("*.log\n!keep.log\n")
    rules = IgnoreRules.from_file(path)
    assert rules.excludes("x.log") and not rules.excludes("keep.log")
    path.write_text("ok\n[\n")
    with pytest.raises(InvalidInputError, match=r"^\.dockerignore:2: "):
        IgnoreRules.from_file(path)


def test_patterns_compile_to_the_cheapest_match_kind():
    kinds = [pattern.kind for pattern in IgnoreRules.from_lines(["a/b", "dir/**", "**/x.txt", "*.go"]).patterns]
    assert kinds == [MatchKind.EXACT, MatchKind.PREFIX, MatchKind.SUFFIX, MatchKind.REGEX]


def test_an_excluded_directory_is_walked_only_toward_a_literal_exception():
    rules = IgnoreRules.from_lines(["vendor", "build", "!build/keep/file"])
    assert rules.excludes("build") and rules.excludes("vendor")
    assert rules.may_include_below("build")
    assert rules.may_include_below("build/keep")
    assert not rules.may_include_below("vendor")
    assert not rules.may_include_below("build/other")


def test_a_wildcard_exception_makes_every_excluded_directory_worth_walking():
    rules = IgnoreRules.from_lines(["**", "!**/*.md"])
    assert rules.may_include_below("any/dir")
    assert not rules.excludes("any/dir/README.md")


def test_without_exceptions_no_excluded_directory_is_walked():
    assert not IgnoreRules.from_lines(["node_modules"]).may_include_below("node_modules")


def test_go_clean_path_matches_go():
    cases = {"": ".", ".": ".", "a//b/./c/": "a/b/c", "a/../..": "..", "/../x": "/x", "//a": "/a", "a/b/../../c": "c"}
    assert {path: go_clean_path(path) for path in cases} == cases


def test_a_pathological_pattern_matches_in_linear_time():
    rules = IgnoreRules.from_lines(["**/**/**/**/**/**/**/x", "*a*a*a*a*a*a*a*b"])
    assert not rules.excludes("a/" * 500 + "y")
    assert not rules.excludes("a" * 5000)


PATH_CHARS = st.sampled_from(list("ab/.*?[]!^\\-_ \n") + ["é", "☺"])
RULES = IgnoreRules.from_lines(
    ["*.log", "**/build/**", "!**/build/keep", "docs", "!docs/*.md", "a[b-d]?/**/x", "[[:alpha:]]*", "\\*"]
)


@settings(max_examples=300)
@given(path=st.text(PATH_CHARS, max_size=60))
def test_matching_arbitrary_paths_never_raises(path):
    assert RULES.excludes(path) in (True, False)
    assert RULES.may_include_below(path) in (True, False)


@settings(max_examples=300)
@given(pattern=st.text(PATH_CHARS, min_size=1, max_size=20), path=st.text(PATH_CHARS, max_size=40))
def test_arbitrary_patterns_compile_or_are_refused_cleanly(pattern, path):
    try:
        rules = IgnoreRules.from_lines([pattern])
    except InvalidInputError:
        return
    assert rules.excludes(path) in (True, False)
