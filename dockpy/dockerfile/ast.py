"""The parsed Dockerfile: immutable values with the lines they came from.

The shape follows BuildKit's parse tree, so that what the builder does with an
instruction can follow BuildKit's rules: ``args`` are exactly the argument
nodes BuildKit's parser makes (quotes and ``$VAR`` still as written; expansion
is the builder's job), and ``flags`` are the builder flags with their quotes
removed. Line numbers start at 1 and include continuation lines, comments
inside a continuation and heredoc bodies.
"""

from __future__ import annotations

from dataclasses import dataclass

# The instructions the builder knows, as BuildKit's parser dispatches them.
INSTRUCTIONS = frozenset(
    {
        "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
        "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
    }
)  # fmt: skip

DEFAULT_ESCAPE = "\\"


@dataclass(frozen=True, slots=True)
class Heredoc:
    """A here-document: ``RUN <<EOF`` ... ``EOF``.

    ``content`` is the body verbatim, line endings included; with ``chomp``
    (``<<-EOF``) the builder strips leading tabs from it, the parser does not.
    ``expand`` is false when any part of the name was quoted (``<<'EOF'``):
    the body is then used without variable expansion. ``fd`` is the file
    descriptor written before ``<<`` (``3<<EOF``), 0 when there is none.
    """

    name: str
    content: str
    expand: bool = True
    chomp: bool = False
    fd: int = 0


@dataclass(frozen=True, slots=True)
class Instruction:
    """One instruction, e.g. ``RUN --mount=type=cache,target=/c make``.

    ``name`` is the keyword upper-cased (``RUN``), ``keyword`` as written
    (``run``); a keyword outside ``INSTRUCTIONS`` still parses, with one empty
    argument, and is the builder's to reject. ``json_form`` is true for the
    exec form (``CMD ["a", "b"]``). ``original`` is the logical line: the
    continuation lines joined, comments dropped, surrounding whitespace
    trimmed. For ONBUILD, ``args`` is empty and ``onbuild`` holds the nested
    instruction (which carries the same lines and heredocs).
    """

    name: str
    keyword: str
    flags: tuple[str, ...]
    args: tuple[str, ...]
    json_form: bool
    original: str
    start_line: int
    end_line: int
    heredocs: tuple[Heredoc, ...] = ()
    onbuild: Instruction | None = None

    @property
    def is_known(self) -> bool:
        """Whether the builder has a meaning for this keyword."""
        return self.name in INSTRUCTIONS


@dataclass(frozen=True, slots=True)
class Directives:
    """The parser directives at the top of the file (``# syntax=...``, ``# escape=```).

    ``escape`` is the escape character in effect (``\\`` unless a directive
    chose the backtick); ``syntax`` and ``check`` are None when absent.
    """

    escape: str = DEFAULT_ESCAPE
    syntax: str | None = None
    check: str | None = None


@dataclass(frozen=True, slots=True)
class Dockerfile:
    """A whole parsed Dockerfile.

    ``start_line``/``end_line`` span the first to the last instruction.
    ``warnings`` are things BuildKit accepts but warns about (an empty line
    inside a continued instruction), each naming its line.
    """

    filename: str
    directives: Directives
    instructions: tuple[Instruction, ...]
    start_line: int
    end_line: int
    warnings: tuple[str, ...] = ()
