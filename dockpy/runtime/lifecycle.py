"""The container lifecycle, as Docker's and LXC's users know it: the library API the CLI calls.

    create ──▶ created ──start──▶ running ──(exit, stop, kill)──▶ exited ──rm──▶ gone
                                  └─ exec, stats, logs, diff, commit

Whoever waits for a container's PID 1 *owns* it and writes its fate to the
record: the ``dockpy run`` process itself in the foreground, a forked
monitor (``monitor.py``, conmon's role) for ``-d`` and ``start``. Other
commands act on the record and on the processes it names.
"""

from __future__ import annotations

import os
import re
import select
import signal
import time
from collections import namedtuple
from collections.abc import Iterator

from dockpy.errors import ConflictError, InvalidInputError, NotFoundError
from dockpy.root import StorageRoot
from dockpy.runtime import config as run_config
from dockpy.runtime.containers import (
    CREATED,
    EXITED,
    ContainerRecord,
    ContainerStore,
    new_container_id,
    process_alive,
    process_start_time,
    remove_container_directory,
)
from dockpy.runtime.images import RunnableImage
from dockpy.runtime.initlayer import host_hostname, make_container_directory, shared_init_layer, write_etc_files
from dockpy.runtime.names import generate_name
from dockpy.runtime.spec import ContainerSpec, Process, RootFilesystem, spec_to_json

DEFAULT_STOP_TIMEOUT = 10
# Docker's rule for names: a letter or digit, then letters, digits, '_', '.', '-'.
_VALID_NAME = r"[a-zA-Z0-9][a-zA-Z0-9_.-]+"
# Signals a foreground ``dockpy run`` relays to the container (Docker's --sig-proxy).
PROXIED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)
# How often followers (logs -f, wait on a foreign container) look again.
POLL_SECONDS = 0.05
NAMESPACE, KVM = "namespace", "kvm"


class ExecOptions(namedtuple("ExecOptions", "env workdir user interactive tty", defaults=((), None, None, False, False))):
    """The flags of ``exec``: ``env`` a tuple of ``K=V``, ``workdir`` and ``user`` str or None, the rest bool."""

    __slots__ = ()


