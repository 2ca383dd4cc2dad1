"""The patterns of ``${VAR#p}``, ``${VAR%p}``, ``${VAR/p/r}`` and ``${VAR//p/r}``.

BuildKit turns such a pattern into a Go regular expression; this module gives
the same answers without one, so no pattern can make matching slow:

- ``*`` matches any run of characters and ``?`` any one character, except that
  neither matches a newline (Go's ``.`` does not);
- ``\\*``, ``\\?`` and ``\\\\`` are a literal ``*``, ``?`` and ``\\``; ``\\}`` and
  ``\\/`` are a literal ``}`` and ``/`` (the backslash only protected them from
  ending the ``${...}``); any other backslash is an error, as in BuildKit;
- everything else is literal, including ``[``: BuildKit has no bracket
  expressions, so ``${V#[ab]}`` removes the text ``[ab]``.

Matching simulates the pattern as a small automaton over the value (states are
"how many pattern items have matched so far"), which costs
O(len(value) * len(pattern)) whatever the input. For a pattern that contains
only ``*``, ``?`` and literals, Go's leftmost-first regex semantics with greedy
stars give the leftmost-longest match, and lazy stars the shortest one, which
is what the automaton computes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from dockpy.errors import ExpansionError

STAR = 0
"""Pattern item: any run of characters other than newline."""
ANY = 1
"""Pattern item: any one character other than newline."""

Item = int | str
"""A pattern item: ``STAR``, ``ANY`` or a one-character literal string."""


@dataclass(frozen=True)
class ShellPattern:
    """A parsed pattern: a sequence of items, plus each state's star closure.

    ``closure[i]`` holds state ``i`` and the states after it reachable through
    stars alone (a star may match nothing). State ``len(items)`` accepts.
    """

    items: tuple[Item, ...]
    closure: tuple[frozenset[int], ...]

    @classmethod
    def parse(cls, text: str) -> ShellPattern:
        """Read a pattern as BuildKit does; an invalid escape is an ExpansionError."""
        return cls.of_items(_parse_items(text))

    @classmethod
    def of_items(cls, items: tuple[Item, ...]) -> ShellPattern:
        closure = []
        for index in range(len(items) + 1):
            reach = {index}
            while index < len(items) and items[index] == STAR:
                index += 1
                reach.add(index)
            closure.append(frozenset(reach))
        return cls(items, tuple(closure))

    def reversed(self) -> ShellPattern:
        """The pattern read backwards: suffix questions become prefix questions."""
        return ShellPattern.of_items(self.items[::-1])

    def trim_prefix(self, value: str, *, longest: bool) -> str:
        """``${V#p}`` (shortest) or ``${V##p}`` (longest): drop a matching prefix."""
        end = _pick(self._prefix_ends(value, 0), longest)
        return value if end is None else value[end:]

    def trim_suffix(self, value: str, *, longest: bool) -> str:
        """``${V%p}`` (shortest) or ``${V%%p}`` (longest): drop a matching suffix."""
        return self.reversed().trim_prefix(value[::-1], longest=longest)[::-1]

    def replace_first(self, value: str, replacement: str) -> str:
        """``${V/p/r}``: replace the leftmost-longest match, ``r`` taken literally."""
        found = self._search(value, 0)
        if found is None:
            return value
        start, end = found
        return value[:start] + replacement + value[end:]

    def replace_all(self, value: str, template: str) -> str:
        """``${V//p/r}``: replace every match, as Go's ``Regexp.ReplaceAllString``.

        Matches do not overlap; an empty match right after a previous match is
        skipped; ``$0``/``${0}`` in the replacement insert the match and
        ``$$`` a dollar (Go expands the replacement as a template).
        """
        pieces, last_end, search_from = [], 0, 0
        while search_from <= len(value):
            found = self._search(value, search_from)
            if found is None:
                break
            start, end = found
            pieces.append(value[last_end:start])
            if end > last_end or start == 0:
                pieces.append(expand_go_template(template, value[start:end]))
            last_end = end
            search_from = end if end > search_from else search_from + 1
        pieces.append(value[last_end:])
        return "".join(pieces)

    def _prefix_ends(self, text: str, start: int) -> Iterator[int]:
        """Every ``end``, ascending, for which ``text[start:end]`` matches the whole pattern."""
        accept = len(self.items)
        states = self.closure[0]
        position = start
        while states:
            if accept in states:
                yield position
            if position == len(text):
                return
            states = self._step(states, text[position])
            position += 1

    def _step(self, states: frozenset[int] | set[int], char: str) -> set[int]:
        following: set[int] = set()
        for state in states:
            target = self._advance(state, char)
            if target is not None:
                following |= self.closure[target]
        return following

    def _advance(self, state: int, char: str) -> int | None:
        """The state after reading ``char`` in ``state``, or None if the thread dies."""
        if state == len(self.items):
            return None
        item = self.items[state]
        if item == STAR:
            return state if char != "\n" else None
        if item == ANY:
            return state + 1 if char != "\n" else None
        return state + 1 if item == char else None

    def _search(self, text: str, begin: int) -> tuple[int, int] | None:
        """The leftmost-longest match starting at or after ``begin``, as (start, end).

        Every state keeps only the earliest start that reaches it: two threads in
        the same state behave the same from then on, and the earlier start wins.
        """
        accept = len(self.items)
        threads: dict[int, int] = {}
        best: tuple[int, int] | None = None
        position = begin
        while True:
            if best is None:
                for state in self.closure[0]:
                    threads.setdefault(state, position)
            start = threads.get(accept)
            if start is not None and (best is None or start <= best[0]):
                best = (start, position)
            if best is not None:
                threads = {state: first for state, first in threads.items() if first <= best[0]}
            if position == len(text) or not threads:
                return best
            threads = self._step_threads(threads, text[position])
            position += 1

    def _step_threads(self, threads: dict[int, int], char: str) -> dict[int, int]:
        following: dict[int, int] = {}
        for state, start in threads.items():
            target = self._advance(state, char)
            if target is None:
                continue
            for reached in self.closure[target]:
                if start < following.get(reached, start + 1):
                    following[reached] = start
        return following


def _parse_items(text: str) -> tuple[Item, ...]:
    items: list[Item] = []
    index = 0
    while index < len(text):
        char = text[index]
        index += 1
        if char == "*":
            if not items or items[-1] != STAR:
                items.append(STAR)
        elif char == "?":
            items.append(ANY)
        elif char == "\\":
            escaped = text[index : index + 1]
            if escaped in ("}", "/"):
                continue
            if escaped not in ("*", "?", "\\"):
                shown = escaped or "at the end"
                raise ExpansionError(f"invalid pattern ({text}) in substitution: invalid escape '\\{shown}'")
            items.append(escaped)
            index += 1
        else:
            items.append(char)
    return tuple(items)


def _pick(ends: Iterator[int], longest: bool) -> int | None:
    chosen = None
    for end in ends:
        chosen = end
        if not longest:
            break
    return chosen


def expand_go_template(template: str, match: str) -> str:
    """Go's ``Regexp.Expand`` for a regex without groups: only ``$0`` yields text.

    ``$$`` is a dollar; ``$name``/``${name}`` (letters, digits, underscore) is
    group ``name``, and only group 0 (the whole match) exists; a ``$`` that
    starts no valid reference stays literal.
    """
    pieces = []
    index = 0
    while (dollar := template.find("$", index)) >= 0:
        pieces.append(template[index:dollar])
        if template.startswith("$$", dollar):
            pieces.append("$")
            index = dollar + 2
            continue
        name, index = _template_reference(template, dollar + 1)
        if name is None:
            pieces.append("$")
        elif name == "0":
            pieces.append(match)
    pieces.append(template[index:])
    return "".join(pieces)


def _template_reference(template: str, start: int) -> tuple[str | None, int]:
    """Read the name after a ``$``: (name, index after it), or (None, start) if malformed."""
    braced = template.startswith("{", start)
    end = begin = start + braced
    while end < len(template) and (template[end].isalpha() or template[end].isdecimal() or template[end] == "_"):
        end += 1
    if end == begin:
        return None, start
    if braced:
        if not template.startswith("}", end):
            return None, start
        return template[begin:end], end + 1
    return template[begin:end], end
