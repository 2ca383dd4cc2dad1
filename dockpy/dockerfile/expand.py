"""Shell-word expansion of Dockerfile arguments, as BuildKit's shell lexer does it.

The builder expands the arguments of some instructions itself (see
``EXPANDING_INSTRUCTIONS``) before it uses them. Vocabulary:

- a *word* is one argument as the parser left it, quotes and escapes included:
  ``"$HOME/app"``, ``v${VERSION%%-*}``;
- its *value* is the word processed: quotes removed, escapes applied,
  ``$VAR``/``${VAR...}`` replaced (BuildKit's ``ProcessWord``);
- its *fields* split the value at unquoted whitespace, including whitespace
  that came out of an unquoted ``$VAR`` (BuildKit's ``ProcessWords``, used by
  EXPOSE): with ``PORTS="80 443"``, ``$PORTS`` gives two fields, ``"$PORTS"`` one;
- *used* and *unset* are the variable names the word looked up that were and
  were not set; the builder keys its cache on the used build args and warns
  about unset ones.

The rules, which the conformance data in ``../shared/conformance/buildkit/shell``
pins down: ``'...'`` is literal; in ``"..."`` the escape token only escapes
``"``, ``$`` and itself; outside quotes it escapes any character and a trailing
one is dropped; ``$name`` reads letters, digits and ``_``, or a run of digits
(positional, always unset), or one of ``@*#?-$!0`` (special, always unset);
``$`` before anything else is literal. The ``${...}`` forms are ``${V}``,
``${V-w}``, ``${V:-w}``, ``${V+w}``, ``${V:+w}``, ``${V?w}``, ``${V:?w}`` (the
colon forms treat an empty value as unset), ``${V#p}``, ``${V##p}``,
``${V%p}``, ``${V%%p}``, ``${V/p/r}`` and ``${V//p/r}`` (patterns: see
``shell_pattern``); ``w`` is itself expanded, even when it is not used. Anything
else (``${}``, ``${V:=w}``, ``${V:#p}``, an unclosed quote or brace) is an
ExpansionError.

The scanner makes one pass over the word; runs of ordinary characters are
consumed by one regex match each, and a word without ``$``, quotes or escapes
is returned as it is without scanning.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from dockpy.dockerfile.gostrings import split_go_fields
from dockpy.dockerfile.shell_pattern import ShellPattern
from dockpy.errors import ExpansionError

EXPANDING_INSTRUCTIONS = frozenset(
    {"ADD", "ARG", "COPY", "ENV", "EXPOSE", "FROM", "LABEL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"}
)
"""Instructions whose arguments the builder expands itself, one word each.

This is Docker's documented list and what BuildKit's instruction types
implement:

- ENV and LABEL: every key and every value; ARG: the name and the default;
- ADD and COPY: every source and the destination (plus the flags in
  ``EXPANDED_FLAGS``); the body of an unquoted heredoc (``COPY <<EOF``) is
  expanded with ``ShellLexer(skip_quotes=True)``, so its quotes survive;
- EXPOSE: with field splitting (``expand_words``), so ``EXPOSE $PORTS`` may
  expose several ports;
- FROM: the image reference (and ``--platform``), with only the ARGs declared
  before the first FROM in scope;
- STOPSIGNAL, USER, VOLUME, WORKDIR: their arguments.

Never expanded by the builder: RUN, CMD, ENTRYPOINT, SHELL and HEALTHCHECK
(shell form is handed to the shell, which expands at run time; exec form is
never expanded) and MAINTAINER. ONBUILD stores its trigger unexpanded; the
trigger is expanded under these rules when it runs in a child build.
"""

WORD_SPLITTING_INSTRUCTIONS = frozenset({"EXPOSE"})
"""The instructions whose arguments expand with field splitting (``expand_words``)."""

EXPANDED_FLAGS: Mapping[str, frozenset[str]] = {
    "ADD": frozenset({"chown", "chmod", "checksum"}),
    "COPY": frozenset({"chown", "chmod", "from"}),
    "FROM": frozenset({"platform"}),
    "RUN": frozenset({"mount"}),
}
"""Builder flags whose values are expanded like a word, by instruction.

BuildKit expands ``--chown``, ``ADD --checksum``, ``FROM --platform`` and the
``RUN --mount`` options; dockpy also expands ``--chmod`` and ``COPY --from`` so
that ``--chmod=$MODE`` and ``--from=$STAGE`` work (no Dockerfile that Docker
accepts is read differently: Docker rejects a ``$`` there).
"""

ESCAPE_TOKENS = ("\\", "`")
"""The escape tokens a Dockerfile may choose with ``# escape=``."""

