"""RUN: a command executed by the namespace runtime on the step's snapshot.

The container's root is an overlay of the parent layers with the step's
snapshot as its upper dir, so what the command writes is exactly the new
layer. The process gets the stage's environment (ENV, then declared ARGs,
then the proxy args), WORKDIR, USER and the network (``host`` unless
``--network`` or ``RUN --network`` says otherwise).

Heredocs: ``RUN <<EOF`` runs the heredoc as the script (a ``#!`` line picks
its interpreter); a heredoc inside a longer command (``cat <<EOF >f``) is
handed to the shell with the command, which reads it as a shell heredoc.

Mounts (``runmounts``) are bind mounts of host directories prepared here:
the context (read-only), a persistent cache directory (``cachemounts``, held
as its ``sharing=`` mode says), a fresh tmpfs mounted on a scratch dir, a
secret file. The runtime makes a mount point for each in the upper dir when
the image has none; ``_remove_mount_stubs`` removes those
again, so neither secrets nor their mount points ever reach the layer.
A secret's content is never part of the cache key or the history.
"""

from __future__ import annotations

import collections
import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

from dockpy import linux
from dockpy.build.cache import StepInputs
from dockpy.build.cachemounts import cache_mount_directory
from dockpy.build.context import BuildContext
from dockpy.build.history import LAYER_SUFFIX, run_created_by
from dockpy.build.instructions import ShellOrExec
from dockpy.build.progress import FAILURE_TAIL_LINES, StepOutput
from dockpy.build.runmounts import RunMount, parse_mount
from dockpy.build.state import StageState
from dockpy.build.workspace import StepWorkspace
from dockpy.errors import BuildError, DockpyError, NotFoundError
from dockpy.image.leftovers import BUILD_RUN_SCRATCH_PREFIX
from dockpy.layers.layerstack import LayerStack, overlay_xattrs
from dockpy.layers.mounts import unmount
from dockpy.runtime.spec import ContainerSpec, Process, RootFilesystem, VolumeMount

# Mount points the runtime itself may create in a root that lacks them.
RUNTIME_MOUNT_POINTS = ("/proc", "/sys", "/dev", "/etc/hosts", "/etc/resolv.conf", "/etc/hostname")
HOST_NETWORK_FILES = ("/etc/resolv.conf", "/etc/hosts")


@dataclass(frozen=True)
class RunPlan:
    """A RUN after expansion: the argv, environment and mounts, and what its cache key covers."""

    args: tuple[str, ...]
    env: tuple[str, ...]
    cwd: str
    user: str
    network: str
    mounts: tuple[RunMount, ...]


def run_instruction(builder, state: StageState, command: ShellOrExec, number: int, slot: str) -> None:
    """Dispatch one RUN through the builder's cache (``builder`` is the ``Builder`` of this build)."""
    plan = plan_run(builder, state, command)
    proxies = builder.build_args.proxy_values()
    keyed_env = [entry for entry in plan.env if entry.split("=", 1)[0] not in proxies]
    details = {"args": list(plan.args), "env": keyed_env, "cwd": plan.cwd, "user": plan.user,
               "network": plan.network, "mounts": [_mount_key(mount) for mount in plan.mounts]}
    inputs = StepInputs(str(state.top_chain), "RUN", details)
    created_by = run_created_by(plan.args, state.variables.history_args()) + LAYER_SUFFIX
    builder.layer_step(state, inputs, created_by,
                       lambda workspace: execute_run(builder, state, command, plan, workspace, number),
                       number, slot)


def plan_run(builder, state: StageState, command: ShellOrExec) -> RunPlan:
    scope = state.variables.expansion_scope()
    mounts = tuple(parse_mount(builder.expander.word(spec, scope, command.source), command.source)
                   for spec in command.mounts)
    network = command.network if command.network not in (None, "default") else builder.options.network
    env = state.variables.run_environment(builder.build_args.proxy_values())
    return RunPlan(_command_args(state, command), env, state.working_dir, state.container.user or "", network, mounts)


def _command_args(state: StageState, command: ShellOrExec) -> tuple[str, ...]:
    if not command.shell_form:
        return command.args
    script = command.args[0] if command.args else ""
    if command.heredocs and _is_only_heredoc(script):
        heredoc = command.heredocs[0]
        content = heredoc.content
        if heredoc.chomp:
            content = "".join(line.lstrip("\t") for line in content.splitlines(keepends=True))
        return (*state.shell, content)
    if command.heredocs:
        bodies = "".join(f"{heredoc.content}{heredoc.name}\n" for heredoc in command.heredocs)
        return (*state.shell, f"{script}\n{bodies}")
    return (*state.shell, script)


def _is_only_heredoc(script: str) -> bool:
    word = script.strip()
    return word.startswith("<<") and " " not in word


