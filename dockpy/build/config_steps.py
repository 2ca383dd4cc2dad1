"""The instructions that change only the image config, as Docker writes it.

Each ``apply_*`` function takes the stage state, the typed command and the
build's ``Words`` expander, changes the config and records an
``empty_layer`` history entry with BuildKit's ``created_by`` (see
``history``). ARG consults the ``--build-arg`` values; ENV wins over ARG.
WORKDIR is only half here: the builder also creates the directory.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from dockpy.build import history
from dockpy.build.instructions import Arg, Command, Healthcheck, KeyValues, OnBuild, Shell, ShellOrExec, Source, Words
from dockpy.build.state import StageState
from dockpy.build.variables import BuildArgs
from dockpy.dockerfile.expand import ShellLexer
from dockpy.errors import ExpansionError, InvalidInputError
from dockpy.image import oci
from dockpy.image.exposed_ports import exposed_port_keys
from dockpy.runtime.signals import parse_signal


@dataclass(frozen=True)
class Expander:
    """Expands instruction words with the stage's variables; errors carry the Dockerfile line."""

    escape: str = "\\"

    def word(self, word: str, scope: Mapping[str, str], source: Source) -> str:
        return self.expansion(word, scope, source).value

    def fields(self, word: str, scope: Mapping[str, str], source: Source) -> list[str]:
        return list(self.expansion(word, scope, source).fields)

    def expansion(self, word: str, scope: Mapping[str, str], source: Source):
        try:
            return ShellLexer(self.escape).expand(word, scope)
        except ExpansionError as error:
            raise source.error(error.message) from None


@dataclass(frozen=True)
class ConfigContext:
    """What metadata steps need besides the state: expansion, build args, global arg values."""

    expander: Expander
    build_args: BuildArgs
    global_scope: Mapping[str, str]


def apply_config_step(state: StageState, command: Command, context: ConfigContext) -> None:
    """Apply one metadata instruction (any command in ``CONFIG_STEPS``)."""
    CONFIG_STEPS[_step_name(command)](state, command, context)


def is_config_step(command: Command) -> bool:
    return _step_name(command) in CONFIG_STEPS


def _step_name(command: Command) -> str:
    return getattr(command, "keyword", None) or type(command).__name__.upper()


def apply_arg(state: StageState, command: Arg, context: ConfigContext) -> None:
    shown = []
    for declaration in command.declarations:
        scope = state.variables.expansion_scope()
        name = context.expander.word(declaration.name, scope, command.source)
        default = declaration.default
        if default is not None:
            default = context.expander.word(default, scope, command.source)
        value = context.build_args.value_of(name)
        if value is None:
            value = default if default is not None else context.global_scope.get(name)
        state.variables.args[name] = value
        shown.append(name if default is None else f"{name}={default}")
    state.add_empty_history("ARG " + " ".join(shown))


def apply_key_values(state: StageState, command: KeyValues, context: ConfigContext) -> None:
    scope = state.variables.expansion_scope()
    pairs = [(context.expander.word(k, scope, command.source), context.expander.word(v, scope, command.source))
             for k, v in command.pairs]
    if command.keyword == "ENV":
        for name, value in pairs:
            state.set_env(name, value)
    else:
        state.configure(labels={**(state.container.labels or {}), **dict(pairs)})
    state.add_empty_history(f"{command.keyword} " + " ".join(f"{k}={v}" for k, v in pairs))


def apply_cmd_or_entrypoint(state: StageState, command: ShellOrExec, context: ConfigContext) -> None:
    args = (*state.shell, *command.args) if command.shell_form else command.args
    if command.keyword == "CMD":
        state.configure(cmd=args)
        state.cmd_set = True
    else:
        state.configure(entrypoint=args, cmd=state.container.cmd if state.cmd_set else None)
    state.add_empty_history(f"{command.keyword} {history.go_string_slice(args)}")


def apply_shell(state: StageState, command: Shell, context: ConfigContext) -> None:
    state.configure(shell=command.shell)
    state.add_empty_history(f"SHELL {history.go_plain_slice(command.shell)}")