SPECIAL_PARAMETERS = frozenset("@*#?-$!0")
"""Shell special parameters: ``$@``, ``$?``... are always unset in a Dockerfile."""


@dataclass(frozen=True)
class Expansion:
    """The result of expanding one word (see the module docstring for the terms)."""

    value: str
    fields: tuple[str, ...]
    used: frozenset[str]
    unset: frozenset[str]


@dataclass(frozen=True)
class ShellLexer:
    """BuildKit's ``shell.Lex``: an escape token and the processing modes.

    - ``keep_unset``: an unset variable stays as written (``$X``, ``${X:-w}``
      with ``w`` expanded) instead of becoming empty, and never raises;
    - ``raw_quotes``: quotes are honoured but kept in the value;
    - ``raw_escapes``: escape tokens are honoured but kept in the value;
    - ``skip_quotes``: quotes are ordinary characters (heredoc bodies);
    - ``case_insensitive``: variable names match regardless of case, as
      BuildKit does for Windows images.
    """

    escape: str = "\\"
    keep_unset: bool = False
    raw_quotes: bool = False
    raw_escapes: bool = False
    skip_quotes: bool = False
    case_insensitive: bool = False

    def __post_init__(self):
        if self.escape not in ESCAPE_TOKENS:
            raise ValueError(f"escape token must be one of {ESCAPE_TOKENS}, not {self.escape!r}")

    def expand(self, word: str, env: Mapping[str, str]) -> Expansion:
        """Expand ``word`` with the variables in ``env``; ExpansionError if it cannot be."""
        if not _special_char(self.escape, self.skip_quotes).search(word):
            return Expansion(word, tuple(field for field in split_go_fields(word) if field), frozenset(), frozenset())
        variables = _Variables(env, self.case_insensitive)
        scanner = _WordScanner(self, word, variables)
        try:
            value, fields = scanner.process_until(None, self.raw_escapes)
        except ExpansionError as error:
            quoted = json.dumps(word, ensure_ascii=False)
            raise ExpansionError(f"failed to process {quoted}: {error.message}") from None
        return Expansion(value, tuple(fields), frozenset(variables.used), frozenset(variables.unset))

    def expand_word(self, word: str, env: Mapping[str, str]) -> str:
        """BuildKit's ``ProcessWord``: the value of ``word``."""
        return self.expand(word, env).value

    def expand_words(self, word: str, env: Mapping[str, str]) -> list[str]:
        """BuildKit's ``ProcessWords``: the fields of ``word``."""
        return list(self.expand(word, env).fields)


def expand(word: str, env: Mapping[str, str], *, escape: str = "\\", **modes: bool) -> Expansion:
    """Expand one word with a ``ShellLexer(escape, **modes)``."""
    return ShellLexer(escape, **modes).expand(word, env)


def expand_word(word: str, env: Mapping[str, str], *, escape: str = "\\", **modes: bool) -> str:
    """The value of one word (quotes removed, escapes applied, variables replaced)."""
    return ShellLexer(escape, **modes).expand(word, env).value


def expand_words(word: str, env: Mapping[str, str], *, escape: str = "\\", **modes: bool) -> list[str]:
    """The fields of one word, split at unquoted whitespace after expansion."""
    return list(ShellLexer(escape, **modes).expand(word, env).fields)


class _Variables:
    """Variable lookup that remembers which names were found and which were not."""

    def __init__(self, env: Mapping[str, str], case_insensitive: bool):
        self._env = {name.upper(): value for name, value in env.items()} if case_insensitive else env
        self._fold = case_insensitive
        self.used: set[str] = set()
        self.unset: set[str] = set()

    def lookup(self, name: str) -> str | None:
        value = self._env.get(name.upper() if self._fold else name)
        (self.unset if value is None else self.used).add(name)
        return value


class _FieldSplitter:
    """Collects the fields of a word: unquoted whitespace separates, quoted text never does."""

    def __init__(self):
        self.fields: list[str] = []
        self._current: list[str] = []

    def add_quoted(self, text: str) -> None:
        self._current.append(text)

    def add_unquoted(self, text: str) -> None:
        first, *rest = split_go_fields(text)
        self._current.append(first)
        for piece in rest:
            self._end_field()
            self._current.append(piece)

    def finish(self) -> list[str]:
        self._end_field()
        return self.fields

    def _end_field(self) -> None:
        field = "".join(self._current)
        if field:
            self.fields.append(field)
        self._current = []


