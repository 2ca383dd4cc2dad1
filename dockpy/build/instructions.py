"""Typed instructions: the parser's AST checked and given meaning, before anything runs.

One parse function per instruction behind one exhaustive table
(``INSTRUCTION_PARSERS``), as BuildKit's ``instructions`` package does. A
parse function validates the flags and the number and form of arguments and
returns a frozen command; words stay as written (quotes, ``$VAR``) because
they are expanded only when the step runs, with the variables in scope there.
Every error is a DockerfileError naming the file and line, so a Dockerfile
with an unknown instruction or a bad flag fails before the first step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from dockpy.build.durations import parse_go_duration
from dockpy.build.flags import FlagError, FlagKind, ParsedFlags, parse_flags
from dockpy.dockerfile.ast import Heredoc, Instruction
from dockpy.errors import DockerfileError

# HEALTHCHECK durations below this are refused, as Docker does.
MINIMUM_HEALTHCHECK_DURATION_NS = 1_000_000
# Instructions an ONBUILD may not wrap.
FORBIDDEN_TRIGGERS = frozenset({"ONBUILD", "FROM", "MAINTAINER"})


@dataclass(frozen=True)
class Source:
    """Where an instruction came from: file, lines and the logical line as written."""

    filename: str
    start_line: int
    end_line: int
    original: str

    def error(self, message: str, hint: str | None = None) -> DockerfileError:
        return DockerfileError(message, filename=self.filename, line=self.start_line, snippet=self.original, hint=hint)


@dataclass(frozen=True)
class From:
    source: Source
    image: str
    stage_name: str | None
    platform: str | None


@dataclass(frozen=True)
class ArgDeclaration:
    """One ``NAME`` or ``NAME=default`` of an ARG (both words unexpanded)."""

    name: str
    default: str | None


@dataclass(frozen=True)
class Arg:
    source: Source
    declarations: tuple[ArgDeclaration, ...]


@dataclass(frozen=True)
class KeyValues:
    """ENV or LABEL: ``(key, value)`` word pairs in order, unexpanded."""

    source: Source
    keyword: str
    pairs: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ShellOrExec:
    """RUN, CMD, ENTRYPOINT: exec form (``args`` as given) or shell form (one command string)."""

    source: Source
    keyword: str
    args: tuple[str, ...]
    shell_form: bool
    heredocs: tuple[Heredoc, ...] = ()
    mounts: tuple[str, ...] = ()
    network: str | None = None


@dataclass(frozen=True)
class Healthcheck:
    """HEALTHCHECK NONE (``test == ("NONE",)``) or CMD with its options in nanoseconds."""

    source: Source
    test: tuple[str, ...]
    interval: int | None = None
    timeout: int | None = None
    start_period: int | None = None
    start_interval: int | None = None
    retries: int | None = None


@dataclass(frozen=True)
class Words:
    """EXPOSE, VOLUME, USER, WORKDIR, STOPSIGNAL, MAINTAINER: a list of words, unexpanded."""

    source: Source
    keyword: str
    words: tuple[str, ...]


@dataclass(frozen=True)
class Shell:
    source: Source
    shell: tuple[str, ...]


@dataclass(frozen=True)
class OnBuild:
    source: Source
    trigger: str


@dataclass(frozen=True)
class CopyLike:
    """COPY or ADD; ``sources`` and ``destination`` unexpanded; heredoc sources named ``<<NAME``."""

    source: Source
    keyword: str
    sources: tuple[str, ...]
    destination: str
    heredocs: tuple[Heredoc, ...] = ()
    from_: str | None = None
    chown: str | None = None
    chmod: str | None = None
    link: bool = False
    parents: bool = False
    excludes: tuple[str, ...] = ()
    checksum: str | None = None
    keep_git_dir: bool = False


Command = From | Arg | KeyValues | ShellOrExec | Healthcheck | Words | Shell | OnBuild | CopyLike


def parse_instruction(node: Instruction, filename: str = "Dockerfile") -> Command:
    """The typed command of one AST instruction; DockerfileError if it is invalid."""
    source = Source(filename, node.start_line, node.end_line, node.original)
    parse = INSTRUCTION_PARSERS.get(node.name)
    if parse is None:
        raise source.error(f"unknown instruction: {node.keyword}")
    try:
        return parse(node, source)
    except FlagError as error:
        raise source.error(str(error)) from None


def _flags(node: Instruction, accepted: Mapping[str, FlagKind] | None = None) -> ParsedFlags:
    return parse_flags(node.flags, accepted or {})


def _parse_from(node: Instruction, source: Source) -> From:
    flags = _flags(node, {"platform": FlagKind.STRING})
    args = node.args
    if len(args) == 3 and args[1].lower() == "as":
        return From(source, args[0], args[2].lower(), flags.string("platform"))
    if len(args) != 1 or not args[0]:
        raise source.error("FROM requires either one or three arguments")
    return From(source, args[0], None, flags.string("platform"))


def _parse_arg(node: Instruction, source: Source) -> Arg:
    _flags(node)
    if not node.args:
        raise source.error("ARG requires at least one argument")
    declarations = []
    for word in node.args:
        name, equals, default = word.partition("=")
        if not name:
            raise source.error(f"ARG names can not be blank: {word}")
        declarations.append(ArgDeclaration(name, default if equals else None))
    return Arg(source, tuple(declarations))


def _parse_key_values(node: Instruction, source: Source) -> KeyValues:
    _flags(node)
    if not node.args:
        raise source.error(f"{node.name} requires at least one argument")
    triples = [node.args[i : i + 3] for i in range(0, len(node.args), 3)]
    pairs = tuple((key, value) for key, value, _separator in triples)
    if any(not key for key, _ in pairs):
        raise source.error(f"{node.name} names can not be blank")
    return KeyValues(source, node.name, pairs)


def _parse_run(node: Instruction, source: Source) -> ShellOrExec:
    flags = _flags(node, {"mount": FlagKind.STRINGS, "network": FlagKind.STRING, "security": FlagKind.STRING})
    if flags.string("security", "sandbox") != "sandbox":
        raise source.error("RUN --security=insecure is not supported: "
                           "dockpy never grants a build step extra privileges")
    network = flags.string("network")
    if network is not None and network not in ("default", "none", "host"):
        raise source.error(f"unsupported network mode {network!r} (want default, none or host)")
    command = _command_args(node, source)
    return ShellOrExec(source, "RUN", command, not node.json_form, node.heredocs, flags.strings_of("mount"), network)


def _parse_cmd_or_entrypoint(node: Instruction, source: Source) -> ShellOrExec:
    _flags(node)
    args = node.args if node.json_form else tuple(arg for arg in node.args if arg)
    return ShellOrExec(source, node.name, args, not node.json_form)


def _command_args(node: Instruction, source: Source) -> tuple[str, ...]:
    if not node.json_form and not any(node.args):
        raise source.error(f"{node.name} requires at least one argument")
    return node.args


def _parse_healthcheck(node: Instruction, source: Source) -> Healthcheck:
    accepted = {name: FlagKind.STRING for name in ("interval", "timeout", "start-period", "start-interval", "retries")}
    flags = _flags(node, accepted)
    if not node.args:
        raise source.error("HEALTHCHECK requires an argument")
    kind, command = node.args[0].upper(), node.args[1:]
    if kind == "NONE":
        if command or node.flags:
            raise source.error("HEALTHCHECK NONE takes no arguments")
        return Healthcheck(source, ("NONE",))
    if kind != "CMD":
        raise source.error(f'Unknown type "{node.args[0]}" in HEALTHCHECK (try CMD)')
    if not command or not any(command):
        raise source.error("Missing command after HEALTHCHECK CMD")
    test = ("CMD", *command) if node.json_form else ("CMD-SHELL", command[0])
    return Healthcheck(
        source, test,
        interval=_duration(flags, "interval", source), timeout=_duration(flags, "timeout", source),
        start_period=_duration(flags, "start-period", source),
        start_interval=_duration(flags, "start-interval", source), retries=_retries(flags, source),
    )


def _duration(flags: ParsedFlags, name: str, source: Source) -> int | None:
    text = flags.string(name)
    if text is None:
        return None
    try:
        value = parse_go_duration(text)
    except ValueError as error:
        raise source.error(str(error)) from None
    if 0 < value < MINIMUM_HEALTHCHECK_DURATION_NS or value < 0:
        raise source.error(f"HEALTHCHECK --{name} cannot be less than 1ms")
    return value


def _retries(flags: ParsedFlags, source: Source) -> int | None:
    text = flags.string("retries")
    if text is None:
        return None
    try:
        retries = int(text)
    except ValueError:
        raise source.error(f"HEALTHCHECK --retries: invalid number {text!r}") from None
    if retries < 0:
        raise source.error("HEALTHCHECK --retries cannot be negative")
    return retries


def _word_parser(minimum: int, maximum: int | None) -> Callable[[Instruction, Source], Words]:
    """A parse function for an instruction taking ``minimum``..``maximum`` plain words."""

    def parse(node: Instruction, source: Source) -> Words:
        _flags(node)
        words = tuple(word for word in node.args if word)
        if len(words) < minimum or (maximum is not None and len(words) > maximum):
            amount = "exactly one argument" if maximum == 1 else "at least one argument"
            raise source.error(f"{node.name} requires {amount}")
        return Words(source, node.name, words)

    return parse


def _parse_shell(node: Instruction, source: Source) -> Shell:
    _flags(node)
    if not node.json_form:
        raise source.error("SHELL requires the arguments to be in JSON form")
    if not node.args:
        raise source.error("SHELL requires at least one argument")
    return Shell(source, node.args)


def _parse_onbuild(node: Instruction, source: Source) -> OnBuild:
    _flags(node)
    trigger = node.onbuild
    if trigger is None:
        raise source.error("ONBUILD requires at least one argument")
    if trigger.name in FORBIDDEN_TRIGGERS:
        if trigger.name == "ONBUILD":
            raise source.error("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
        raise source.error(f"{trigger.name} isn't allowed as an ONBUILD trigger")
    parse_instruction(trigger, source.filename)  # a bad trigger fails now, not in a child build
    return OnBuild(source, trigger.original)


_COPY_FLAGS = {
    "chown": FlagKind.STRING, "chmod": FlagKind.STRING, "link": FlagKind.BOOL, "exclude": FlagKind.STRINGS,
}
_COPY_ONLY = {"from": FlagKind.STRING, "parents": FlagKind.BOOL}
_ADD_ONLY = {"checksum": FlagKind.STRING, "keep-git-dir": FlagKind.BOOL}


def _parse_copy_like(node: Instruction, source: Source) -> CopyLike:
    extra = _COPY_ONLY if node.name == "COPY" else _ADD_ONLY
    flags = _flags(node, {**_COPY_FLAGS, **extra})
    args = tuple(arg for arg in node.args if arg)
    if len(args) < 2:
        raise source.error(f"{node.name} requires at least two arguments, but only one was provided. "
                           "Destination could not be determined.")
    if flags.string("chmod") is not None and not _is_octal_mode(flags.string("chmod")):
        raise source.error(f"invalid --chmod={flags.string('chmod')}: want an octal mode like 0644")
    return CopyLike(
        source, node.name, args[:-1], args[-1], node.heredocs,
        from_=flags.string("from"), chown=flags.string("chown"), chmod=flags.string("chmod"),
        link=flags.bool("link"), parents=flags.bool("parents"), excludes=flags.strings_of("exclude"),
        checksum=flags.string("checksum"), keep_git_dir=flags.bool("keep-git-dir"),
    )


def _is_octal_mode(text: str) -> bool:
    # A $VAR is checked after expansion, when the step runs.
    return "$" in text or (bool(text) and all(c in "01234567" for c in text) and int(text, 8) <= 0o7777)


INSTRUCTION_PARSERS: Mapping[str, Callable[[Instruction, Source], Command]] = {
    "ADD": _parse_copy_like,
    "ARG": _parse_arg,
    "CMD": _parse_cmd_or_entrypoint,
    "COPY": _parse_copy_like,
    "ENTRYPOINT": _parse_cmd_or_entrypoint,
    "ENV": _parse_key_values,
    "EXPOSE": _word_parser(1, None),
    "FROM": _parse_from,
    "HEALTHCHECK": _parse_healthcheck,
    "LABEL": _parse_key_values,
    "MAINTAINER": _word_parser(1, 1),
    "ONBUILD": _parse_onbuild,
    "RUN": _parse_run,
    "SHELL": _parse_shell,
    "STOPSIGNAL": _word_parser(1, 1),
    "USER": _word_parser(1, 1),
    "VOLUME": _word_parser(1, None),
    "WORKDIR": _word_parser(1, 1),
}
"""Every instruction the parser knows has exactly one entry (a test checks the two sets agree)."""
