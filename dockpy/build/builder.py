"""The builder: a Dockerfile and a context in, a stored (and tagged) image out.

The pipeline (../DESIGN.md §1)::

    parse ─▶ plan_build (typed instructions, stages, --target) ─▶ for each needed stage:
        FROM (scratch | earlier stage | local image | template) ─▶ ONBUILD triggers of the base
        ─▶ each instruction: metadata ─▶ config_steps (empty_layer history)
                             RUN/COPY/ADD/WORKDIR ─▶ cache key ─▶ hit: reuse the layer
                                                              └▶ miss: StepWorkspace (snapshot on the
                                                                 parent chain) ─▶ execute ─▶ layer
    ─▶ image config + manifest (ImageStore.put_image) ─▶ a ``build`` revision per ``-t``

A step's layer lives in two forms: the compressed blob (what the image
references) and the committed snapshot named by its chain id (what the next
step mounts). A cache hit may find the blob without the snapshot (``gc``
removes snapshots of layers no image uses): ``_ensure_snapshots`` unpacks it
again only when a later step needs to run on it. A failed step raises
before anything is tagged; its workspace removes its snapshot and no cache
entry is written, so the store is as it was (new blobs of earlier steps are
cached results, which ``gc`` may collect).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from dockpy.image.base_images import SCRATCH, find_base_image
from dockpy.build.cache import BuildCache, CachedLayer, StepInputs, explain_miss
from dockpy.build.cache_transfer import export_cache, import_cache, local_name, pull_remote_cache, push_remote_cache
from dockpy.build.config_steps import ConfigContext, Expander, apply_config_step, is_config_step, resolve_workdir
from dockpy.build.context import BuildContext
from dockpy.build.copy_instruction import context_files_to_copy, copy_instruction
from dockpy.build.fastpath import KnownBuild, remember_build
from dockpy.build.filecopy import Ownership, make_directories
from dockpy.build.hashing import FileDigestCache
from dockpy.build.history import LAYER_SUFFIX
from dockpy.build.instructions import Command, CopyLike, From, ShellOrExec, Words, parse_instruction
from dockpy.build.options import BuildOptions
from dockpy.build.progress import BuildFinished, BuildWarning, Progress, StepCached, StepFailed, StepMissed
from dockpy.build.rebase import clone_layer_directory, copy_facts, make_upper_ancestors
from dockpy.build.run_step import run_instruction
from dockpy.build.stages import BuildPlan, Stage, plan_build
from dockpy.build.state import StageState, scratch_config
from dockpy.build.variables import BuildArgs, platform_args, unsupported_platform
from dockpy.build.workspace import StepWorkspace, mounted_in_new_directory
from dockpy.dockerfile import load_dockerfile, parse_dockerfile
from dockpy.errors import DockpyError, InvalidInputError, NotFoundError
from dockpy.image.leftovers import BUILD_KEY_PREFIX
from dockpy.image.oci import Descriptor, ImageConfig, Platform
from dockpy.image.reference import ImageReference, parse_reference
from dockpy.image.refs import Revision
from dockpy.image.store import Image, ImageStore
from dockpy.image.unpack import unpack_image
from dockpy.layers.compression import Compression
from dockpy.layers.digests import chain_ids
from dockpy.layers.snapshots import Kind, Snapshotter
from dockpy.root import StorageRoot
from dockpy.runtime.users import resolve_user


@dataclass(frozen=True)
class BuildResult:
    image: Image
    revisions: tuple[Revision, ...]


@dataclass(frozen=True)
class _LayerStack:
    """The part of an image ``unpack_image`` reads: layer descriptors and the config's diff ids."""

    layers: tuple[Descriptor, ...]
    config: ImageConfig


def build_image(root: StorageRoot, options: BuildOptions, progress: Progress | None = None,
                fingerprint: str | None = None) -> BuildResult:
    """Build ``options`` into an image in ``root``; raises a DockpyError on any failure.

    With ``fingerprint`` (``fastpath.fingerprint_build``), a successful build
    is recorded so that the same request can later be answered without building.
    """
    dockerfile_path = options.dockerfile_path
    # The context first: when it is not a directory, CONTEXT/Dockerfile cannot be read either, and the
    # context is what the user got wrong.
    context = BuildContext.open(options.context_dir, dockerfile_path)
    dockerfile = load_dockerfile(dockerfile_path)
    plan = plan_build(dockerfile, target=options.target, build_args=options.build_args)
    with ImageStore(root) as store, Snapshotter(root) as snapshotter:
        slot_prefix = f"{context.root}\0{os.path.abspath(dockerfile_path)}"
        builder = Builder(store, snapshotter, context, plan, options, progress or Progress(), slot_prefix)
        # The whole build holds the write lease: gc waits, so the snapshots and blobs of steps
        # that no image references yet are not collected under the build's feet.
        with store.writing():
            result = builder.run()
        if fingerprint is not None:
            known = KnownBuild(result.image.manifest_digest, result.image.id, tuple(builder.bases),
                               tuple(builder.progress.step_lines))
            remember_build(store.db, fingerprint, known)
        return result


