"""Go text/template's parser: tokens to a tree of nodes, checked as Go checks them before anything runs.

The tree: ``Text``; ``Action`` (a pipeline, printed unless it declares
variables); ``Control`` for ``if``, ``with`` and ``range``, each with its body
and its ``else`` (``else if`` and ``else with`` nest a ``Control`` there);
``Loop`` for ``break`` and ``continue``. A ``Pipeline`` is its declared
variables and its commands; a ``Command`` is operands: ``Field`` (``.A.B`` of
the dot), ``Variable`` (``$x.A``), ``Chain`` (``(pipeline).A``), ``Function``,
``Constant``, ``Nil``, ``Dot``, or a parenthesised ``Pipeline``.

Refused here, as Go refuses them: an unknown function, an undefined variable,
an ``{{end}}`` or ``{{else}}`` without its action, ``break`` outside ``range``,
a constant after a ``|``. ``define``, ``template`` and ``block`` (templates
that call others) are refused too: a ``--format`` is a single template.
"""

from __future__ import annotations

from dockpy.cli.go_template_lexer import (
    ASSIGN, CLOSE, COMMA, DECLARE, DOT, END, FIELD, IDENTIFIER, NUMBER, OPEN, PIPE, RIGHT, STRING, TEXT, VARIABLE,
    TemplateError, Token,
)


class _Node:
    """A node: its ``__slots__`` are its fields, set in order by the constructor. (Classes rather than
    namedtuples, which cost ten times as much to define, on every ``ps --format``.)"""

    __slots__ = ()

    def __init__(self, *values):
        for name, value in zip(self.__slots__, values, strict=True):
            setattr(self, name, value)

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(repr(getattr(self, name)) for name in self.__slots__)})"


class Text(_Node):
    __slots__ = ("text",)


class Action(_Node):
    __slots__ = ("pipeline", "position")


class Control(_Node):
    __slots__ = ("keyword", "pipeline", "body", "otherwise", "position")


class Loop(_Node):
    __slots__ = ("keyword", "position")


class Pipeline(_Node):
    __slots__ = ("variables", "assigns", "commands", "position")


class Command(_Node):
    __slots__ = ("operands", "position")


class Field(_Node):
    __slots__ = ("names", "position")


class Variable(_Node):
    __slots__ = ("name", "names", "position")


class Chain(_Node):
    __slots__ = ("pipeline", "names", "position")


class Function(_Node):
    __slots__ = ("name", "position")


class Constant(_Node):
    __slots__ = ("value", "position")


class Nil(_Node):
    __slots__ = ("position",)


class Dot(_Node):
    __slots__ = ("position",)


_CONTROLS = ("if", "with", "range")
_KEYWORDS = {*_CONTROLS, "else", "end", "break", "continue", "define", "template", "block"}
# Nesting of actions and parentheses: far beyond any --format, and well inside Python's recursion limit.
MAXIMUM_DEPTH = 50


def parse(tokens: list[Token], functions) -> tuple:
    """The nodes of a whole template; ``functions`` holds the names a command may call."""
    nodes, _ = _Parser(tokens, functions).parse_list(())
    return nodes


def root_fields(nodes) -> set[str]:
    """The first names of the field paths read from the template's own data (``.Status`` at the top,
    ``$.Status`` anywhere): a listing checks these names before it renders any row."""
    names: set[str] = set()
    _collect_fields(nodes, True, names)
    return names


