"""Go's idea of whitespace, which the Dockerfile formats inherit from BuildKit.

BuildKit splits words and trims lines with Go's ``unicode.IsSpace``. That set
is *not* Python's ``str.isspace()`` (which also counts the separators
U+001C..U+001F), so every Dockerfile-format module that splits or trims uses
these definitions instead of ``str.split()``/``str.strip()``.
"""

from __future__ import annotations

import functools
import re

GO_WHITESPACE = (
    "\t\n\v\f\r \x85\xa0"
    "\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
"""Every character for which Go's ``unicode.IsSpace`` is true."""


def go_trim_space(text: str) -> str:
    """``strings.TrimSpace``: remove Go whitespace from both ends."""
    return text.strip(GO_WHITESPACE)


def split_go_fields(text: str) -> list[str]:
    """Split at runs of Go whitespace; the first and last piece may be empty.

    Unlike ``strings.Fields`` this keeps the empty edge pieces, so a caller
    gluing pieces onto neighbouring text knows whether the text began or ended
    with whitespace.
    """
    return _whitespace_run().split(text)


@functools.cache
def _whitespace_run() -> re.Pattern[str]:
    return re.compile("[" + re.escape(GO_WHITESPACE) + "]+")
