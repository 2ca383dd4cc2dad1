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
)
from dockpy.runtime.images import RunnableImage
from dockpy.runtime.initlayer import host_hostname, make_container_directory, shared_init_layer, write_etc_files
from dockpy.runtime.names import generate_name
from dockpy.runtime.spec import ContainerSpec, Process, RootFilesystem, spec_to_json
from dockpy.runtime.signals import parse_signal

DEFAULT_STOP_TIMEOUT = 10
# Docker's rule for names: a letter or digit, then letters, digits, '_', '.', '-'.
_VALID_NAME = r"[a-zA-Z0-9][a-zA-Z0-9_.-]+"
# Signals a foreground ``dockpy run`` relays to the container (Docker's --sig-proxy).
PROXIED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)
# How often followers (logs -f, wait on a foreign container) look again.
POLL_SECONDS = 0.05
NAMESPACE, KVM = "namespace", "kvm"


class ExecOptions(namedtuple("ExecOptions", "env workdir user interactive tty detach env_files",
                             defaults=((), None, None, False, False, False, ()))):
    """The flags of ``exec``: ``env`` a tuple of ``K=V``, ``env_files`` one of paths (``-e`` wins over them),
    ``workdir`` and ``user`` str or None, the rest bool."""

    __slots__ = ()