class _Parser:
    def __init__(self, tokens: list[Token], functions):
        self.tokens = tokens
        self.index = 0
        self.functions = functions
        self.variables = ["$"]
        self.ranges = 0
        self.depth = 0

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def next(self) -> Token:
        token = self.peek()
        self.index += 1
        return token

    def expect(self, kind: str, context: str) -> Token:
        token = self.next()
        if token.kind != kind:
            raise _unexpected(token, context)
        return token

    def enter(self, position: int) -> None:
        self.depth += 1
        if self.depth > MAXIMUM_DEPTH:
            raise TemplateError(f"actions and parentheses nested deeper than {MAXIMUM_DEPTH}", position)

    def parse_list(self, endings: tuple[str, ...]) -> tuple[tuple, Token | None]:
        """Nodes up to one of ``endings`` (``end``, ``else``), whose keyword token is returned with them."""
        nodes = []
        while (token := self.next()).kind != END:
            if token.kind == TEXT:
                nodes.append(Text(token.value))
                continue
            keyword = self.peek()
            if keyword.kind != IDENTIFIER or keyword.value not in _KEYWORDS:
                nodes.append(Action(self.parse_pipeline("command", RIGHT), token.position))
                continue
            self.next()
            if keyword.value in ("end", "else"):
                if keyword.value not in endings:
                    raise TemplateError(f"unexpected {{{{{keyword.value}}}}}", keyword.position)
                return tuple(nodes), keyword
            nodes.append(self.parse_keyword(keyword))
        if endings:
            raise TemplateError("unexpected end of template: an {{end}} is missing", token.position)
        return tuple(nodes), None

    def parse_keyword(self, keyword: Token):
        if keyword.value in _CONTROLS:
            return self.parse_control(keyword)
        if keyword.value in ("break", "continue"):
            if not self.ranges:
                raise TemplateError(f"{{{{{keyword.value}}}}} outside {{{{range}}}}", keyword.position)
            self.expect(RIGHT, keyword.value)
            return Loop(keyword.value, keyword.position)
        raise TemplateError(f"{{{{{keyword.value}}}}} is not supported: a --format is one template", keyword.position)

    def parse_control(self, keyword: Token) -> Control:
        """``if``/``with``/``range`` PIPELINE, a body, maybe ``else`` and another; the variables they
        declare end with them."""
        self.enter(keyword.position)
        mark = len(self.variables)
        pipeline = self.parse_pipeline(keyword.value, RIGHT)
        self.ranges += keyword.value == "range"
        body, ending = self.parse_list(("end", "else"))
        self.ranges -= keyword.value == "range"
        otherwise = self.parse_else(keyword.value) if ending.value == "else" else ()
        if ending.value == "end":
            self.expect(RIGHT, "end")
        del self.variables[mark:]
        self.depth -= 1
        return Control(keyword.value, pipeline, body, otherwise, keyword.position)

    def parse_else(self, keyword: str) -> tuple:
        """The else part: ``{{else if ...}}`` (or ``else with``) is a nested control whose ``{{end}}`` ends both."""
        chained = self.peek()
        if keyword != "range" and chained.kind == IDENTIFIER and chained.value == keyword:
            self.next()
            return (self.parse_control(chained),)
        self.expect(RIGHT, "else")
        otherwise, _ = self.parse_list(("end",))
        self.expect(RIGHT, "end")
        return otherwise

    def parse_pipeline(self, context: str, closing: str) -> Pipeline:
        position = self.peek().position
        variables, assigns = self.parse_declarations(context)
        commands = []
        while True:
            commands.append(self.parse_command(context, closing, len(commands) + 1))
            if self.next().kind == closing:
                return Pipeline(variables, assigns, tuple(commands), position)

    def parse_declarations(self, context: str) -> tuple[tuple[str, ...], bool]:
        """``$x :=`` or ``$x =`` at a pipeline's start; ``range`` also takes ``$i, $v :=``."""
        first, after = self.peek(), self.peek(1)
        if first.kind != VARIABLE or after.kind not in (DECLARE, ASSIGN, COMMA):
            return (), False
        if after.kind == COMMA:
            second, operator = self.peek(2), self.peek(3)
            if context != "range" or second.kind != VARIABLE or operator.kind not in (DECLARE, ASSIGN):
                raise TemplateError(f"too many declarations in {context}", after.position)
            self.index += 4
            return self.declare((first, second), operator.kind == ASSIGN), operator.kind == ASSIGN
        self.index += 2
        return self.declare((first,), after.kind == ASSIGN), after.kind == ASSIGN

    def declare(self, tokens: tuple[Token, ...], assigns: bool) -> tuple[str, ...]:
        for token in tokens:
            if assigns:
                self.check_defined(token)
            else:
                self.variables.append(token.value)
        return tuple(token.value for token in tokens)

    def check_defined(self, token: Token) -> None:
        if token.value not in self.variables:
            raise TemplateError(f'undefined variable "{token.value}"', token.position)

    def parse_command(self, context: str, closing: str, stage: int) -> Command:
        """Operands, separated by spaces, up to a ``|`` or the closing token (left for the caller)."""
        operands = []
        while self.peek().kind not in (PIPE, closing):
            token = self.peek()
            if token.kind == RIGHT:
                raise TemplateError("unclosed left parenthesis", token.position)
            if operands and not token.spaced:
                raise _unexpected(token, "operand")
            operands.append(self.parse_operand())
        if not operands:
            raise TemplateError(f"missing value for {context}", self.peek().position)
        first = operands[0]
        if isinstance(first, Nil):
            raise TemplateError("nil is not a command", first.position)
        if stage > 1 and isinstance(first, (Constant, Dot)):
            raise TemplateError(f"non executable command in pipeline stage {stage}", first.position)
        return Command(tuple(operands), first.position)

    def parse_operand(self):
        """A term, and the fields that follow it without a space: ``.A.B``, ``$x.A``, ``(pipeline).A``."""
        node = self.parse_term()
        names = []
        while self.peek().kind == FIELD and not self.peek().spaced:
            names.append(self.next().value)
        if not names:
            return node
        if isinstance(node, Field):
            return Field(node.names + tuple(names), node.position)
        if isinstance(node, Variable):
            return Variable(node.name, tuple(names), node.position)
        if isinstance(node, Pipeline):
            return Chain(node, tuple(names), node.position)
        raise TemplateError(f"unexpected .{names[0]} after term", node.position)

    def parse_term(self):
        token = self.next()
        if token.kind == FIELD:
            return Field((token.value,), token.position)
        if token.kind == VARIABLE:
            self.check_defined(token)
            return Variable(token.value, (), token.position)
        if token.kind == DOT:
            return Dot(token.position)
        if token.kind in (STRING, NUMBER):
            return Constant(token.value, token.position)
        if token.kind == OPEN:
            self.enter(token.position)
            pipeline = self.parse_pipeline("parenthesized pipeline", CLOSE)
            self.depth -= 1
            return pipeline
        if token.kind == IDENTIFIER:
            return self.parse_identifier(token)
        raise _unexpected(token, "operand")

    def parse_identifier(self, token: Token):
        if token.value in ("true", "false"):
            return Constant(token.value == "true", token.position)
        if token.value == "nil":
            return Nil(token.position)
        if token.value in _KEYWORDS:
            raise TemplateError(f"unexpected {token.value!r} in operand", token.position)
        if token.value not in self.functions:
            raise TemplateError(f'function "{token.value}" not defined', token.position)
        return Function(token.value, token.position)