def apply_healthcheck(state: StageState, command: Healthcheck, context: ConfigContext) -> None:
    check = oci.Healthcheck(
        test=command.test, interval=command.interval, timeout=command.timeout,
        start_period=command.start_period, start_interval=command.start_interval, retries=command.retries,
    )
    state.configure(healthcheck=check)
    state.add_empty_history(history.healthcheck_created_by(check))


def apply_onbuild(state: StageState, command: OnBuild, context: ConfigContext) -> None:
    state.configure(on_build=(*(state.container.on_build or ()), command.trigger))
    state.add_empty_history(f"ONBUILD {command.trigger}")


def apply_words(state: StageState, command: Words, context: ConfigContext) -> None:
    """EXPOSE, VOLUME, USER, STOPSIGNAL, MAINTAINER and the config half of WORKDIR."""
    WORD_STEPS[command.keyword](state, command, context)


def _expanded(state: StageState, command: Words, context: ConfigContext) -> list[str]:
    scope = state.variables.expansion_scope()
    return [context.expander.word(word, scope, command.source) for word in command.words]


def _expose(state: StageState, command: Words, context: ConfigContext) -> None:
    scope = state.variables.expansion_scope()
    ports: list[str] = []
    for word in command.words:
        for spec in context.expander.fields(word, scope, command.source):
            ports += _port_specs(spec, command.source)
    exposed = sorted({*(state.container.exposed_ports or ()), *ports})
    state.configure(exposed_ports=tuple(exposed))
    state.add_empty_history(f"EXPOSE {history.go_port_set(ports)}")


def _port_specs(spec: str, source: Source) -> list[str]:
    """``80``, ``80/udp``, ``8000-8002/tcp`` as Docker's ``port/proto`` keys."""
    try:
        return exposed_port_keys(spec)
    except ValueError as error:
        raise source.error(str(error)) from None


def _volume(state: StageState, command: Words, context: ConfigContext) -> None:
    volumes = _expanded(state, command, context)
    if any(not volume.strip() for volume in volumes):
        raise command.source.error("VOLUME specified can not be an empty string")
    state.configure(volumes=tuple(sorted({*(state.container.volumes or ()), *volumes})))
    state.add_empty_history(f"VOLUME {history.go_plain_slice(volumes)}")


def _user(state: StageState, command: Words, context: ConfigContext) -> None:
    (user,) = _expanded(state, command, context)
    state.configure(user=user)
    state.add_empty_history(f"USER {user}")


def _stopsignal(state: StageState, command: Words, context: ConfigContext) -> None:
    (name,) = _expanded(state, command, context)
    try:
        parse_signal(name)  # what ``stop`` will send: a name it could not is refused now
    except InvalidInputError:
        raise command.source.error(f"invalid signal: {name}") from None
    state.configure(stop_signal=name)
    state.add_empty_history(f"STOPSIGNAL {name}")


def _maintainer(state: StageState, command: Words, context: ConfigContext) -> None:
    state.author = command.words[0]
    state.add_empty_history(f"MAINTAINER {command.words[0]}")


def resolve_workdir(state: StageState, command: Words, context: ConfigContext) -> str:
    """The absolute, cleaned directory a WORKDIR names (relative to the current one)."""
    (path,) = _expanded(state, command, context)
    return posixpath.normpath(posixpath.join(state.working_dir, path))


WORD_STEPS: Mapping[str, Callable[[StageState, Words, ConfigContext], None]] = {
    "EXPOSE": _expose,
    "MAINTAINER": _maintainer,
    "STOPSIGNAL": _stopsignal,
    "USER": _user,
    "VOLUME": _volume,
}

CONFIG_STEPS: Mapping[str, Callable] = {
    "ARG": apply_arg,
    "CMD": apply_cmd_or_entrypoint,
    "ENTRYPOINT": apply_cmd_or_entrypoint,
    "ENV": apply_key_values,
    "LABEL": apply_key_values,
    "HEALTHCHECK": apply_healthcheck,
    "ONBUILD": apply_onbuild,
    "SHELL": apply_shell,
    **{name: apply_words for name in WORD_STEPS},
}
"""Metadata instructions by name; RUN, COPY, ADD and WORKDIR are the builder's filesystem steps."""
