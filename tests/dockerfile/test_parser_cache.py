"""The built Dockerfile parser is kept in a cache file and read back safely."""

from __future__ import annotations

import os

import pytest
from lark import Lark

from dockpy.dockerfile.grammar import grammar_text, instruction_parser
from dockpy.dockerfile.parser_cache import cache_file, cached_parser

GRAMMAR = 'start: WORD+\nWORD: /[a-z]+/\n%ignore " "\n'


@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path


class CountingBuilder:
    """Builds the test grammar's parser and counts how often it had to."""

    def __init__(self, grammar: str = GRAMMAR):
        self.grammar = grammar
        self.calls = 0

    def __call__(self) -> Lark:
        self.calls += 1
        return Lark(self.grammar, parser="lalr")


def test_the_cache_lives_under_xdg_cache_home(cache_home):
    assert cache_file(GRAMMAR).parent == cache_home / "dockpy"


def test_the_cache_defaults_to_the_home_cache_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_file(GRAMMAR).parent == tmp_path / ".cache" / "dockpy"


def test_a_second_process_loads_the_parser_instead_of_building_it(cache_home):
    build = CountingBuilder()
    cached_parser(GRAMMAR, build)
    loaded = cached_parser(GRAMMAR, build)
    assert build.calls == 1
    assert [str(token) for token in loaded.parse("ab cd").children] == ["ab", "cd"]


def test_the_cache_file_is_private_to_the_user(cache_home):
    cached_parser(GRAMMAR, CountingBuilder())
    assert os.stat(cache_file(GRAMMAR)).st_mode & 0o777 == 0o600


def test_another_grammar_gets_its_own_file(cache_home):
    other = GRAMMAR.replace("a-z", "a-y")
    assert cache_file(other) != cache_file(GRAMMAR)
    build = CountingBuilder(other)
    cached_parser(GRAMMAR, CountingBuilder())
    cached_parser(other, build)
    assert build.calls == 1


def test_a_damaged_file_is_rebuilt_and_replaced(cache_home):
    cached_parser(GRAMMAR, CountingBuilder())
    path = cache_file(GRAMMAR)
    path.write_bytes(path.read_bytes()[:40])
    build = CountingBuilder()
    cached_parser(GRAMMAR, build)
    cached_parser(GRAMMAR, build)
    assert build.calls == 1


def test_a_file_others_can_write_is_never_loaded(cache_home):
    cached_parser(GRAMMAR, CountingBuilder())
    os.chmod(cache_file(GRAMMAR), 0o620)
    build = CountingBuilder()
    cached_parser(GRAMMAR, build)
    assert build.calls == 1


def test_an_unwritable_cache_directory_still_gives_a_parser(cache_home):
    (cache_home / "dockpy").write_text("not a directory")
    build = CountingBuilder()
    assert cached_parser(GRAMMAR, build).parse("ab")
    assert cached_parser(GRAMMAR, build).parse("ab")
    assert build.calls == 2


def test_the_dockerfile_parser_is_cached(cache_home):
    grammar = grammar_text()
    instruction_parser.cache_clear()  # built once per process: make this process build it again
    try:
        instruction_parser()
    finally:
        instruction_parser.cache_clear()
    assert cache_file(grammar).is_file()