def _unexpected(token: Token, context: str) -> TemplateError:
    shown = "end of template" if token.kind == END else f'"{token.value}"' if token.kind == STRING else f"'{token.value}'"
    return TemplateError(f"unexpected {shown} in {context}", token.position)


def _collect_fields(nodes, dot_is_root: bool, names: set[str]) -> None:
    """Add to ``names`` the first field of every path read from the data; ``with`` and ``range`` move the dot."""
    for node in nodes:
        if isinstance(node, Action):
            _collect_pipeline_fields(node.pipeline, dot_is_root, names)
        elif isinstance(node, Control):
            _collect_pipeline_fields(node.pipeline, dot_is_root, names)
            _collect_fields(node.body, dot_is_root and node.keyword == "if", names)
            _collect_fields(node.otherwise, dot_is_root, names)


def _collect_pipeline_fields(pipeline: Pipeline, dot_is_root: bool, names: set[str]) -> None:
    for command in pipeline.commands:
        for operand in command.operands:
            reads_root = isinstance(operand, Field) and dot_is_root or isinstance(operand, Variable) and operand.name == "$"
            if reads_root and operand.names:
                names.add(operand.names[0])
            elif isinstance(operand, (Pipeline, Chain)):
                _collect_pipeline_fields(operand.pipeline if isinstance(operand, Chain) else operand, dot_is_root, names)