class _WordScanner:
    """One pass over one word; ``pos`` is the next character to read."""

    def __init__(self, lexer: ShellLexer, text: str, variables: _Variables):
        self.lexer = lexer
        self.text = text
        self.pos = 0
        self.variables = variables

    def process_until(self, stop: str | None, raw_escapes: bool) -> tuple[str, list[str]]:
        """Process up to ``stop`` (consumed) or the end: the value and its fields.

        ``stop`` is ``}`` or ``/`` inside ``${...}``; reaching the end first is
        an error then. ``raw_escapes`` keeps escape tokens in the value, as
        BuildKit does for patterns, which interpret the escapes themselves.
        """
        text, lexer = self.text, self.lexer
        plain = _plain_run(lexer.escape, stop or "", lexer.skip_quotes)
        value: list[str] = []
        fields = _FieldSplitter()
        while self.pos < len(text):
            run = plain.match(text, self.pos)
            if run:
                self.pos = run.end()
                value.append(run.group())
                fields.add_unquoted(run.group())
                continue
            char = text[self.pos]
            if char == stop:
                self.pos += 1
                return "".join(value), fields.finish()
            piece = self._special(char, raw_escapes)
            value.append(piece)
            (fields.add_unquoted if char == "$" else fields.add_quoted)(piece)
        if stop is not None:
            raise ExpansionError(f"unexpected end of statement while looking for matching {stop}")
        return "".join(value), fields.finish()

    def _special(self, char: str, raw_escapes: bool) -> str:
        if char == "$":
            return self._dollar()
        if char == "'":
            return self._single_quoted()
        if char == '"':
            return self._double_quoted(raw_escapes)
        return self._escaped(raw_escapes)

    def _escaped(self, raw_escapes: bool) -> str:
        """An escape token outside quotes: the next character, taken literally."""
        token = self.text[self.pos]
        escaped = self.text[self.pos + 1 : self.pos + 2]
        self.pos += 1 + len(escaped)
        return token + escaped if raw_escapes else escaped

    def _single_quoted(self) -> str:
        end = self.text.find("'", self.pos + 1)
        if end < 0:
            raise ExpansionError("unexpected end of statement while looking for matching single-quote")
        inner = self.text[self.pos + 1 : end]
        self.pos = end + 1
        return f"'{inner}'" if self.lexer.raw_quotes else inner

    def _double_quoted(self, raw_escapes: bool) -> str:
        text, escape = self.text, self.lexer.escape
        plain = _double_quoted_run(escape)
        self.pos += 1
        value = ['"'] if self.lexer.raw_quotes else []
        while self.pos < len(text):
            run = plain.match(text, self.pos)
            if run:
                self.pos = run.end()
                value.append(run.group())
            elif text[self.pos] == '"':
                self.pos += 1
                return "".join(value) + ('"' if self.lexer.raw_quotes else "")
            elif text[self.pos] == "$":
                value.append(self._dollar())
            else:
                value.append(self._escaped_in_double_quotes(raw_escapes))
        raise ExpansionError("unexpected end of statement while looking for matching double-quote")

    def _escaped_in_double_quotes(self, raw_escapes: bool) -> str:
        """Inside ``"..."`` the escape token escapes only ``"``, ``$`` and itself."""
        token = self.text[self.pos]
        following = self.text[self.pos + 1 : self.pos + 2]
        self.pos += 1
        kept = token if raw_escapes else ""
        if following in ('"', "$", token):
            self.pos += 1
            return kept + following
        return kept + token if following else kept

    def _dollar(self) -> str:
        self.pos += 1
        if self.text.startswith("{", self.pos):
            self.pos += 1
            return self._braced()
        name = self._read_name()
        if not name:
            return "$"
        value = self.variables.lookup(name)
        if value is None:
            return "$" + name if self.lexer.keep_unset else ""
        return value

    def _braced(self) -> str:
        """The rest of ``${...}`` after the opening brace."""
        first = self.text[self.pos : self.pos + 1]
        if not first:
            raise ExpansionError("syntax error: missing '}'")
        if first in "{}:":
            raise ExpansionError("syntax error: bad substitution")
        name = self._read_name()
        operator = self._next_char()
        if operator == "}":
            return self._braced_reference(name)
        if operator == "/":
            return self._substitution(name)
        if operator == ":":
            operator += self._next_char()
        elif operator not in ("-", "+", "?", "#", "%"):
            raise ExpansionError(_unsupported(operator))
        return self._modified(name, operator)

    def _braced_reference(self, name: str) -> str:
        value = self.variables.lookup(name)
        if value is None:
            return "${" + name + "}" if self.lexer.keep_unset else ""
        return value

    def _modified(self, name: str, operator: str) -> str:
        """``${name<operator>word}``, the operand already past the operator."""
        if operator in (":#", ":%"):
            raise ExpansionError(_unsupported(operator))
        is_pattern = operator in ("#", "%")
        word = self._operand("}", raw_escapes=is_pattern, missing="syntax error: missing '}'")
        value = self.variables.lookup(name)
        if value is None and self.lexer.keep_unset:
            return "${" + name + operator + word + "}"
        if is_pattern:
            return _trim(value or "", operator, word)
        return _apply_modifier(name, value, operator, word)

    def _substitution(self, name: str) -> str:
        """``${name/pattern/replacement}`` or ``${name//pattern/replacement}``."""
        replace_all = self.text.startswith("/", self.pos)
        self.pos += replace_all
        pattern = self._operand("/", raw_escapes=True, missing="syntax error: missing '/' in ${}")
        replacement = self._operand("}", raw_escapes=True, missing="syntax error: missing '}'")
        value = self.variables.lookup(name)
        if value is None and self.lexer.keep_unset:
            return "${" + name + ("//" if replace_all else "/") + pattern + "/" + replacement + "}"
        compiled = ShellPattern.parse(pattern)
        if replace_all:
            return compiled.replace_all(value or "", replacement)
        return compiled.replace_first(value or "", replacement)

    def _operand(self, stop: str, *, raw_escapes: bool, missing: str) -> str:
        """Process an operand up to ``stop``; running off the end reports ``missing``."""
        try:
            operand, _ = self.process_until(stop, raw_escapes)
        except ExpansionError:
            if self.pos >= len(self.text):
                raise ExpansionError(missing) from None
            raise
        return operand

    def _read_name(self) -> str:
        """A variable name: letters/digits/_, a run of digits, or one special parameter."""
        text, start = self.text, self.pos
        end = start
        if start < len(text) and text[start].isdecimal():
            while end < len(text) and text[end].isdecimal():
                end += 1
        elif start < len(text) and text[start] in SPECIAL_PARAMETERS:
            end = start + 1
        else:
            while end < len(text) and (text[end].isalpha() or text[end].isdecimal() or text[end] == "_"):
                end += 1
        self.pos = end
        return text[start:end]

    def _next_char(self) -> str:
        char = self.text[self.pos : self.pos + 1]
        self.pos += len(char)
        return char


