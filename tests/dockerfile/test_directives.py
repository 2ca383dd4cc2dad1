"""Parser directives at the top of the file."""

import pytest

from dockpy.dockerfile.ast import Directives
from dockpy.dockerfile.directives import read_directives
from dockpy.dockerfile.lines import SourceLines
from dockpy.errors import DockerfileError


def directives(text):
    return read_directives(SourceLines(text))


def test_all_three_directives_are_read_case_insensitively():
    assert directives("# SYNTAX = a/b:1 \n#check=skip=all\n#Escape=`\nFROM x\n") == Directives(
        escape="`", syntax="a/b:1", check="skip=all"
    )


def test_no_directives_gives_the_defaults():
    assert directives("FROM x\n") == Directives(escape="\\", syntax=None, check=None)


@pytest.mark.parametrize("first_line", ["# comment", "", "# unknown=1", "FROM x"])
def test_directives_end_at_the_first_other_line(first_line):
    assert directives(f"{first_line}\n# escape=`\n").escape == "\\"


def test_a_repeated_directive_is_an_error_on_its_line():
    with pytest.raises(DockerfileError, match="^Dockerfile:2: only one escape parser directive can be used$"):
        directives("# escape=`\n# escape=\\\n")


def test_an_escape_other_than_backslash_or_backtick_is_an_error():
    with pytest.raises(DockerfileError) as raised:
        directives("# escape=ab\n")
    assert (raised.value.line, raised.value.snippet) == (1, "# escape=ab")