def _mount_key(mount: RunMount) -> dict:
    """What of a mount changes the result: never a secret's content, only its id and place."""
    return {"type": mount.type, "target": mount.target, "source": mount.source, "from": mount.from_,
            "id": mount.id, "read_only": mount.read_only, "mode": mount.mode, "uid": mount.uid, "gid": mount.gid}


def execute_run(builder, state: StageState, command: ShellOrExec, plan: RunPlan, workspace: StepWorkspace,
                number: int) -> None:
    """Run the command in a container on ``workspace``; BuildError on a non-zero exit."""
    lower = _lower_dirs(workspace)
    with contextlib.ExitStack() as stack:
        volumes = [stack.enter_context(_prepared_mount(builder, state, mount, command)) for mount in plan.mounts]
        volumes = [volume for volume in volumes if volume is not None] + _network_files(plan.network)
        scratch = stack.enter_context(
            tempfile.TemporaryDirectory(prefix=BUILD_RUN_SCRATCH_PREFIX, dir=builder.scratch_dir))
        if not lower:
            os.mkdir(os.path.join(scratch, "empty"))
            lower = [os.path.join(scratch, "empty")]
        spec = ContainerSpec(
            id=os.path.basename(scratch),  # gc finds a killed build's cgroup by it (``leftovers``)
            # volatile: the upper dir becomes a layer blob, fsynced on its own; syncing it at the
            # overlay's unmount (the whole filesystem, on a busy disk 100 ms or more) buys nothing.
            rootfs=RootFilesystem(tuple(lower), workspace.upper, workspace.work, os.path.join(scratch, "rootfs"),
                                  volatile=True),
            process=Process(plan.args, plan.env, plan.cwd, plan.user),
            hostname="buildkitsandbox", network=plan.network, volumes=tuple(volumes),
        )
        os.mkdir(spec.rootfs.mountpoint)
        where = f"{command.source.filename}:{command.source.start_line}: RUN {' '.join(plan.args)!r}"
        try:
            status, tail = _run_container(spec, builder.progress, number)
        except DockpyError as error:  # the program could not be started (no shell, no such file...)
            raise BuildError(f"{where}: {error}", hint=error.hint) from error
    _remove_mount_stubs(workspace.upper, lower, [m.target for m in plan.mounts] + list(RUNTIME_MOUNT_POINTS))
    if status != 0:
        raise BuildError(f"{where} failed with exit status {status}",
                         hint=("last output:\n  " + "\n  ".join(tail)) if tail else None)


def _lower_dirs(workspace: StepWorkspace) -> list[str]:
    mount = workspace.mounts[0]
    return list(mount.lowerdirs) if mount.type == "overlay" else []


def _run_container(spec, progress, number: int) -> tuple[int, list[str]]:
    """Start the container with stdout/stderr on a pipe; stream its lines; the exit status and last lines."""
    # Imported here: a build without RUN never loads the runtime (and a no-op rebuild stays fast).
    from dockpy.runtime.namespace.backend import NamespaceBackend
    from dockpy.runtime.stdio import Stdio

    read_end, write_end = os.pipe()
    tail: collections.deque[str] = collections.deque(maxlen=FAILURE_TAIL_LINES)
    with open(os.devnull, "rb") as devnull:
        try:
            # A killed build takes its RUN step down with it: nothing is left running in its name.
            process = NamespaceBackend().start(spec, Stdio(devnull.fileno(), write_end, write_end),
                                               die_with_caller=True)
        finally:
            os.close(write_end)
    with os.fdopen(read_end, "rb") as output:
        for raw in output:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            tail.append(line)
            progress.emit(StepOutput(number, line))
    return process.wait(), list(tail)


@contextlib.contextmanager
def _prepared_mount(builder, state: StageState, mount: RunMount, command: ShellOrExec) -> Iterator:
    """A ``VolumeMount`` for one RUN mount (None for a missing optional secret), cleaned up after."""
    if mount.type == "cache":
        with cache_mount_directory(str(builder.store.root.path), mount) as directory:
            yield VolumeMount(directory, mount.target, mount.read_only)
    elif mount.type == "tmpfs":
        with _tmpfs(builder, mount) as directory:
            yield VolumeMount(directory, mount.target)
    elif mount.type == "secret":
        with _secret_file(builder, mount, command) as path:
            yield None if path is None else VolumeMount(path, mount.target, read_only=True)
    else:
        with _bind_source(builder, state, mount, command) as path:
            yield VolumeMount(path, mount.target, mount.read_only)


