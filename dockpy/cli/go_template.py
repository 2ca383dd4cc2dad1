"""Go's text/template, the part ``docker inspect -f`` and ``docker ps --format`` users write.

A template is compiled once (``go_template_lexer``, ``go_template_parser``)
and rendered against each document: the JSON document of ``inspect``, or a
listing's row (``row_template``). What it understands, as Go does:

- text, and actions ``{{ ... }}``, ``{{-``/``-}}`` trimming white space, ``{{/* comments */}}``;
- the dot and field paths: ``{{.}}``, ``{{.State.Status}}``, ``{{(index .Mounts 0).Source}}``;
- ``{{if}}``/``{{else if}}``/``{{else}}``/``{{end}}``, ``{{with}}`` (which
  moves the dot), ``{{range}}`` over lists and maps (keys sorted) with
  ``$i, $v :=``, ``{{else}}`` and ``{{break}}``/``{{continue}}``;
- pipelines ``{{.Config.Cmd | json}}``, parentheses, variables ``$x := ...``,
  ``$x = ...`` and ``$`` (the document);
- the functions of ``go_functions``, and methods of a row: ``{{.Label "key"}}``.

Values print as Go prints them (``go_values``). An error, in compiling or in
rendering, is one ``InvalidInputError`` naming the template and the line and
column where it arose; the caller renders every document before printing, so
a failing template prints nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

from dockpy.cli.go_functions import FUNCTIONS, HEADER_FUNCTIONS, FunctionError
from dockpy.cli.go_template_lexer import TemplateError, tokenize
from dockpy.cli.go_template_parser import (
    Action, Chain, Constant, Control, Dot, Field, Function, Nil, Pipeline, Text, Variable, parse, root_fields,
)
from dockpy.cli.go_values import MISSING, go_text, go_type, is_struct, truth
from dockpy.errors import InvalidInputError

# "No value piped in", unlike MISSING, which is a value (a map's missing key) that can be piped.
_NO_FINAL = object()
# What a value without the field asked for gives: an error, unlike a map's missing key.
_NO_FIELD = object()


class GoTemplate:
    """A compiled template, rendered once per document."""

    def __init__(self, text: str):
        self.text = text
        try:
            self.nodes = parse(tokenize(text), FUNCTIONS)
        except TemplateError as error:
            raise _located(text, error) from None

    def render(self, document, header: bool = False) -> str:
        """The template's text for ``document``; ``header`` renders a ``table`` header with Docker's header functions."""
        execution = _Execution(document, HEADER_FUNCTIONS if header else FUNCTIONS)
        try:
            execution.walk(self.nodes, document)
        except TemplateError as error:
            raise _located(self.text, error) from None
        return "".join(execution.output)

    def top_level_fields(self) -> set[str]:
        """The names the template reads from the document itself (``Status`` for ``{{.Status.X}}``)."""
        return root_fields(self.nodes)


def _located(text: str, error: TemplateError) -> InvalidInputError:
    line = text.count("\n", 0, error.position) + 1
    column = error.position - (text.rfind("\n", 0, error.position) + 1) + 1
    return InvalidInputError(f"template {text!r}: line {line}, column {column}: {error.message}")


class _Break(Exception):
    """``{{break}}``: leave the innermost range."""


class _Continue(Exception):
    """``{{continue}}``: on to the range's next element."""


