"""``.dockerignore``: which paths of the build context a build never sees.

Read exactly as Docker reads it (moby/patternmatcher's ``ignorefile``):

- a line whose first character is ``#`` is a comment (an indented ``#`` is
  not); surrounding whitespace is trimmed and blank lines are skipped; a UTF-8
  BOM before the first line is dropped;
- ``!`` makes the line an *exception*: a path it matches is included again;
- each pattern is path-cleaned like Go's ``filepath.Clean`` (``./a//b/`` is
  ``a/b``, ``a/../b`` is ``b``) and a leading ``/`` is dropped, so ``/tmp`` and
  ``tmp`` both mean the ``tmp`` at the top of the context.

Matching (``IgnoreRules.excludes``) follows ``MatchesOrParentMatches``: the
patterns are tried in order and the last one that matches the path *or one of
its parent directories* decides, so ``docs`` excludes ``docs/a/b`` and
``!docs/README.md`` brings that one file back. Pattern syntax: see
``ignore_pattern``.

A context walker skips an excluded directory unless ``may_include_below``
says an exception may re-include something inside it; it then walks in and
asks ``excludes`` for every entry, as BuildKit's walker does.
"""

from __future__ import annotations

from collections.abc import Iterable
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

from dockpy.dockerfile.gostrings import go_trim_space
from dockpy.dockerfile.ignore_pattern import IgnorePattern, go_clean_path
from dockpy.errors import InvalidInputError

UTF8_BOM = "\ufeff"


@dataclass(frozen=True)
class IgnoreRules:
    """The compiled patterns of one ``.dockerignore``, in file order."""

    patterns: tuple[IgnorePattern, ...] = ()
    _ancestor_hits: dict[str, tuple[bool, ...]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_file(cls, path: str | Path) -> IgnoreRules:
        """Read a ``.dockerignore``; a missing file means no rules, as in Docker."""
        path = Path(path)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return cls()
        except OSError as error:
            raise InvalidInputError(f"cannot read {path}: {error.strerror}") from None
        return cls.from_text(data.decode("utf-8", errors="surrogateescape"), source=path.name)

    @classmethod
    def from_text(cls, text: str, *, source: str = ".dockerignore") -> IgnoreRules:
        return cls.from_lines(text.split("\n"), source=source)

    @classmethod
    def from_lines(cls, lines: Iterable[str], *, source: str = ".dockerignore") -> IgnoreRules:
        """Compile lines of a ``.dockerignore``; a bad pattern names ``source:line``."""
        patterns = []
        for number, line in enumerate(lines, 1):
            if number == 1:
                line = line.removeprefix(UTF8_BOM)
            try:
                pattern = _read_line(line)
            except InvalidInputError as error:
                raise InvalidInputError(f"{source}:{number}: {error.message}") from None
            if pattern is not None:
                patterns.append(pattern)
        return cls(tuple(patterns))

    def excludes(self, path: str) -> bool:
        """Whether ``path`` (relative to the context, ``/``-separated) is left out of the build."""
        path = _clean_relative(path)
        if path == ".":
            return False
        inherited = self._hits_at_or_above(path.rpartition("/")[0])
        excluded = False
        for pattern, parent_matched in zip(self.patterns, inherited):
            if pattern.exception != excluded:
                continue
            if parent_matched or pattern.matches(path):
                excluded = not pattern.exception
        return excluded

    def _hits_at_or_above(self, directory: str) -> tuple[bool, ...]:
        """For each pattern, whether it matches ``directory`` or a directory above it.

        Cached per directory, because a walk asks about every entry of a
        directory and every directory below it (BuildKit's walker keeps the
        same results for the same reason). ``""`` is the context itself.
        """
        cache = self._ancestor_hits
        missing = []
        while directory and directory not in cache:
            missing.append(directory)
            directory = directory.rpartition("/")[0]
        hits = cache[directory] if directory else (False,) * len(self.patterns)
        for below in reversed(missing):
            hits = tuple(hit or pattern.matches(below) for hit, pattern in zip(hits, self.patterns))
            cache[below] = hits
        return hits

    def may_include_below(self, directory: str) -> bool:
        """Whether an exception may re-include something inside excluded ``directory``.

        Exact when every exception is a literal path; as soon as one contains
        wildcards, every excluded directory has to be walked, as in BuildKit.
        """
        exceptions = [pattern for pattern in self.patterns if pattern.exception]
        if any(pattern.has_wildcards for pattern in exceptions):
            return True
        prefix = _clean_relative(directory) + "/"
        return any((pattern.text + "/").startswith(prefix) for pattern in exceptions)


def _read_line(line: str) -> IgnorePattern | None:
    """One line as ``ignorefile.ReadAll`` then ``patternmatcher.New`` treat it."""
    if line.startswith("#"):
        return None
    text = go_trim_space(line)
    if not text:
        return None
    exception = text.startswith("!")
    if exception:
        text = go_trim_space(text[1:])
    if text:
        text = go_clean_path(text)
        if len(text) > 1 and text.startswith("/"):
            text = text[1:]
    return _compile(("!" if exception else "") + text)


def _compile(pattern: str) -> IgnorePattern:
    """``patternmatcher.New`` for one pattern, which cleans the text (``!`` included) once more."""
    pattern = go_clean_path(pattern)
    exception = pattern.startswith("!")
    if exception:
        if pattern == "!":
            raise InvalidInputError('illegal exclusion pattern: "!"')
        pattern = pattern[1:]
    return IgnorePattern.compile(pattern, exception=exception)


def _clean_relative(path: str) -> str:
    """``path`` relative to the context and path-cleaned; ``.`` is the context itself."""
    if path and not _unclean_path().search(path):
        return path
    return go_clean_path(path.lstrip("/"))


@functools.cache
def _unclean_path() -> re.Pattern[str]:
    """Finds what ``go_clean_path`` would change: a leading or trailing or doubled slash, ``.``, ``..``."""
    return re.compile(r"^/|//|/$|(?:^|/)\.\.?(?:/|$)")