@contextlib.contextmanager
def _tmpfs(builder, mount: RunMount) -> Iterator[str]:
    """A fresh tmpfs, as BuildKit mounts one (``nosuid``, ``size=`` when given), unmounted after the step.

    It is mounted on a scratch directory of the storage root and bound into
    the container like the other mounts: the bind shows the tmpfs itself, so
    the process sees a tmpfs (``df``, /proc/mounts) with its size limit.
    """
    with tempfile.TemporaryDirectory(prefix="build-tmpfs-", dir=builder.scratch_dir) as directory:
        linux.mount("tmpfs", directory, "tmpfs", linux.MS_NOSUID, f"size={mount.size}" if mount.size else None)
        try:
            yield directory
        finally:
            unmount(directory)


@contextlib.contextmanager
def _secret_file(builder, mount: RunMount, command: ShellOrExec) -> Iterator[str | None]:
    """A private copy of the secret with the mount's owner and mode; removed after the step."""
    source = builder.options.secrets.get(mount.id)
    if source is None:
        if mount.required:
            raise command.source.error(f"secret {mount.id} is required but was not given "
                                       f"(--secret id={mount.id},src=...)")
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="build-secret-", dir=builder.scratch_dir) as directory:
        path = os.path.join(directory, "secret")
        try:
            shutil.copyfile(source, path)
        except OSError as error:
            raise NotFoundError(f"secret {mount.id}: cannot read {source}: {error.strerror}") from None
        os.chown(path, mount.uid, mount.gid)
        os.chmod(path, mount.mode if mount.mode is not None else 0o400)
        yield path


@contextlib.contextmanager
def _bind_source(builder, state: StageState, mount: RunMount, command: ShellOrExec) -> Iterator[str]:
    """The directory a bind mount shows: from the context, or from a stage or image (``from=``)."""
    if mount.from_:
        chain, source = builder.copy_source_root(state, mount.from_, command)
        with builder.mounted_view(chain, source) as root:
            yield from _bind_path(builder, root, mount, command, image_root=True)
        return
    yield from _bind_path(builder, builder.context.root, mount, command, image_root=False)


def _bind_path(builder, root: str, mount: RunMount, command: ShellOrExec, *, image_root: bool) -> Iterator[str]:
    context = builder.context if not image_root else BuildContext(root, image_root=True)
    (source,) = context.resolve(mount.source or ".", command.source)
    if mount.read_only:
        yield source.path
        return
    # A writable bind shows a copy: what the step writes there is thrown away, as in BuildKit.
    with tempfile.TemporaryDirectory(prefix="build-bind-", dir=builder.scratch_dir) as directory:
        copy = os.path.join(directory, "source")
        if source.is_dir:
            shutil.copytree(source.path, copy, symlinks=True)
        else:
            shutil.copy2(source.path, copy)
        yield copy


def _network_files(network: str) -> list:
    """With the host's network, the host's resolver config and hosts file, read-only."""
    if network != "host":
        return []
    return [VolumeMount(path, path, read_only=True) for path in HOST_NETWORK_FILES if os.path.exists(path)]


def _remove_mount_stubs(upper: str, lower: list[str], targets: list[str]) -> None:
    """Undo what making the mount points did to the upper dir.

    A mount point absent from the layers below was created (an empty file or
    dir): it goes, with the parents created for it. A parent that exists
    below was only copied up to hold it: if it is now empty and still has
    the lower one's owner and mode, it goes too (only its time changed).
    """
    below = LayerStack(lower)
    for target in targets:
        path = target.rstrip("/") or "/"
        while path != "/":
            host_path = upper + path
            lower_view = _lookup_below(below, path)
            if not _is_empty_stub(host_path) or (lower_view is not None and not _same_directory(host_path, lower_view)):
                break
            (os.rmdir if os.path.isdir(host_path) else os.unlink)(host_path)
            path = os.path.dirname(path)


def _is_empty_stub(path: str) -> bool:
    if os.path.islink(path) or not os.path.lexists(path):
        return False
    if os.path.isdir(path):
        return not os.listdir(path)
    return os.path.isfile(path) and os.path.getsize(path) == 0


def _lookup_below(stack: LayerStack, path: str):
    """The entry the layers below show at ``path`` (None when absent or whited out)."""
    view = stack.root()
    for name in filter(None, path.split("/")):
        if view is None:
            return None
        view = stack.lookup(view, name)
    return view if view is not None and view.exists else None


def _same_directory(host_path: str, lower_view) -> bool:
    """An upper directory that only copies up the lower one: same type, owner and mode, no opaque mark."""
    upper, lower = os.lstat(host_path), lower_view.entry.stat
    return (stat.S_ISDIR(upper.st_mode) and lower_view.is_dir and upper.st_mode == lower.st_mode
            and (upper.st_uid, upper.st_gid) == (lower.st_uid, lower.st_gid)
            and "opaque" not in overlay_xattrs(host_path))