class _Execution:
    """One rendering: the output so far and the variables in scope (``$`` first)."""

    def __init__(self, document, functions):
        self.functions = functions
        self.variables = [("$", document)]
        self.output: list[str] = []

    def walk(self, nodes, dot) -> None:
        for node in nodes:
            if isinstance(node, Text):
                self.output.append(node.text)
            elif isinstance(node, Action):
                value = self.pipeline(node.pipeline, dot)
                if not node.pipeline.variables:
                    self.output.append(go_text(value))
            elif isinstance(node, Control):
                self.control(node, dot)
            else:
                raise _Break() if node.keyword == "break" else _Continue()

    def control(self, node: Control, dot) -> None:
        mark = len(self.variables)
        try:
            if node.keyword == "range":
                self.range(node, dot)
                return
            value = self.pipeline(node.pipeline, dot)
            if truth(value):
                self.walk(node.body, value if node.keyword == "with" else dot)
            else:
                self.walk(node.otherwise, dot)
        finally:
            del self.variables[mark:]

    def range(self, node: Control, dot) -> None:
        elements = _elements(self.commands(node.pipeline, dot), node.position)
        if not elements:
            self.walk(node.otherwise, dot)
        for key, element in elements:
            mark = len(self.variables)
            self.bind(node.pipeline, (element,) if len(node.pipeline.variables) == 1 else (key, element))
            try:
                self.walk(node.body, element)
            except _Continue:
                continue
            except _Break:
                break
            finally:
                del self.variables[mark:]

    def bind(self, pipeline: Pipeline, values) -> None:
        """Declare (``:=``) or assign (``=``) the pipeline's variables, one value each."""
        for name, value in zip(pipeline.variables, values):
            if pipeline.assigns:
                position = max(i for i, (known, _) in enumerate(self.variables) if known == name)
                self.variables[position] = (name, value)
            else:
                self.variables.append((name, value))

    def pipeline(self, pipeline: Pipeline, dot):
        value = self.commands(pipeline, dot)
        if pipeline.variables:
            self.bind(pipeline, (value,))
        return value

    def commands(self, pipeline: Pipeline, dot):
        """The pipeline's value: each command's result is the last argument of the next."""
        value = _NO_FINAL
        for command in pipeline.commands:
            value = self.command(command.operands, dot, value)
        return value

    def command(self, operands: tuple, dot, final):
        first, arguments = operands[0], operands[1:]
        if isinstance(first, Function):
            return self.call(first, arguments, final, dot)
        if isinstance(first, Field):  # the commonest command, a field of the dot: straight to it
            return self.fields(dot, first.names, "", arguments, final, dot, first.position)
        if isinstance(first, Chain) or isinstance(first, Variable) and first.names:
            receiver, prefix = self.receiver(first, dot)
            return self.fields(receiver, first.names, prefix, arguments, final, dot, first.position)
        if arguments or final is not _NO_FINAL:
            raise TemplateError(f"can't give argument to non-function {_source(first)}", first.position)
        return self.argument(first, dot)

    def receiver(self, node, dot):
        """What a field path of a variable or a parenthesised pipeline starts from, and how messages name it
        (a path from the dot, the commonest, is followed without this)."""
        if isinstance(node, Variable):
            return self.variable(node), node.name
        return self.pipeline(node.pipeline, dot), "(...)"

    def argument(self, node, dot):
        """An operand's value where it is an argument (or a command of its own)."""
        if isinstance(node, Field):  # the commonest argument: straight to the dot's field
            return self.fields(dot, node.names, "", (), _NO_FINAL, dot, node.position)
        if isinstance(node, Dot):
            return dot
        if isinstance(node, Constant):
            return node.value
        if isinstance(node, Nil):
            return None
        if isinstance(node, Pipeline):
            return self.pipeline(node, dot)
        if isinstance(node, Function):
            return self.call(node, (), _NO_FINAL, dot)
        receiver, prefix = self.receiver(node, dot)
        return self.fields(receiver, node.names, prefix, (), _NO_FINAL, dot, node.position) if node.names else receiver

    def variable(self, node: Variable):
        # The parser refused any variable not in scope here, and the scopes end where the parser ended them.
        return next(value for name, value in reversed(self.variables) if name == node.name)

    def fields(self, receiver, names: tuple, prefix: str, arguments: tuple, final, dot, position: int):
        """Follow ``names`` from ``receiver``; the last one gets the command's arguments if it is a method."""
        last = len(names) - 1
        for depth, name in enumerate(names):
            value = _field(receiver, name)
            if value is _NO_FIELD:
                raise _no_field(receiver, name, _path(prefix, names, depth), position)
            if callable(value):
                value = self.call_method(value, _path(prefix, names, depth + 1), arguments if depth == last else (),
                                         final if depth == last else _NO_FINAL, dot, position)
            elif depth == last and (arguments or final is not _NO_FINAL):
                raise TemplateError(f"{_path(prefix, names, depth + 1)} is not a method: it takes no argument", position)
            receiver = value
        return receiver

    def call_method(self, method, path: str, arguments: tuple, final, dot, position: int):
        """A row's method, called with its one string (``.Label "key"``), as Go calls a method with arguments."""
        values = self.values(arguments, final, dot)
        if len(values) != 1:
            raise TemplateError(f"wrong number of args for {path}: want 1 got {len(values)}", position)
        if not isinstance(values[0], str):
            raise TemplateError(f"wrong type for value; expected string; got {go_type(values[0])}", position)
        return method(values[0])

    def values(self, arguments: tuple, final, dot) -> list:
        values = [self.argument(node, dot) for node in arguments]
        if final is not _NO_FINAL:
            values.append(final)
        return values

    def call(self, function: Function, arguments: tuple, final, dot):
        if function.name in ("and", "or"):
            return self.logical(function, arguments, final, dot)
        values = self.values(arguments, final, dot)
        if MISSING in values:  # a missing value reaches a function as nil, as Go converts it for interface{}
            values = [None if value is MISSING else value for value in values]
        try:
            return self.functions[function.name](values)
        except FunctionError as error:
            raise TemplateError(str(error), function.position) from None

    def logical(self, function: Function, arguments: tuple, final, dot):
        """``and``/``or``: the first argument that decides (false for and, true for or), else the last;
        arguments after the deciding one are not evaluated."""
        if not arguments and final is _NO_FINAL:
            raise TemplateError(f"wrong number of args for {function.name}: want at least 1 got 0", function.position)
        value = None
        for node in arguments:
            value = self.argument(node, dot)
            if truth(value) == (function.name == "or"):
                return value
        return value if final is _NO_FINAL else final


