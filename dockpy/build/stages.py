"""A Dockerfile as build stages: which exist, which a target needs, in which order.

- ARGs before the first FROM are the *global* (meta) args: they are in scope
  for the FROM lines only, and a stage sees their values by re-declaring them.
- Stage names are case-insensitive (BuildKit lowercases them).
- A stage depends on another when its FROM names it, or a ``COPY --from`` or
  a ``RUN --mount=...,from=`` names it (by name or by index).
- ``--target`` builds the target stage and only the stages it depends on,
  dependencies first; without it the last stage is the target.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dockpy.build.instructions import Arg, Command, CopyLike, From, ShellOrExec, Source, parse_instruction
from dockpy.build.runmounts import parse_mount
from dockpy.dockerfile.ast import Dockerfile
from dockpy.dockerfile.expand import expand_word
from dockpy.errors import DockerfileError, ExpansionError, NotFoundError

_STAGE_NAME = re.compile(r"[a-z][a-z0-9-_.]*")


@dataclass(frozen=True)
class Stage:
    """One ``FROM ... [AS name]`` and the commands after it."""

    index: int
    name: str | None
    base: From
    commands: tuple[Command, ...]

    @property
    def label(self) -> str:
        """How progress output names the stage: its name, or its index."""
        return self.name or f"stage-{self.index}"


@dataclass(frozen=True)
class BuildPlan:
    """The stages of a Dockerfile, its global args, and the stages a target needs, in build order."""

    global_args: tuple[Arg, ...]
    stages: tuple[Stage, ...]
    order: tuple[int, ...]
    escape: str = "\\"

    @property
    def target(self) -> Stage:
        return self.stages[self.order[-1]]

    def stage_named(self, reference: str, before: int) -> Stage | None:
        """The stage ``reference`` names (a name or an index) among those before index ``before``."""
        wanted = reference.lower()
        for stage in self.stages[:before]:
            if stage.name == wanted or (wanted.isdigit() and int(wanted) == stage.index):
                return stage
        return None


def plan_build(dockerfile: Dockerfile, *, target: str | None = None,
               build_args: Mapping[str, str] | None = None) -> BuildPlan:
    """Check every instruction, split the stages and choose what ``target`` needs."""
    commands = [parse_instruction(node, dockerfile.filename) for node in dockerfile.instructions]
    global_args, stages = _split_stages(commands, dockerfile.filename)
    plan = BuildPlan(tuple(global_args), tuple(stages), (), dockerfile.directives.escape)
    target_stage = _target_stage(plan, target)
    scope = _global_scope(global_args, build_args or {})
    order = _dependency_order(plan, target_stage, scope)
    return BuildPlan(plan.global_args, plan.stages, tuple(order), plan.escape)


def _split_stages(commands: Sequence[Command], filename: str) -> tuple[list[Arg], list[Stage]]:
    global_args: list[Arg] = []
    stages: list[Stage] = []
    current: tuple[From, list[Command]] | None = None
    for command in commands:
        if isinstance(command, From):
            if current is not None:
                stages.append(_stage(len(stages), *current, stages))
            current = (command, [])
        elif current is not None:
            current[1].append(command)
        elif isinstance(command, Arg):
            global_args.append(command)
        else:
            raise command.source.error("no build stage in current context")
    if current is None:
        raise DockerfileError("the Dockerfile has no FROM instruction", filename=filename)
    stages.append(_stage(len(stages), *current, stages))
    return global_args, stages


def _stage(index: int, base: From, commands: list[Command], earlier: list[Stage]) -> Stage:
    name = base.stage_name
    if name is not None:
        if not _STAGE_NAME.fullmatch(name):
            raise base.source.error(f"invalid name for build stage: {name!r}, "
                                    "name can't start with a number or contain symbols")
        if any(stage.name == name for stage in earlier):
            raise base.source.error(f"duplicate stage name {name!r}")
    return Stage(index, name, base, tuple(commands))


def _target_stage(plan: BuildPlan, target: str | None) -> Stage:
    if target is None:
        return plan.stages[-1]
    stage = plan.stage_named(target, len(plan.stages)) if not target.isdigit() else None
    if stage is None:
        raise NotFoundError(f"target stage {target!r} could not be found")
    return stage


def _global_scope(global_args: Sequence[Arg], build_args: Mapping[str, str]) -> dict[str, str]:
    """The values of the global args: ``--build-arg`` over the defaults, defaults expanded in order."""
    scope: dict[str, str] = {}
    for arg in global_args:
        for declaration in arg.declarations:
            if declaration.name in build_args:
                scope[declaration.name] = build_args[declaration.name]
            elif declaration.default is not None:
                scope[declaration.name] = _expand(declaration.default, scope, arg.source)
    return scope


def _dependency_order(plan: BuildPlan, target: Stage, scope: Mapping[str, str]) -> list[int]:
    """Depth-first: every stage after the stages it depends on, each once."""
    order: list[int] = []

    def visit(stage: Stage) -> None:
        if stage.index in order:
            return
        for dependency in stage_dependencies(plan, stage, scope):
            visit(dependency)
        order.append(stage.index)

    visit(target)
    return order


def stage_dependencies(plan: BuildPlan, stage: Stage, scope: Mapping[str, str]) -> list[Stage]:
    """The earlier stages ``stage`` reads: its base, ``COPY --from`` and ``RUN --mount from=``."""
    references = [(_expand(stage.base.image, scope, stage.base.source), stage.base.source)]
    for command in stage.commands:
        if isinstance(command, CopyLike) and command.from_:
            references.append((_expand(command.from_, scope, command.source), command.source))
        if isinstance(command, ShellOrExec):
            references += [(ref, command.source) for ref in _mount_sources(command)]
    found = []
    for reference, source in references:
        dependency = plan.stage_named(reference, stage.index)
        if dependency is None and reference.isdigit():
            raise source.error(f"invalid stage index {reference}: it must name an earlier stage")
        if dependency is not None and dependency not in found:
            found.append(dependency)
    return found


def _mount_sources(command: ShellOrExec) -> list[str]:
    mounts = [parse_mount(spec, command.source) for spec in command.mounts]
    return [mount.from_ for mount in mounts if mount.from_]


def _expand(word: str, scope: Mapping[str, str], source: Source) -> str:
    try:
        return expand_word(word, scope)
    except ExpansionError as error:
        raise source.error(error.message) from None
