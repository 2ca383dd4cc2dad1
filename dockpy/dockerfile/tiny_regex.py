"""A tiny regular-expression language, and a full-match test that never backtracks badly.

``.dockerignore`` patterns become regular expressions built from a handful of
constructs: one-character tests, groups, ``*`` and ``?`` repeats, and
start/end/word-boundary assertions (``Piece`` and friends below).

Python's ``re`` runs these fastest, but it backtracks: a pattern such as
``**/a/**/a/**/a/**/b`` takes time polynomial in the path length, with the
number of repeats as the exponent. So ``compile_full_match`` hands a regex to
``re`` only while it has at most ``MAX_BACKTRACKING_REPEATS`` unbounded
repeats (at worst quadratic, harmless for paths) and otherwise runs it as an
automaton: a Thompson NFA whose state sets are turned into DFA states lazily,
one character at a time, which costs one dictionary lookup per character once
warm and is linear in the path length whatever the pattern.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

START = "start"
END = "end"
WORD_BOUNDARY = "word-boundary"
NOT_WORD_BOUNDARY = "not-word-boundary"

MAX_BACKTRACKING_REPEATS = 2
"""Regexes with more ``*`` repeats than this run on the automaton instead of ``re``."""

MAX_DFA_STATES = 4096
"""The lazy DFA starts afresh once it has built more states than this, bounding its memory."""

_PYTHON_ASSERTIONS = {START: "\\A", END: "\\Z", WORD_BOUNDARY: "(?a:\\b)", NOT_WORD_BOUNDARY: "(?a:\\B)"}


@dataclass(frozen=True)
class CharTest:
    """Matches one character: ``source`` is a Python regex for exactly one character."""

    source: str


@dataclass(frozen=True)
class Assertion:
    """Matches no character, only where ``kind`` holds (START, END, ...)."""

    kind: str


@dataclass(frozen=True)
class Group:
    pieces: tuple[Piece, ...]


@dataclass(frozen=True)
class Piece:
    """An atom, once (``repeat=""``), any number of times (``"*"``) or optionally (``"?"``)."""

    atom: CharTest | Assertion | Group
    repeat: str = ""


def to_python_regex(pieces: tuple[Piece, ...]) -> str:
    """The same regex in Python's syntax."""
    return "".join(_python_atom(piece.atom) + piece.repeat for piece in pieces)


def _python_atom(atom: CharTest | Assertion | Group) -> str:
    if isinstance(atom, CharTest):
        return atom.source
    if isinstance(atom, Assertion):
        return _PYTHON_ASSERTIONS[atom.kind]
    return "(?:" + to_python_regex(atom.pieces) + ")"


def compile_full_match(pieces: tuple[Piece, ...]) -> Callable[[str], bool]:
    """A predicate telling whether a whole string matches the regex."""
    if _count_unbounded(pieces) <= MAX_BACKTRACKING_REPEATS or _has_word_assertions(pieces):
        compiled = re.compile(to_python_regex(pieces))
        return lambda text: compiled.fullmatch(text) is not None
    return automaton_full_match(pieces)


def automaton_full_match(pieces: tuple[Piece, ...]) -> Callable[[str], bool]:
    """The full-match predicate run on the lazy DFA: linear time for any regex."""
    return _LazyDfa(_Nfa(pieces)).full_match


def _count_unbounded(pieces: tuple[Piece, ...]) -> int:
    count = 0
    for piece in pieces:
        count += piece.repeat == "*"
        if isinstance(piece.atom, Group):
            count += _count_unbounded(piece.atom.pieces)
    return count


def _has_word_assertions(pieces: tuple[Piece, ...]) -> bool:
    """Word boundaries depend on the previous character, which the lazy DFA does not track."""
    for piece in pieces:
        atom = piece.atom
        if isinstance(atom, Assertion) and atom.kind in (WORD_BOUNDARY, NOT_WORD_BOUNDARY):
            return True
        if isinstance(atom, Group) and _has_word_assertions(atom.pieces):
            return True
    return False