def _field(receiver, name: str):
    """``receiver.name``: a map's value (MISSING if it lacks the key), a row's field, or _NO_FIELD."""
    if isinstance(receiver, dict):
        return receiver.get(name, MISSING)
    if isinstance(receiver, Mapping) and name in receiver:  # not a dict, so a struct (``go_values.is_struct``)
        return receiver[name]
    return _NO_FIELD


def _no_field(receiver, name: str, path: str, position: int) -> TemplateError:
    found = "there is no such field" if receiver is MISSING or is_struct(receiver) else f"it is {go_text(receiver)}"
    return TemplateError(f"can't evaluate field {name} in {path}: {found}", position)


def _path(prefix: str, names: tuple, count: int) -> str:
    """How messages name the value reached by the first ``count`` fields: ``.State``, ``$x.A``, ``.``."""
    return prefix + "." + ".".join(names[:count]) if count else prefix or "."


def _elements(value, position: int) -> list:
    """What ``range`` visits: (index, element) of a list, (key, value) of a map by sorted key; nothing for nil."""
    if value is None or value is MISSING:
        return []
    if isinstance(value, list):
        return list(enumerate(value))
    if isinstance(value, dict):
        return [(key, value[key]) for key in sorted(value)]
    raise TemplateError(f"range can't iterate over {go_text(value)}", position)


def _source(node) -> str:
    """An operand as the template wrote it, near enough for a message."""
    if isinstance(node, Variable):
        return node.name
    if isinstance(node, Constant):
        return go_text(node.value) if not isinstance(node.value, str) else repr(node.value)
    return "." if isinstance(node, Dot) else "(...)" if isinstance(node, Pipeline) else "nil"
