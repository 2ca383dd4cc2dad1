"""The lark half of the parser: one logical line in, one Instruction out.

``dockerfile.lark`` is the reference for an instruction line's syntax; the
parser is built from it (LALR with lark's contextual lexer, about 60 ms) once
and kept, in the process and in a cache file (parser_cache.py). The transformer only builds the frozen dataclasses of
ast.py: the values of the tokens come from arguments.py, which follows
BuildKit's per-instruction rules.

Positions come from the tokens, which always carry their offset. lark's
``propagate_positions`` is deliberately off: it would add a position to every
tree node, which this grammar does not need (an instruction always runs from
its keyword to the end of its line), and it costs a third of the parse time.
Line numbers are the logical line's (lines.py), not lark's.

This module imports lark, so parser.py imports it only when it parses.
"""

from __future__ import annotations

import os
from functools import cache

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedInput, VisitError

from dockpy.dockerfile import arguments
from dockpy.dockerfile.arguments import ArgumentError
from dockpy.dockerfile.ast import Instruction
from dockpy.dockerfile.gostrings import ASCII_WHITESPACE, GO_WHITESPACE
from dockpy.dockerfile.parser_cache import cached_parser

GRAMMAR_FILE = "dockerfile.lark"


@cache
def instruction_parser() -> Lark:
    """The LALR parser for one instruction line: on first use, from the cache or built (parser_cache.py)."""
    grammar = grammar_text()
    return cached_parser(grammar, lambda: Lark(grammar, parser="lalr", lexer="contextual"))


def grammar_text() -> str:
    """``dockerfile.lark``, read beside this module (``importlib.resources`` would import ``zipfile`` for it)."""
    with open(os.path.join(os.path.dirname(__file__), GRAMMAR_FILE), encoding="utf-8") as file:
        return file.read()


def parse_instruction_line(line: str, escape: str, start_line: int, end_line: int) -> Instruction:
    """The instruction on ``line`` (a trimmed logical line).

    Raises ArgumentError, with the offset in ``line`` where the problem is.
    This is the one place lark's exceptions are caught.
    """
    try:
        tree = instruction_parser().parse(line)
        return _InstructionBuilder(line, escape, start_line, end_line).transform(tree)
    except UnexpectedInput as error:
        raise ArgumentError("syntax error: unexpected text", error.pos_in_stream or 0) from None
    except VisitError as error:  # the transformer's own errors come wrapped
        raise error.orig_exc from None


def _text(token: Token, whitespace: str = GO_WHITESPACE) -> str:
    """An argument token without the whitespace that separated it from what came before."""
    return token.lstrip(whitespace)


def _text_offset(token: Token, text: str) -> int:
    """Where ``text`` (the end of ``token``) starts in the line, for error positions."""
    return token.start_pos + len(token) - len(text)


class _InstructionBuilder(Transformer):
    """Builds one Instruction from the parse tree of its line.

    Each method receives the keyword token, then FLAG tokens, then the
    argument tokens of its kind of instruction (or the nested instruction).
    """

    def __init__(self, line: str, escape: str, start_line: int, end_line: int):
        super().__init__(visit_tokens=False)
        self._line = line
        self._escape = escape
        self._lines = (start_line, end_line)

    def start(self, children):
        if children:
            return children[0]
        # A lone continuation character makes an instruction of nothing; BuildKit keeps it.
        return self._build(Token("UNKNOWN_KEYWORD", ""), [], ("",))

    def exec_form_instruction(self, children):
        keyword, flags, rest = _split(children)
        return self._build(keyword, flags, *self._command_args(rest, split=False))

    def list_instruction(self, children):
        keyword, flags, rest = _split(children)
        return self._build(keyword, flags, *self._command_args(rest, split=True))

    def healthcheck_instruction(self, children):
        keyword, flags, rest = _split(children)
        if not rest:
            return self._build(keyword, flags, ())
        kind = _text(rest[0])
        command, json_form = self._command_args(rest[1:], split=False, leading=ASCII_WHITESPACE)
        return self._build(keyword, flags, (kind, *command), json_form)

    def name_value_instruction(self, children):
        keyword, flags, rest = _split(children)
        if not rest:
            return self._build(keyword, flags, ())
        text = _text(rest[0])
        args = arguments.name_value_args(keyword, text, self._escape, _text_offset(rest[0], text))
        return self._build(keyword, flags, args)

    def arg_instruction(self, children):
        keyword, flags, rest = _split(children)
        words = arguments.split_words(_text(rest[0]), self._escape) if rest else ()
        return self._build(keyword, flags, tuple(words))

    def word_list_instruction(self, children):
        keyword, flags, rest = _split(children)
        return self._build(keyword, flags, arguments.split_blanks(_text(rest[0])) if rest else ())

    def string_instruction(self, children):
        keyword, flags, rest = _split(children)
        return self._build(keyword, flags, (_text(rest[0]),) if rest else ())

    def onbuild_instruction(self, children):
        keyword, flags, rest = _split(children)
        return self._build(keyword, flags, (), onbuild=rest[0] if rest else None)

    def unknown_instruction(self, children):
        keyword, flags, _ = _split(children)
        return self._build(keyword, flags, ("",))

    def _command_args(self, rest, *, split: bool, leading: str = GO_WHITESPACE) -> tuple[tuple[str, ...], bool]:
        """Exec form (a JSON array) or shell form: one string, or words when ``split``."""
        if not rest:
            return (), False
        if rest[0].type == "JSON_STRING_ARRAY":
            return arguments.decode_exec_form(rest[0]), True
        text = _text(rest[0], leading)
        arguments.reject_non_string_array(text.lstrip(GO_WHITESPACE), _text_offset(rest[0], text))
        return (arguments.split_blanks(text) if split else (text,)), False

    def _build(self, keyword, flags, args, json_form=False, onbuild=None) -> Instruction:
        return Instruction(
            name=keyword.upper(),
            keyword=str(keyword),
            flags=tuple(arguments.unquote_flag(flag.lstrip(ASCII_WHITESPACE)) for flag in flags),
            args=args,
            json_form=json_form,
            original=self._line[keyword.start_pos :] if keyword else "",
            start_line=self._lines[0],
            end_line=self._lines[1],
            onbuild=onbuild,
        )


def _split(children) -> tuple[Token, list[Token], list]:
    """The keyword, the FLAG tokens, and what follows them."""
    keyword, *rest = children
    count = 0
    while count < len(rest) and isinstance(rest[count], Token) and rest[count].type == "FLAG":
        count += 1
    return keyword, rest[:count], rest[count:]