class _Nfa:
    """Thompson's construction: each state has character edges, free moves and guarded moves.

    A guarded move is a free move taken only where its assertion holds.
    """

    def __init__(self, pieces: tuple[Piece, ...]):
        self.tests: list[list[tuple[Callable[[str], object], int]]] = []
        self.moves: list[list[int]] = []
        self.guarded: list[list[tuple[str, int]]] = []
        self.start = self._new_state()
        self.accept = self._sequence(pieces, self.start)

    def _new_state(self) -> int:
        self.tests.append([])
        self.moves.append([])
        self.guarded.append([])
        return len(self.tests) - 1

    def _sequence(self, pieces: tuple[Piece, ...], state: int) -> int:
        for piece in pieces:
            state = self._piece(piece, state)
        return state

    def _piece(self, piece: Piece, state: int) -> int:
        """Build ``piece`` from ``state``; return the (edge-less) state after it."""
        if not piece.repeat:
            return self._atom(piece.atom, state)
        entry, after = self._new_state(), self._new_state()
        self.moves[state].append(entry)
        end = self._atom(piece.atom, entry)
        self.moves[entry].append(after)
        self.moves[end].append(after)
        if piece.repeat == "*":
            self.moves[end].append(entry)
        return after

    def _atom(self, atom: CharTest | Assertion | Group, state: int) -> int:
        if isinstance(atom, Group):
            return self._sequence(atom.pieces, state)
        target = self._new_state()
        if isinstance(atom, Assertion):
            self.guarded[state].append((atom.kind, target))
        else:
            self.tests[state].append((re.compile(atom.source).fullmatch, target))
        return target

    def closure(self, states, *, at_start: bool, at_end: bool) -> frozenset[int]:
        """``states`` and every state reachable from them by free (and holding guarded) moves."""
        holds = {START: at_start, END: at_end}
        seen = set(states)
        pending = list(states)
        while pending:
            state = pending.pop()
            reachable = self.moves[state] + [target for kind, target in self.guarded[state] if holds[kind]]
            for target in reachable:
                if target not in seen:
                    seen.add(target)
                    pending.append(target)
        return frozenset(seen)

    def step(self, states: frozenset[int], char: str) -> frozenset[int]:
        targets = {target for state in states for test, target in self.tests[state] if test(char)}
        return self.closure(targets, at_start=False, at_end=False)


class _LazyDfa:
    """Runs an NFA as a DFA whose states (sets of NFA states) are built on first use.

    DFA states are small integers; ``_moves[state]`` maps a character to the
    next state, so a warm match is one dictionary lookup per character.
    """

    def __init__(self, nfa: _Nfa):
        self._nfa = nfa
        self._forget()

    def _forget(self) -> None:
        self._ids: dict[frozenset[int], int] = {}
        self._sets: list[frozenset[int]] = []
        self._moves: list[dict[str, int]] = []
        self._accepting: list[bool | None] = []
        self._dead = self._state_id(frozenset())
        self._initial = self._state_id(self._nfa.closure({self._nfa.start}, at_start=True, at_end=False))

    def full_match(self, text: str) -> bool:
        nfa = self._nfa
        if not text:
            return nfa.accept in nfa.closure({nfa.start}, at_start=True, at_end=True)
        if len(self._sets) > MAX_DFA_STATES:
            self._forget()
        moves, dead = self._moves, self._dead
        state = self._initial
        for char in text:
            following = moves[state].get(char)
            if following is None:
                following = moves[state][char] = self._state_id(nfa.step(self._sets[state], char))
            if following == dead:
                return False
            state = following
        return self._accepts(state)

    def _state_id(self, states: frozenset[int]) -> int:
        state = self._ids.get(states)
        if state is None:
            state = self._ids[states] = len(self._sets)
            self._sets.append(states)
            self._moves.append({})
            self._accepting.append(None)
        return state

    def _accepts(self, state: int) -> bool:
        accepting = self._accepting[state]
        if accepting is None:
            closure = self._nfa.closure(self._sets[state], at_start=False, at_end=True)
            accepting = self._accepting[state] = self._nfa.accept in closure
        return accepting