def _apply_modifier(name: str, value: str | None, operator: str, word: str) -> str:
    """``-``, ``+`` and ``?`` with or without the colon (which makes empty count as unset)."""
    missing = value is None or (operator.startswith(":") and value == "")
    kind = operator.removeprefix(":")
    if kind == "-":
        return word if missing else value
    if kind == "+":
        return "" if missing else word
    if kind == "?":
        if missing:
            default = "is not allowed to be unset" if value is None else "is not allowed to be empty"
            raise ExpansionError(f"{name}: {word or default}")
        return value
    raise ExpansionError(_unsupported(operator))


def _trim(value: str, operator: str, word: str) -> str:
    """``#``/``##`` trim a prefix, ``%``/``%%`` a suffix; doubling asks for the longest."""
    longest = word.startswith(operator)
    pattern = ShellPattern.parse(word[1:] if longest else word)
    if operator == "#":
        return pattern.trim_prefix(value, longest=longest)
    return pattern.trim_suffix(value, longest=longest)


def _unsupported(operator: str) -> str:
    """The message for an operator BuildKit does not know; none at all means the word ended."""
    if not operator:
        return "syntax error: missing '}'"
    return f"unsupported modifier ({operator}) in substitution"


@functools.cache
def _special_char(escape: str, skip_quotes: bool) -> re.Pattern[str]:
    """Finds the first character that needs the scanner; a word without one is its own value."""
    return re.compile("[" + re.escape("$" + escape + ("" if skip_quotes else "'\"")) + "]")


@functools.cache
def _plain_run(escape: str, stop: str, skip_quotes: bool) -> re.Pattern[str]:
    """A run of characters that stand for themselves outside quotes."""
    specials = "$" + escape + stop + ("" if skip_quotes else "'\"")
    return re.compile("[^" + re.escape(specials) + "]+")


@functools.cache
def _double_quoted_run(escape: str) -> re.Pattern[str]:
    """A run of characters that stand for themselves inside double quotes."""
    return re.compile("[^" + re.escape('"$' + escape) + "]+")
