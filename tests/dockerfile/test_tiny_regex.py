"""The tiny regex language: the lazy automaton agrees with Python's re."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from dockpy.dockerfile.tiny_regex import (
    END,
    START,
    Assertion,
    CharTest,
    Group,
    Piece,
    automaton_full_match,
    compile_full_match,
    to_python_regex,
)

ATOMS = st.sampled_from([CharTest("a"), CharTest("/"), CharTest("[^/]"), CharTest("."), CharTest("[ab]")])


def _pieces(depth: int):
    if depth == 0:
        return st.builds(Piece, ATOMS, st.sampled_from(["", "*", "?"]))
    groups = st.builds(Group, st.lists(_pieces(depth - 1), max_size=3).map(tuple))
    atom = st.one_of(ATOMS, groups)
    return st.builds(Piece, atom, st.sampled_from(["", "*", "?"]))


REGEXES = st.lists(_pieces(2), max_size=6).map(tuple)


@settings(max_examples=200)
@given(pieces=REGEXES, text=st.text("ab/\n", max_size=12))
def test_the_automaton_agrees_with_python_re(pieces, text):
    expected = re.fullmatch(to_python_regex(pieces), text) is not None
    assert automaton_full_match(pieces)(text) is expected


def test_anchors_hold_only_at_the_ends():
    pieces = (Piece(Assertion(START)), Piece(CharTest("a"), "*"), Piece(Assertion(START)), Piece(Assertion(END)))
    matches = automaton_full_match(pieces)
    assert matches("")
    assert not matches("a")


def test_many_repeats_run_on_the_automaton_and_stay_fast():
    star = Piece(CharTest("."), "*")
    a, b = Piece(CharTest("a")), Piece(CharTest("b"))
    pieces = (star, a, star, a, star, a, star, b)
    matcher = compile_full_match(pieces)
    assert not matcher("a" * 5000)
    assert matcher("xaxaxab")
