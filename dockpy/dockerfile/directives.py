"""Parser directives: ``# syntax=...``, ``# escape=``` and ``# check=...``.

Directives are comment lines at the very top of the file. The first line that
is not one (an instruction, a blank line, an ordinary comment, an unknown
``# name=value``) ends them for good, so a directive after a comment is just a
comment. Each may appear once; ``escape`` must be a backslash or a backtick
and changes the escape and continuation character for the whole file.
Directive lines are comments too: the logical-line reader skips them.
"""

from __future__ import annotations

import re

from dockpy.dockerfile.ast import Directives
from dockpy.dockerfile.gostrings import GO_WHITESPACE
from dockpy.dockerfile.lines import SourceLines

# Go's regexp \s is [\t\n\f\r ]; the value is everything up to trailing whitespace.
_DIRECTIVE = re.compile(r"#[\t\n\f\r ]*([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*\Z")
_KNOWN = ("syntax", "escape", "check")
_ESCAPE_CHARACTERS = ("\\", "`")


def read_directives(source: SourceLines) -> Directives:
    """The directives at the top of ``source``; DockerfileError for a repeated or bad one."""
    values: dict[str, str] = {}
    for number in range(1, source.line_count + 1):
        match = _DIRECTIVE.match(source.line(number).lstrip(GO_WHITESPACE))
        name = match[1].lower() if match else None
        if name not in _KNOWN:
            break
        if name in values:
            raise source.error(f"only one {name} parser directive can be used", number)
        if name == "escape" and match[2] not in _ESCAPE_CHARACTERS:
            raise source.error(f"invalid escape token '{match[2]}' does not match ` or \\", number)
        values[name] = match[2]
    return Directives(**values)