class Builder:
    """One build (see the module docstring); not reusable.

    ``slot_prefix`` names this Dockerfile in this context, so each step's
    inputs can be compared with the last build's to explain a cache miss.
    """

    def __init__(self, store: ImageStore, snapshotter: Snapshotter, context: BuildContext, plan: BuildPlan,
                 options: BuildOptions, progress: Progress, slot_prefix: str):
        self.store = store
        self.snapshotter = snapshotter
        self.context = context
        self.plan = plan
        self.options = options
        self.progress = progress
        self.platform = Platform.host()
        self.compression = Compression.from_name(options.compression)
        self.build_args = BuildArgs(options.build_args)
        self.expander = Expander(plan.escape)
        self.cache = BuildCache(store.db)
        self.digests = FileDigestCache(store.db, context.root)
        self.global_scope = self._global_scope()
        self.finished: dict[int, StageState] = {}
        self.step_inputs: dict[str, StepInputs] = {}
        self.bases: list[tuple[str, str, str]] = []
        self.cache_entries: list[tuple[str, CachedLayer]] = []
        self.scratch_dir = str(store.root.tmp)
        self.slot_prefix = slot_prefix
        self.started = time.monotonic()

    def run(self) -> BuildResult:
        self.digests.prefetch(context_files_to_copy(self.plan, self.context))
        for reference in self.options.cache_from:
            self._import_cache(reference)
        for index in self.plan.order:
            self.finished[index] = self._build_stage(self.plan.stages[index])
        target = self.finished[self.plan.order[-1]]
        for name in self.build_args.unconsumed():
            self.progress.emit(BuildWarning(f"build arg {name} was given but no ARG declares it"))
        result = self._store_image(target)
        if self.options.cache_to:
            export_cache(self.store, self.cache_entries, local_name(self.options.cache_to), self.platform)
            push_remote_cache(self.store, self.options.cache_to)
        self.digests.save()
        self.cache.remember_inputs(self.step_inputs)
        self.progress.emit(BuildFinished(result.image.id, tuple(self.options.tags), time.monotonic() - self.started))
        return result

    def _import_cache(self, reference: str) -> None:
        try:
            pull_remote_cache(self.store, reference)
            image = self.store.resolve(local_name(reference))
        except NotFoundError:
            self.progress.emit(BuildWarning(f"--cache-from {reference}: no such image, building without it"))
            return
        import_cache(self.store, self.cache, image)

    # -- stages ---------------------------------------------------------------------------------

    def _global_scope(self) -> dict[str, str]:
        scope = platform_args(self.platform)
        for arg in self.plan.global_args:
            for declaration in arg.declarations:
                value = self.build_args.value_of(declaration.name)
                if value is None and declaration.default is not None:
                    value = self.expander.word(declaration.default, scope, arg.source)
                if value is not None:
                    scope[declaration.name] = value
        return scope

    def _build_stage(self, stage: Stage) -> StageState:
        count = len(stage.commands) + 1
        number = self.progress.start_step(stage.label, 1, count, stage.base.source.original)
        state = self._base_state(stage)
        self.progress.finish_step(number)
        triggers = state.container.on_build or ()
        if triggers:
            state.configure(on_build=None)
            self._run_triggers(state, triggers)
        for position, command in enumerate(stage.commands, start=2):
            number = self.progress.start_step(stage.label, position, count, command.source.original)
            self._dispatch(state, command, number, f"{stage.index}/{position}")
            self.progress.finish_step(number)
        return state

    def _base_state(self, stage: Stage) -> StageState:
        base = stage.base
        reference = self.expander.word(base.image, self.global_scope, base.source)
        if not reference:
            raise base.source.error(f"base name ({base.image}) should not be blank")
        self._check_platform(base)
        earlier = self.plan.stage_named(reference, stage.index)
        if earlier is not None:
            parent = self.finished[earlier.index]
            config = parent.image_config(self.platform, self._epoch())
            state = StageState.from_base(stage, config, list(parent.layers))
            # As in BuildKit, a stage built on another inherits the ARGs that stage declared, with their values.
            state.variables.args.update(parent.variables.args)
            return state
        if reference.lower() == SCRATCH:
            return StageState.from_base(stage, scratch_config(self.platform), [])
        image = self._image(reference, base.source)
        return StageState.from_base(stage, image.config, list(image.layers))

    def _image(self, reference: str, source) -> Image:
        try:
            image = find_base_image(self.store, reference, epoch=self._epoch(), compression=self.compression)
        except (NotFoundError, InvalidInputError) as error:  # a missing image or a bad reference: the line says which
            raise source.error(error.message, error.hint) from None
        parsed = parse_reference(reference)
        if isinstance(parsed, ImageReference) and parsed.digest is None and parsed.id_prefix is None:
            self.bases.append((parsed.repository, parsed.tag_or_default, image.manifest_digest))
        return image

    def _check_platform(self, base: From) -> None:
        if base.platform is None:
            return
        wanted = self.expander.word(base.platform, self.global_scope, base.source)
        problem = unsupported_platform(wanted, self.platform)
        if problem is not None:
            raise base.source.error(f"platform {problem}")

    def _run_triggers(self, state: StageState, triggers: tuple[str, ...]) -> None:
        """The base image's ONBUILD triggers, run as if written right after FROM."""
        filename = state.stage.base.source.filename
        for trigger in triggers:
            where = f"{filename} (ONBUILD of the base image)"
            node = parse_dockerfile(trigger.encode(), filename=where).instructions[0]
            command = parse_instruction(node, where)
            number = self.progress.start_step(state.stage.label, 1, 1, f"ONBUILD {trigger}")
            self._dispatch(state, command, number, f"{state.stage.index}/onbuild/{trigger}")
            self.progress.finish_step(number)

    # -- steps ----------------------------------------------------------------------------------

    def _dispatch(self, state: StageState, command: Command, number: int, slot: str) -> None:
        context = ConfigContext(self.expander, self.build_args, self.global_scope)
        if is_config_step(command):
            apply_config_step(state, command, context)
        elif isinstance(command, Words) and command.keyword == "WORKDIR":
            self._workdir(state, command, context, number, slot)
        elif isinstance(command, CopyLike):
            copy_instruction(self, state, command, number, slot)
        elif isinstance(command, ShellOrExec) and command.keyword == "RUN":
            run_instruction(self, state, command, number, slot)
        else:
            raise command.source.error(f"{type(command).__name__} cannot appear here")

    def _workdir(self, state: StageState, command: Words, context: ConfigContext, number: int, slot: str) -> None:
        """WORKDIR creates its directory, owned by the current USER (as BuildKit does)."""
        path = resolve_workdir(state, command, context)
        state.configure(working_dir=path)
        user = state.container.user or ""
        inputs = StepInputs(str(state.top_chain), f"WORKDIR {path}", {"user": user})

        def make_directory(workspace: StepWorkspace) -> None:
            lower = list(workspace.mounts[0].lowerdirs)
            if not user and copy_facts(lower, path) is not None:  # a new path: no overlay needed (see rebase)
                make_upper_ancestors(workspace.upper, lower, path)
                make_directories(workspace.upper, path, Ownership())
                return
            with workspace.mounted() as rootfs:
                owner = resolve_user(user, rootfs) if user else None
                make_directories(rootfs, path, Ownership(owner.uid, owner.gid) if owner else Ownership())

        self.layer_step(state, inputs, f"WORKDIR {path}{LAYER_SUFFIX}", make_directory, number, slot)

    def copy_source_root(self, state: StageState, reference: str, command: CopyLike) -> tuple[str, StageState | Image]:
        """What ``--from`` names: an earlier stage or an image; with the chain id that identifies its content."""
        stage = self.plan.stage_named(reference, state.stage.index)
        if stage is not None:
            source = self.finished[stage.index]
            return str(source.top_chain), source
        image = self._image(reference, command.source)
        return _top_chain(image), image

    @contextlib.contextmanager
    def mounted_view(self, chain: str, source: StageState | Image) -> Iterator[str]:
        """A read-only mount of a stage's or image's root filesystem."""
        layers = tuple(source.layers)
        diff_ids = source.diff_ids if isinstance(source, StageState) else source.config.rootfs.diff_ids
        if not layers:
            with tempfile.TemporaryDirectory(prefix="build-empty-", dir=self.scratch_dir) as empty:
                yield empty
            return
        self.ensure_snapshots(layers, tuple(diff_ids))
        key = f"{BUILD_KEY_PREFIX}view-{uuid.uuid4().hex}"
        mounts = self.snapshotter.view(key, parent=chain)
        try:
            with mounted_in_new_directory(mounts, "build-view-", self.scratch_dir) as target:
                yield target
        finally:
            with contextlib.suppress(DockpyError):
                self.snapshotter.remove(key)

    def ensure_snapshots(self, layers: tuple[Descriptor, ...], diff_ids: tuple) -> list[str]:
        """Committed snapshots for every layer (unpacked from their blobs where gc removed them).

        Returns their directories, top-most first.
        """
        if not layers:
            return []
        config = ImageConfig(architecture=self.platform.architecture, os=self.platform.os,
                             rootfs=scratch_config(self.platform).rootfs.replace(diff_ids=tuple(diff_ids)))
        return [str(path) for path in unpack_image(self.store, _LayerStack(layers, config), self.snapshotter)]

    def layer_step(self, state: StageState, inputs: StepInputs, created_by: str,
                   execute: Callable[[StepWorkspace], None], number: int, slot: str,
                   rebase: Callable[[], StepInputs | None] | None = None) -> None:
        """Reuse the cached layer of ``inputs`` or run ``execute`` in a new workspace and keep its layer.

        ``rebase`` gives the parent-independent inputs of a COPY (see ``rebase``):
        a layer made from them on other layers is reused before anything is executed.
        """
        slot_key = f"{self.slot_prefix}\0{slot}"
        previous = self.cache.previous_inputs(slot_key)
        self.step_inputs[slot_key] = inputs
        key = inputs.key()
        cached = None if self.options.no_cache else self._usable(self.cache.lookup(key))
        if cached is not None:
            self.progress.emit(StepCached(number))
            self.cache_entries.append((key, cached))
            self._apply_cached(state, cached, created_by)
            return
        reason = explain_miss(inputs.instruction.split()[0], previous, inputs, self.options.no_cache)
        self.progress.emit(StepMissed(number, reason))
        layer_dirs = self.ensure_snapshots(tuple(state.layers), tuple(state.diff_ids))
        rebase_key = None
        if rebase is not None:
            rebase_inputs = rebase(layer_dirs)
            rebase_key = rebase_inputs.key() if rebase_inputs is not None else None
        try:
            layer = (self._reuse_rebased(state, rebase_key) if rebase_key and not self.options.no_cache else None) \
                or self._execute_step(state, execute)
        except DockpyError as error:
            self.progress.emit(StepFailed(number, str(error)))
            raise
        self.cache.record(key, layer)
        self.cache_entries.append((key, layer))
        if rebase_key is not None:
            self.cache.record(rebase_key, layer)
        self._apply_cached(state, layer, created_by)

    def _execute_step(self, state: StageState, execute: Callable[[StepWorkspace], None]) -> CachedLayer:
        with StepWorkspace(self.snapshotter, state.top_chain, self.scratch_dir) as workspace:
            execute(workspace)
            with self.store.writing():
                blob = workspace.commit_layer(self.store.content, self.compression, self._epoch())
        if blob is None:
            return CachedLayer(None, None, 0, None, time.time())
        return CachedLayer(blob.diff_id, blob.digest, blob.size, blob.media_type, time.time(), workspace.committed_as)

    def _reuse_rebased(self, state: StageState, rebase_key: str) -> CachedLayer | None:
        """The layer a COPY made on other layers, cloned onto this stage's layers (None if there is none)."""
        made = self._usable(self.cache.lookup(rebase_key))
        if made is None or made.diff_id is None or not self._is_committed(made.snapshot):
            return None
        with StepWorkspace(self.snapshotter, state.top_chain, self.scratch_dir) as workspace:
            clone_layer_directory(str(self.snapshotter.directory(made.snapshot)), workspace.upper)
            chain = workspace.commit_snapshot(made.diff_id)
        return replace(made, snapshot=chain)

    def _is_committed(self, name: str | None) -> bool:
        if name is None:
            return False
        try:
            return self.snapshotter.stat(name).kind == Kind.COMMITTED
        except NotFoundError:
            return False

    def _usable(self, cached: CachedLayer | None) -> CachedLayer | None:
        if cached is not None and cached.digest is not None and not self.store.content.has(cached.digest):
            return None
        return cached

    def _apply_cached(self, state: StageState, layer: CachedLayer, created_by: str) -> None:
        if layer.diff_id is None:
            state.add_empty_history(created_by)
            return
        descriptor = Descriptor(layer.media_type, layer.digest, layer.size)
        state.add_layer(descriptor, layer.diff_id, created_by, layer.created)

    # -- the image ------------------------------------------------------------------------------

    def _epoch(self) -> int | None:
        return self.options.source_date_epoch

    def _store_image(self, state: StageState) -> BuildResult:
        if self.options.labels:
            state.configure(labels={**(state.container.labels or {}), **self.options.labels})
        config = state.image_config(self.platform, self._epoch())
        with self.store.writing():
            image = self.store.put_image(config, state.layers)
            revisions = tuple(
                self.store.add_revision(tag, image, operation="build", author=self.options.author,
                                        message=f"dockpy build {self.options.context_dir}")
                for tag in self.options.tags
            )
        return BuildResult(image, revisions)


def _top_chain(image: Image) -> str:
    diff_ids = image.config.rootfs.diff_ids
    return str(chain_ids(diff_ids)[-1]) if diff_ids else "empty"