class Runtime:
    """Containers of one storage root, run by one backend."""

    def __init__(self, root: StorageRoot | None = None, backend=None):
        self.root = root or StorageRoot.default()
        self.store = ContainerStore(self.root)
        self._backend = backend
        self._kvm_backend = None
        # Host ports ``create`` bound, by container id: the ``start`` that follows in this process takes them.
        self._reserved_ports: dict[str, list] = {}

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
               auto_remove: bool = False, starting: bool = False) -> ContainerRecord:
        """Make the container's record, directories and spec; nothing runs yet.

        ``starting``: the caller starts it next (``run -d``), so its published
        ports are bound first: a busy one fails before anything is made, and
        the start takes them. (``create`` alone binds nothing, as Docker's.)
        """
        record, _ = self._prepare(image, options, name, auto_remove, starting)
        self._record(record, options.cidfile)
        return record

    def run(self, image: RunnableImage, options: run_config.RunOptions, *, name: str | None = None,
            auto_remove: bool = False) -> int:
        """``create`` and ``run_attached`` in one (``dockpy run`` without -d); the exit code.

        The container starts before its record is committed, and the backend
        commits it (``before_placing``) while the start goes on: a namespace
        container's PID 1 builds its root meanwhile, on the other core, and
        runs the program only once the record is there (no program runs that
        no record names); a microVM's kernel boots for seconds before its
        /init could run anything. That first commit of the command syncs
        SQLite's new WAL and its directory, 1-2 ms on a quiet disk, 20 ms on a
        busy one. A start that fails before the record is committed leaves
        nothing; everything that can refuse the container (the image, a name
        in use, the flags, a missing QEMU) is checked before it starts.
        """
        from dockpy.runtime.monitor import run_foreground

        record, spec = self._prepare(image, options, name, auto_remove, starting=True)
        try:
            listeners = self._take_reserved_ports(record.id)
            return run_foreground(self, record, spec, listeners,
                                  before_placing=lambda: self._commit(record, options.cidfile))
        except BaseException:
            # Only here, once the backend has ended what it started: a VM's shares still use the directory.
            if not self.store.exists(record.id):  # failed before its record: no directory that no record names
                self._release_ports(record.id)
                self.remove_exited(record)
            raise

    def _prepare(self, image: RunnableImage, options: run_config.RunOptions, name: str | None,
                 auto_remove: bool, starting: bool = False) -> tuple[ContainerRecord, ContainerSpec]:
        """The container's directories and config.json, and the record still to commit (``_record``);
        with ``starting``, its published ports bound (see ``create``)."""
        _check_settings_kept_beside_the_spec(options)
        if options.isolation == NAMESPACE:
            self.backend.prepare_start()
        self.root.create()
        name = self._check_name(name) if name else generate_name(self.store.name_in_use)
        container_id = new_container_id()
        spec = self._build_spec(container_id, image, options, volatile=auto_remove)
        self._check_isolation(spec, options)
        ports = run_config.port_bindings(image.config, options)
        record = ContainerRecord(
            id=container_id, name=name, image=image.reference, image_id=image.id,
            command=spec.process.args, created=time.time(), auto_remove=auto_remove,
        )
        paths = self.store.paths(container_id)
        try:
            if ports and starting:
                self._reserve_ports(container_id, ports)
            hosts = run_config.extra_hosts(options)
            make_container_directory(paths)
            if options.isolation == NAMESPACE:  # a microVM's /init writes its own /etc files
                spec = spec._replace(volumes=write_etc_files(paths, spec.hostname, spec.network, hosts) + spec.volumes)
            entrypoint, cmd = run_config.entrypoint_and_cmd(image.config, options)
            config = {"spec": spec_to_json(spec), "image_config": image.config, "isolation": options.isolation,
                      "entrypoint": entrypoint, "cmd": cmd, **run_config.recorded_settings(image.config, options, hosts)}
            if ports:
                from dockpy.runtime.ports import bindings_to_json

                config["ports"] = bindings_to_json(ports)
            if options.publish_all:
                config["publish_all"] = True
            self.store.write_config(container_id, config)
        except BaseException:
            self._release_ports(container_id)
            self.remove_exited(record)
            raise
        return record, spec

    def _record(self, record: ContainerRecord, cidfile: str | None = None) -> None:
        """``_commit`` for a container nothing runs in yet: if committing fails, nothing of it is left."""
        try:
            self.store.add(record)
        except BaseException:
            self._release_ports(record.id)
            self.remove_exited(record)
            raise
        self._write_cidfile(record, cidfile)

    def _commit(self, record: ContainerRecord, cidfile: str | None) -> None:
        """Commit the record of a prepared container, then write its ``--cidfile``."""
        self.store.add(record)
        self._write_cidfile(record, cidfile)

    @staticmethod
    def _write_cidfile(record: ContainerRecord, cidfile: str | None) -> None:
        if cidfile is not None:
            from dockpy.runtime.cidfile import write_cidfile

            write_cidfile(cidfile, record.id)

    def _reserve_ports(self, container_id: str, bindings) -> None:
        from dockpy.runtime.port_forwarder import bind_published_ports

        self._reserved_ports[container_id] = bind_published_ports(bindings)

    def _release_ports(self, container_id: str) -> None:
        from dockpy.runtime.port_forwarder import close_listeners

        close_listeners(self._reserved_ports.pop(container_id, ()))

    def _check_isolation(self, spec: ContainerSpec, options: run_config.RunOptions) -> None:
        """A missing QEMU or kernel, or a flag a microVM cannot honour, fails before anything is made."""
        isolation = run_config.check_isolation(options.isolation)
        if isolation == KVM:
            run_config.refuse_namespace_only_flags(options)
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
            tmpfs=run_config.tmpfs_mounts(options),
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

        listeners = self._published_ports_for(record)
        self._ensure_startable(record)
        return run_foreground(self, record, self.spec_of(record), listeners)

    def start(self, reference: str) -> None:
        """Start a created or exited container in the background, owned by a monitor process.

        Returns once the program runs (raises if it could not start). The
        monitor records that it runs, through a connection of its own: this
        process, which closed its connection before forking the monitor, does
        not open another to read the record back.
        """
        from dockpy.runtime.monitor import start_detached

        record = self.store.get(reference)
        if record.is_running:
            return
        listeners = self._published_ports_for(record)
        self._ensure_startable(record)
        start_detached(self, record, self.spec_of(record), listeners)

    def _published_ports_for(self, record: ContainerRecord) -> list | None:
        """The bound host sides of the container's published ports (those ``create`` reserved, else bound now);
        None when it publishes none."""
        if record.id not in self._reserved_ports:
            bindings = self._config_of(record).get("ports")
            if not bindings:
                return None
            from dockpy.runtime.port_forwarder import bind_published_ports
            from dockpy.runtime.ports import bindings_from_json

            self._reserved_ports[record.id] = bind_published_ports(bindings_from_json(bindings))
        return self._take_reserved_ports(record.id)

    def _take_reserved_ports(self, container_id: str) -> list | None:
        """The ports bound for this start, written down for ``port``, ``ps`` and ``inspect``; None without any."""
        listeners = self._reserved_ports.get(container_id)
        if listeners:  # written first: if that fails, the ports are still reserved, and released with the container
            self.store.write_published_ports(container_id, [listener.binding for listener in listeners])
        return self._reserved_ports.pop(container_id, None)

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
        """The container's stop signal (``--stop-signal``, else the image's StopSignal, else SIGTERM), then
        SIGKILL after ``timeout`` seconds (default: ``--stop-timeout``, else 10; a negative one waits forever)."""
        record = self.store.get(reference)
        if not record.is_running:
            return record
        if timeout is None:
            timeout = self._config_of(record).get("stop_timeout", DEFAULT_STOP_TIMEOUT)
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
        config = self._config_of(record)
        return parse_signal(config.get("stop_signal") or config["image_config"].get("StopSignal") or "SIGTERM")

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

    def logs(self, reference: str, *, follow: bool = False, tail: int | None = None) -> Iterator[bytes]:
        """The log's bytes (its last ``tail`` lines only, if given); with ``follow``, new output as it comes
        until the container stops."""
        record = self.store.get(reference)
        log_path = self.store.paths(record.id).log
        if not os.path.exists(log_path):
            return
        with open(log_path, "rb") as log:
            if tail is not None:
                from dockpy.runtime.log_tail import start_of_last_lines

                log.seek(start_of_last_lines(log, tail))
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
        """Run ``command`` in the running container's namespaces and cgroup; its exit code
        (0 with ``detach``, once it started: it runs on, its output discarded, as Docker's ``exec -d``)."""
        from dockpy.runtime.monitor import exec_detached, run_exec

        record = self.store.get(reference)
        if not record.is_running:
            raise ConflictError(f"container {record.name} is not running")
        if not command:
            raise InvalidInputError("exec needs a command")
        if self.backend_for(record).name == KVM:
            raise InvalidInputError(f"exec is not available in container {record.name}: it runs with --isolation kvm")
        base = self.spec_of(record).process
        exec_environment = run_config.RunOptions(env=options.env, env_files=options.env_files, tty=options.tty)
        process = Process(
            args=command,
            env=run_config.environment({"Env": list(base.env)}, exec_environment, record.id[:12]),
            cwd=options.workdir or base.cwd,
            user=options.user if options.user is not None else base.user,
            terminal=options.tty and not options.detach,
            interactive=options.interactive and not options.detach,
            capabilities=base.capabilities,
            rlimits=base.rlimits,
            additional_groups=base.additional_groups,
        )
        if options.detach:
            exec_detached(self, record, process)
            return 0
        return run_exec(self, record, process)


def _check_settings_kept_beside_the_spec(options: run_config.RunOptions) -> None:
    """``--cidfile`` and ``--stop-signal`` are refused before anything is made, as a bad spec flag is."""
    if options.cidfile is not None:
        from dockpy.runtime.cidfile import check_cidfile_free

        check_cidfile_free(options.cidfile)
    if options.stop_signal is not None:
        parse_signal(options.stop_signal)


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
    timeout = None if timeout < 0 else timeout  # --stop-timeout -1: no SIGKILL, as Docker's
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