class Runtime:
    """Containers of one storage root, run by one backend."""

    def __init__(self, root: StorageRoot | None = None, backend=None):
        self.root = root or StorageRoot.default()
        self.store = ContainerStore(self.root)
        self._backend = backend
        self._kvm_backend = None

    @property
    def backend(self):
        if self._backend is None:
            from dockpy.runtime.namespace.backend import NamespaceBackend

            self._backend = NamespaceBackend()
        return self._backend

    def backend_for(self, record: ContainerRecord):
        """The backend that runs this container."""
        return self._backend_named(self.isolation_of(record))

    def isolation_of(self, record: ContainerRecord) -> str:
        """``namespace`` or ``kvm``, as recorded in the container's config at create (none recorded: namespace)."""
        try:
            return self._config_of(record).get("isolation", NAMESPACE)
        except FileNotFoundError:  # a half-removed container: rm must still work
            return NAMESPACE

    def _backend_named(self, isolation: str):
        if isolation != KVM:
            return self.backend
        if self._kvm_backend is None:
            from dockpy.runtime.kvm.backend import KvmBackend

            self._kvm_backend = KvmBackend(self.root)
        return self._kvm_backend

    # -- create ---------------------------------------------------------------------------------

    def create(self, image: RunnableImage, options: run_config.RunOptions, *, name: str | None = None,
               auto_remove: bool = False) -> ContainerRecord:
        """Make the container's record, directories and spec; nothing runs yet (but ``run`` starts it next)."""
        record = self.prepare(image, options, name=name, auto_remove=auto_remove)
        try:
            self.store.add(record)
        except BaseException:
            self.remove_exited(record)
            raise
        return record

    def prepare(self, image: RunnableImage, options: run_config.RunOptions, *, name: str | None = None,
                auto_remove: bool = False) -> ContainerRecord:
        """``create`` but the record: the checks, the directory and its config.json; the record to add.

        A name in use is refused here already (a read of the store), so that
        ``run_in_vm`` fails before any VM starts; ``add`` stays the check that
        settles a race for the name.
        """
        if options.isolation == NAMESPACE:
            self.backend.prepare_start()
        self.root.create()
        name = self._check_name(name) if name else generate_name(self.store.name_in_use)
        container_id = new_container_id()
        spec = self._build_spec(container_id, image, options, volatile=auto_remove)
        self._check_isolation(spec, run_config.check_isolation(options.isolation))
        record = ContainerRecord(
            id=container_id, name=name, image=image.reference, image_id=image.id,
            command=spec.process.args, created=time.time(), auto_remove=auto_remove,
        )
        paths = self.store.paths(container_id)
        try:
            make_container_directory(paths)
            if options.isolation == NAMESPACE:  # a microVM's /init writes its own /etc files
                spec = spec._replace(volumes=write_etc_files(paths, spec.hostname, spec.network) + spec.volumes)
            entrypoint, cmd = run_config.entrypoint_and_cmd(image.config, options)
            config = {"spec": spec_to_json(spec), "image_config": image.config, "isolation": options.isolation,
                      "entrypoint": entrypoint, "cmd": cmd}
            self.store.write_config(container_id, config)
        except BaseException:
            remove_container_directory(paths.directory)
            raise
        return record

    def _check_isolation(self, spec: ContainerSpec, isolation: str) -> None:
        """A missing QEMU or kernel, or a flag a microVM cannot honour, fails before anything is made."""
        if isolation == KVM:
            backend = self._backend_named(KVM)
            backend.check()
            backend.validate(spec)

    def _check_name(self, name: str) -> str:
        if not re.fullmatch(_VALID_NAME, name):
            raise InvalidInputError(f"invalid container name {name!r}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
        if self.store.name_in_use(name):
            raise ConflictError(f'the container name "{name}" is already in use', hint="Remove that container or choose another name.")
        return name

    def _build_spec(self, container_id: str, image: RunnableImage, options: run_config.RunOptions,
                    volatile: bool = False) -> ContainerSpec:
        network = run_config.check_network(options.network)
        hostname = options.hostname or (host_hostname() if network == "host" else container_id[:12])
        paths = self.store.paths(container_id)
        return ContainerSpec(
            id=container_id,
            rootfs=RootFilesystem(
                layers=_init_layer_for(options.isolation, self.root) + tuple(image.layers), upperdir=paths.upper,
                workdir=paths.work, mountpoint=paths.merged, read_only=options.read_only,
                volatile=volatile,
            ),
            process=run_config.build_process(image.config, options, hostname),
            hostname=hostname,
            network=network,
            volumes=run_config.existing_volumes(options.volumes),
            resources=run_config.resources(options),
            init=options.init,
        )

    def spec_of(self, record: ContainerRecord) -> ContainerSpec:
        return self.store.spec_of(record)

    def image_config_of(self, record: ContainerRecord) -> dict:
        return self._config_of(record)["image_config"]

    def _config_of(self, record: ContainerRecord) -> dict:
        return self.store.config_of(record)

    # -- start and run ---------------------------------------------------------------------------

    def run_attached(self, record: ContainerRecord) -> int:
        """Run in the foreground with the caller's stdio (or a pty); the exit code. Removes it if --rm."""
        from dockpy.runtime.monitor import run_foreground

        self._ensure_startable(record)
        return run_foreground(self, record, self.spec_of(record))

    def run_in_vm(self, image: RunnableImage, options: run_config.RunOptions, *, name: str | None = None,
                  auto_remove: bool = False) -> int:
        """``run --isolation kvm`` in the foreground: ``create`` and ``run_attached``, but the VM starts first.

        The guest kernel boots for seconds before it needs anything more of
        the host, so the record (a transaction with its syncs) is written
        while it boots, as running from the start. Everything that can refuse
        the container (the image, the name, the flags, a missing QEMU) is
        checked before the VM starts, and the directory the VM writes into
        exists before it; a dockpy killed in between leaves that directory
        without a record, never a record without its directory.
        """
        from dockpy.runtime.monitor import run_foreground

        record = self.prepare(image, options, name=name, auto_remove=auto_remove)
        return run_foreground(self, record, self.spec_of(record), recorded=False)

    def start(self, reference: str) -> ContainerRecord:
        """Start a created or exited container in the background, owned by a monitor process."""
        from dockpy.runtime.monitor import start_detached

        record = self.store.get(reference)
        if record.is_running:
            return record
        self._ensure_startable(record)
        start_detached(self, record, self.spec_of(record))
        return self.store.get(record.id)

    def _ensure_startable(self, record: ContainerRecord) -> None:
        if record.state == EXITED:
            self.store.update(record.id, state=CREATED, exit_code=None, finished=None)

    # -- signals, stop, wait -------------------------------------------------------------------------

    def kill(self, reference: str, signum: int = signal.SIGKILL) -> ContainerRecord:
        record = self.store.get(reference)
        if not record.is_running:
            raise ConflictError(f"container {record.name} is not running")
        self._signal(record, signum)
        return record

    def stop(self, reference: str, timeout: float | None = None) -> ContainerRecord:
        """The image's StopSignal (default SIGTERM), then SIGKILL after ``timeout`` seconds (default 10)."""
        record = self.store.get(reference)
        if not record.is_running:
            return record
        timeout = DEFAULT_STOP_TIMEOUT if timeout is None else timeout
        self._signal(record, self._stop_signal(record))
        if not _wait_for_process_exit(record.pid, record.pid_start, timeout):
            self._signal(record, signal.SIGKILL)
        self.wait(record.id)
        return record

    def _signal(self, record: ContainerRecord, signum: int) -> None:
        """A namespace container's PID 1 gets the signal; a microVM's goes to the process in the guest."""
        backend = self.backend_for(record)
        if backend.name == KVM:
            backend.signal(record.id, signum)
        else:
            _signal_process(record, signum)

    def _stop_signal(self, record: ContainerRecord) -> int:
        name = self.image_config_of(record).get("StopSignal") or "SIGTERM"
        return parse_signal(name)

    def wait(self, reference: str) -> int:
        """Block until the container is not running; its exit code."""
        record = self.store.get(reference)
        while record.is_running:
            # The owner records the exit after the process ends: wait for the owner, then read again.
            if not _wait_for_process_exit(record.monitor_pid, record.monitor_start, POLL_SECONDS * 20):
                _wait_for_process_exit(record.pid, record.pid_start, POLL_SECONDS)
            record = self._reload(record)
        return record.exit_code if record.exit_code is not None else 0

    def _reload(self, record: ContainerRecord) -> ContainerRecord:
        try:
            return self.store.get(record.id)
        except NotFoundError:  # --rm: the owner removed it after recording the exit
            return record._replace(state=EXITED)

    # -- remove -----------------------------------------------------------------------------------------

    def remove(self, reference: str, *, force: bool = False) -> ContainerRecord:
        record = self.store.get(reference)
        if record.is_running:
            if not force:
                raise ConflictError(
                    f"cannot remove running container {record.name}",
                    hint="Stop the container first, or use rm -f.",
                )
            self._signal(record, signal.SIGKILL)
            self.wait(record.id)
        self._remove_leftover_cgroup(record)
        self.remove_exited(record)
        return record

    def remove_exited(self, record: ContainerRecord) -> None:
        """The record with its image hold, then the directory (see ``ContainerStore.delete``)."""
        self.store.delete(record)

    def _remove_leftover_cgroup(self, record: ContainerRecord) -> None:
        """A container whose owner was killed leaves its (empty) cgroup behind."""
        cgroup = self.cgroup_of(record)
        if cgroup is not None:
            cgroup.remove()

    def cgroup_of(self, record: ContainerRecord):
        from dockpy.runtime.namespace.cgroups import container_cgroup

        backend = self.backend_for(record)
        if not hasattr(backend, "cgroup_layout"):
            return None
        return container_cgroup(backend.cgroup_layout, backend.cgroup_parent, record.id)

    # -- inspect ------------------------------------------------------------------------------------------

    def list(self, *, all: bool = False) -> list[ContainerRecord]:
        records = self.store.list()
        return records if all else [record for record in records if record.is_running]

    def logs(self, reference: str, *, follow: bool = False) -> Iterator[bytes]:
        """The log's bytes; with ``follow``, new output as it comes until the container stops."""
        record = self.store.get(reference)
        log_path = self.store.paths(record.id).log
        if not os.path.exists(log_path):
            return
        with open(log_path, "rb") as log:
            while True:
                chunk = log.read(65536)
                if chunk:
                    yield chunk
                    continue
                if not follow or not self._reload(record).is_running:
                    return
                time.sleep(POLL_SECONDS)

    def usage(self, record: ContainerRecord):
        """cgroup usage of a running container (None when not running)."""
        if not record.is_running:
            return None
        cgroup = self.cgroup_of(record)
        return cgroup.usage() if cgroup is not None else None

    def inspect(self, reference: str) -> dict:
        """``docker inspect``'s document for the container (see ``inspection``)."""
        from dockpy.runtime.inspection import describe_container

        return describe_container(self, self.store.get(reference))

    # -- exec -----------------------------------------------------------------------------------------------

    def exec(self, reference: str, command: tuple[str, ...], options: ExecOptions) -> int:
        """Run ``command`` in the running container's namespaces and cgroup; its exit code."""
        from dockpy.runtime.monitor import run_exec

        record = self.store.get(reference)
        if not record.is_running:
            raise ConflictError(f"container {record.name} is not running")
        if not command:
            raise InvalidInputError("exec needs a command")
        if self.backend_for(record).name == KVM:
            raise InvalidInputError(f"exec is not available in container {record.name}: it runs with --isolation kvm")
        base = self.spec_of(record).process
        process = Process(
            args=command,
            env=run_config.environment({"Env": list(base.env)}, run_config.RunOptions(env=options.env, tty=options.tty), record.id[:12]),
            cwd=options.workdir or base.cwd,
            user=options.user if options.user is not None else base.user,
            terminal=options.tty,
            interactive=options.interactive,
            capabilities=base.capabilities,
            rlimits=base.rlimits,
        )
        return run_exec(self, record, process)


def _init_layer_for(isolation: str, root: StorageRoot) -> tuple[str, ...]:
    """The host's init layer (mount points, /etc files) for namespaces; a microVM's /init makes its own."""
    return () if isolation == KVM else (shared_init_layer(root),)


def _signal_process(record: ContainerRecord, signum: int) -> None:
    if not process_alive(record.pid, record.pid_start):
        return
    try:
        os.kill(record.pid, signum)
    except ProcessLookupError:
        pass


def _wait_for_process_exit(pid: int | None, start_time: int | None, timeout: float) -> bool:
    """True once process ``pid`` (not necessarily our child) is gone; False after ``timeout`` seconds."""
    if not process_alive(pid, start_time):
        return True
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        if process_start_time(pid) != start_time:
            return True
        readable, _, _ = select.select([pidfd], [], [], timeout)
        return bool(readable)
    finally:
        os.close(pidfd)


def parse_signal(name: str | int) -> int:
    """``SIGTERM``, ``TERM`` or ``15``."""
    text = str(name).upper()
    if text.isdigit():
        return int(text)
    try:
        return signal.Signals[text if text.startswith("SIG") else "SIG" + text].value
    except KeyError:
        raise InvalidInputError(f"invalid signal: {name}") from None
