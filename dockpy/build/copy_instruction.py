"""COPY and ADD through the build cache: their keys, where they land, and how they are written.

The counterpart of ``run_step``: ``copy_instruction`` computes the step's
inputs (the sources' digest for the context, the chain id of the stage or
image for ``--from``) and hands the builder a function that performs the
copy on a miss. A COPY to a path the layers below do not have also gets
parent-independent inputs (``rebase``), and is written straight into the
upper dir instead of through an overlay mount.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
from collections.abc import Callable, Iterator
from dataclasses import replace

from dockpy.build.cache import StepInputs
from dockpy.build.context import BuildContext
from dockpy.build.copy_step import CopySpec, TreeItem, expand_copy, perform_copy, resolve_sources
from dockpy.build.history import LAYER_SUFFIX, copy_created_by
from dockpy.build.instructions import CopyLike
from dockpy.build.rebase import copy_facts, make_upper_ancestors, target_is_directory
from dockpy.build.remote import is_url
from dockpy.build.stages import BuildPlan
from dockpy.build.state import StageState
from dockpy.build.workspace import StepWorkspace
from dockpy.errors import DockpyError


def context_files_to_copy(plan: BuildPlan, context: BuildContext) -> Iterator[tuple[str, os.stat_result]]:
    """(path, lstat) of every context entry the COPY and ADD steps of ``plan`` name literally.

    For ``FileDigestCache.prefetch``: sources with variables, URLs, heredocs
    and ``--from`` are left to their steps, and so is a source that does not
    resolve (its step reports the error, with its line).
    """
    for index in plan.order:
        for command in plan.stages[index].commands:
            if not isinstance(command, CopyLike) or command.from_ is not None:
                continue
            excludes = () if any("$" in pattern for pattern in command.excludes) else command.excludes
            for pattern in command.sources:
                if "$" in pattern or pattern.startswith("<<") or is_url(pattern):
                    continue
                with contextlib.suppress(DockpyError):
                    for source in context.resolve(pattern, command.source):
                        yield from ((entry.path, entry.st) for entry in context.walk(source, excludes))


def copy_instruction(builder, state: StageState, command: CopyLike, number: int, slot: str) -> None:
    """Dispatch one COPY or ADD through the builder's cache (``builder`` is the ``Builder`` of this build)."""
    spec = expand_copy(command, state, builder.expander)
    flags = _shown_flags(spec)
    details = {"destination": spec.destination, "into_directory": spec.into_directory, "flags": flags,
               "excludes": list(spec.excludes), "sources": list(spec.sources)}
    created_by = copy_created_by(command.keyword, flags, spec.sources, spec.written_destination) + LAYER_SUFFIX
    if spec.from_:
        _copy_from_root(builder, state, spec, details, created_by, number, slot)
    else:
        _copy_from_context(builder, state, spec, details, created_by, number, slot)


def _shown_flags(spec: CopySpec) -> list[str]:
    """The flags as the history shows them, after expansion."""
    shown = [f"--from={spec.from_}" if spec.from_ else "", f"--chown={spec.chown}" if spec.chown else "",
             f"--chmod={spec.chmod:o}" if spec.chmod is not None else "",
             "--link" if spec.command.link else "", "--parents" if spec.command.parents else ""]
    return [flag for flag in shown if flag]


def _copy_from_context(builder, state: StageState, spec: CopySpec, details: dict, created_by: str, number: int,
                       slot: str) -> None:
    scope = state.variables.expansion_scope()
    resolved = resolve_sources(spec, builder.context, builder.digests, builder.scratch_dir, scope, builder.plan.escape)
    parent = None if spec.command.link else str(state.top_chain)
    inputs = StepInputs(parent, spec.command.keyword, details, sources=resolved.digest, files=resolved.files)
    trees = [item for item in resolved.items if isinstance(item, TreeItem)]
    single = trees[0].source if len(trees) == 1 == len(resolved.items) else None
    rebase = target = None
    if single is not None and spec.command.keyword == "COPY":  # ADD may unpack an archive over what is below
        rebase = _rebase(spec, inputs, single.is_dir, posixpath.basename(single.relative))
        target = _copy_target(spec, single.is_dir, posixpath.basename(single.relative))
    builder.layer_step(state, inputs, created_by, lambda workspace: _copy_into(workspace, spec, resolved.items, target),
                       number, slot, rebase)


def _copy_from_root(builder, state: StageState, spec: CopySpec, details: dict, created_by: str, number: int,
                    slot: str) -> None:
    """``COPY --from``: the sources are identified by the chain id of the stage or image they come from."""
    chain, source = builder.copy_source_root(state, spec.from_, spec.command)
    parent = None if spec.command.link else str(state.top_chain)
    inputs = StepInputs(parent, spec.command.keyword, details, sources=chain)
    scope = state.variables.expansion_scope()

    def copy_from_image(workspace: StepWorkspace) -> None:
        with builder.mounted_view(chain, source) as image_root:
            image_context = BuildContext(image_root, image_root=True)
            items = resolve_sources(spec, image_context, None, builder.scratch_dir, scope, builder.plan.escape).items
            _copy_into(workspace, spec, items, target)

    # A source ending in "/" names a directory: its contents land in the destination.
    is_dir = len(spec.sources) == 1 and spec.sources[0].endswith("/") and spec.into_directory
    rebase = _rebase(spec, inputs, True, "") if is_dir else None
    target = _copy_target(spec, True, "") if is_dir else None
    builder.layer_step(state, inputs, created_by, copy_from_image, number, slot, rebase)


def _rebase(spec: CopySpec, inputs: StepInputs, source_is_dir: bool, name: str):
    """The parent-independent inputs of a one-source COPY, computed on a miss from the layers below."""
    if spec.command.link or spec.command.parents:
        return None
    if spec.chown and not spec.chown.replace(":", "").isdigit():
        return None  # a name's uid comes from the /etc/passwd of the layers below

    target = _copy_target(spec, source_is_dir, name)

    def rebase_inputs(layer_dirs: list[str]) -> StepInputs | None:
        facts = copy_facts(layer_dirs, target(layer_dirs))
        if facts is None:
            return None
        return replace(inputs, parent=None, details={**inputs.details, "rebased_onto": facts}, files={})

    return rebase_inputs


def _copy_target(spec: CopySpec, source_is_dir: bool, name: str) -> Callable[[list[str]], str]:
    """Where a one-source COPY lands, given the layers below (a file may go *into* an existing directory)."""

    def target(layer_dirs: list[str]) -> str:
        if not source_is_dir and (spec.into_directory or target_is_directory(layer_dirs, spec.destination)):
            return posixpath.join(spec.destination, name)
        return spec.destination

    return target


def _copy_into(workspace: StepWorkspace, spec: CopySpec, items,
               target: Callable[[list[str]], str] | None = None) -> None:
    """Copy into the step's layer: straight into the upper dir when nothing below can be affected, else mounted."""
    if spec.command.link:  # an independent layer: written into the upper dir alone, blind to the layers below
        perform_copy(spec, items, workspace.upper)
        return
    lower = list(workspace.mounts[0].lowerdirs)
    if target is not None and not spec.chown and copy_facts(lower, target(lower)) is not None:
        # A new path: nothing below can be shadowed, so the upper dir is written directly (see rebase).
        make_upper_ancestors(workspace.upper, lower, target(lower))
        perform_copy(spec, items, workspace.upper)
        return
    with workspace.mounted() as rootfs:
        perform_copy(spec, items, rootfs)
