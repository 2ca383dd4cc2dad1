"""``KvmBackend``: runs a ContainerSpec inside a QEMU microVM (``--isolation kvm``).

A run, as a recipe:

1. check the host: QEMU, the guest kernel, static busybox, mkfs.erofs, virtiofsd;
2. decide KVM or TCG (a cached real boot test, ``acceleration.py``);
3. get every image layer as a cpio archive the guest kernel unpacks (small
   layers, ``layer_archive.py``) or as an EROFS image (built once, ``erofs.py``);
4. put the run's initrd in memory: the cached initramfs, the layers' archives, /dockpy/spec;
5. start a virtiofsd for the container's writable dir and each volume;
6. start QEMU (``qemu.py``), record its pid, wait for it;
7. read the status the guest reported: the process's exit code, or a setup error,
   and how many bytes it sent on stdout and stderr: once our relays have taken
   them all, QEMU is killed (the guest waits for that instead of powering off);
8. remove the run directory (``rundir.py``), whatever happened.

``stop``/``signal`` work from any dockpy process: they find the VM through
its run directory, forward a signal to the container's process through the
``dockpy.control`` port, and kill QEMU when that is not enough.
"""

from __future__ import annotations

import math
import os
import select
import signal as signals
import subprocess
import sys
import termios
import threading
import time
from collections import namedtuple
from contextlib import ExitStack
from pathlib import Path

from dockpy.errors import ContainerSetupError, InvalidInputError
from dockpy.root import StorageRoot
from dockpy.runtime.kvm import acceleration, erofs, guest_spec, initramfs, kernel, layer_archive, qemu, virtiofs
from dockpy.runtime.kvm.children import end_in_background, kill_and_reap, spawn
from dockpy.runtime.kvm.qemu import MAX_VIRTIO_DEVICES
from dockpy.runtime.kvm.relay import OutputRelay, start_output_relay
from dockpy.runtime.kvm.rundir import CONSOLE_LOG, RunDirectory, StatusPipe
from dockpy.runtime.kvm.vm_process import VmProcess, start_vm
from dockpy.runtime.spec import ContainerSpec
from dockpy.runtime.stdio import Stdio

DEFAULT_MEMORY_MIB = 256
# Below this the guest kernel cannot unpack its initramfs and run a process.
MINIMUM_MEMORY_MIB = 128
STOP_TIMEOUT_SECONDS = 10.0
# How long a guest that has reported its exit status may take to power off, or a relay may wait on an
# empty pipe for output the guest reported, before QEMU is killed anyway.
POWER_OFF_GRACE_SECONDS = 10.0
# How often, once the guest has reported, we look whether the VM may end (the relays' counts, its power-off).
STATUS_POLL_SECONDS = 0.01
PROBE_TIMEOUT_SECONDS = 30.0
# Exit code of a container whose VM had to be killed (128 + SIGKILL), as Docker reports it.
KILLED_EXIT_CODE = 128 + signals.SIGKILL
# A run directory gets its QEMU pid within seconds; one this old without a live QEMU is left over.
STALE_RUN_DIRECTORY_SECONDS = 120.0


class HostTools(namedtuple("HostTools", "qemu kernel busybox mkfs_erofs virtiofsd")):
    """The programs (Paths) and the ``kernel.GuestKernel`` a microVM needs, found once per backend."""

    __slots__ = ()


def kernel_cmdline(accel: acceleration.Acceleration, tsc_khz: int | None, *, trace: bool = False) -> str:
    """Quiet, fast boot; ``panic=-1`` so a guest that fails reboots, which ``-no-reboot`` turns into an exit."""
    words = ["console=ttyS0", "quiet", "panic=-1", "rdinit=/init", "cryptomgr.notests", "random.trust_cpu=on"]
    if trace:
        words.append("dockpy.trace")
    if accel.is_emulated:
        # The guest's CPU is emulated instruction by instruction: its speculative-execution
        # mitigations (retpolines, RSB filling, patching every module's returns) protect
        # nothing there and make module loading and every syscall slower.
        words.append("mitigations=off")
        # Debian's kernel zeroes every page and slab object it allocates (hardening against
        # leaks of uninitialised memory inside the guest, which serves this one container;
        # the VM stays the boundary). Emulated, that zeroing is a third of the guest's work
        # after /init (loading modules, setting up virtiofs and overlay); under KVM, where it
        # costs little, the kernel's default stays.
        words.append("init_on_alloc=0")
    if accel.is_emulated and tsc_khz:
        # Under TCG the guest cannot calibrate its TSC against the emulated PIT
        # reliably (about one boot in three hangs); tell it the host's rate.
        words += [f"tsc_early_khz={tsc_khz}", "tsc=reliable", "no_timer_check"]
    return " ".join(words)


def host_tsc_khz() -> int | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("cpu MHz"):
                return int(float(line.split(":", 1)[1]) * 1000)
    except (OSError, ValueError):
        pass
    return None


def guest_memory_mib(spec: ContainerSpec) -> int:
    memory = spec.resources.memory_bytes
    if memory is None:
        return DEFAULT_MEMORY_MIB
    return max(MINIMUM_MEMORY_MIB, math.ceil(memory / (1 << 20)))


def guest_vcpus(spec: ContainerSpec) -> int:
    cpus = spec.resources.cpus
    if cpus is None:
        return 1
    return max(1, min(math.ceil(cpus), os.cpu_count() or 1))


def _warn_on_stderr(message: str) -> None:
    print(f"dockpy: warning: {message}", file=sys.stderr, flush=True)


class GuestLayers(namedtuple("GuestLayers", "archives images tokens")):
    """How a run's image layers reach the guest: ``archives`` (Paths) to append to the initrd,
    ``images`` (Paths) to attach as disks, and ``tokens``, /init's ``layers`` (``guest_spec.render_spec``)."""

    __slots__ = ()


def _guest_layers(spec: ContainerSpec, mkfs_erofs: Path) -> GuestLayers:
    archives, images, tokens = [], [], []
    for layer in map(Path, spec.rootfs.layers):
        archive = layer_archive.layer_archive(layer)
        if archive is None:
            images.append(erofs.layer_image(layer, mkfs_erofs))
            tokens.append(guest_spec.DISK_LAYER)
        else:
            archives.append(archive)
            tokens.append(layer_archive.guest_path(layer))
    return GuestLayers(tuple(archives), tuple(images), tuple(tokens))


class KvmBackend:
    """Runs containers in microVMs; state lives under ``<root>/kvm/``."""

    name = "kvm"

    def __init__(self, root: StorageRoot, *, warn=_warn_on_stderr, trace_to: Path | None = None):
        """``warn`` prints the one-line TCG fallback warning; with ``trace_to``, each run's guest
        console, with /init's timed milestones, is copied there (bench/kvm_bench.py reads it)."""
        self.root = root
        self.cache_dir = root.path / "kvm"
        self._warn = warn
        self._trace_to = trace_to
        self._tools: HostTools | None = None
        self._initramfs: Path | None = None
        self._probe_lock = threading.Lock()  # concurrent runs of one backend probe KVM once

    # -- preconditions -------------------------------------------------------

    def check(self) -> HostTools:
        """Find every program the backend needs; raises PrerequisiteError naming the package to install."""
        if self._tools is None:
            self._tools = HostTools(
                qemu=qemu.find_qemu(),
                kernel=kernel.find_kernel(),
                busybox=initramfs.find_busybox(),
                mkfs_erofs=erofs.find_mkfs_erofs(),
                virtiofsd=virtiofs.find_virtiofsd(),
            )
        return self._tools

    def acceleration(self) -> acceleration.Acceleration:
        tools = self.check()
        identity = acceleration.host_identity(tools.qemu, tools.kernel.identity)
        with self._probe_lock:
            return acceleration.choose_acceleration(self.cache_dir / "acceleration.json", identity, self._probe_kvm)

    # -- running -------------------------------------------------------------

    def run(self, spec: ContainerSpec, *, stdin=None, stdout=None, stderr=None, timeout: float | None = None,
            on_start=None) -> int:
        """Run ``spec`` to completion; returns the process's exit code.

        ``stdout``/``stderr`` (fds or binary files; default: dockpy's own) get
        the process's output, byte for byte. ``stdin`` is read only when
        ``spec.process.interactive``. With ``spec.process.terminal`` the three
        are one tty. After ``timeout`` seconds the VM is killed (exit 137).
        ``on_start(pid)`` is called with QEMU's pid once QEMU runs.
        """
        tools = self.check()
        _validate(spec)
        accel = self.acceleration()
        if accel.is_emulated:
            self._warn(f"KVM cannot run guests on this host ({accel.reason}); using TCG emulation, which is much slower")
        layers = _guest_layers(spec, tools.mkfs_erofs)
        self._remove_stale_run_directories()
        rundir = self.run_directory(spec.id).create()
        try:
            with _WritableDirGuard(spec):
                return self._boot(tools, accel, rundir, spec, layers, (stdin, stdout, stderr), timeout, on_start)
        finally:
            rundir.remove()

    def start(self, spec: ContainerSpec, stdio: Stdio, before_placing=None) -> VmProcess:
        """The lifecycle's entry (``monitor.py``): run ``spec`` in a thread; returns once QEMU runs.

        ``before_placing`` is called once QEMU runs, while the guest's kernel
        boots (seconds under TCG, ~0.1 s with KVM, before /init could start the
        program): ``Runtime.run`` commits the container's record there. If it
        raises, the VM is killed and the start fails.
        """
        fds = (stdio.terminal.fd,) * 3 if stdio.terminal is not None else (stdio.stdin, stdio.stdout, stdio.stderr)
        process = start_vm(self, spec, fds)
        if before_placing is not None:
            try:
                before_placing()
            except BaseException:
                process.send_signal(signals.SIGKILL)
                process.wait()
                raise
        return process

    def validate(self, spec: ContainerSpec) -> None:
        """Refuse, before anything is made, what a microVM cannot do (``--network host``, file volumes...)."""
        _validate(spec)

    def run_directory(self, container_id: str) -> RunDirectory:
        return RunDirectory(self.cache_dir / "run" / container_id)

    def _remove_stale_run_directories(self) -> None:
        """Run directories of VMs whose dockpy was killed (SIGKILL leaves no chance to clean up)."""
        for path in (self.cache_dir / "run").glob("*"):
            rundir = RunDirectory(path)
            if rundir.is_stale(STALE_RUN_DIRECTORY_SECONDS):
                rundir.remove()

    def base_initramfs(self) -> Path:
        """The cached initramfs, looked up once per backend (checking it hashes a few MB of inputs)."""
        if self._initramfs is None or not self._initramfs.exists():
            self._initramfs = initramfs.cached_initramfs(self.check().kernel, self.cache_dir)
        return self._initramfs

    def _initrd(self, spec: ContainerSpec, layers: GuestLayers, helpers: ExitStack) -> int:
        """The run's initrd in memory (a memfd, never written to disk): the cached initramfs, then
        each layer archive and the spec, which the kernel unpacks in turn. QEMU reads it at start."""
        initrd = os.memfd_create("dockpy-initrd", os.MFD_CLOEXEC)
        helpers.callback(os.close, initrd)
        for part in (self.base_initramfs(), *layers.archives):
            _append_file(initrd, part)
        with open(initrd, "wb", closefd=False) as target:
            target.write(guest_spec.spec_archive(spec, layers.tokens))
        return initrd

    def _boot(self, tools, accel, rundir, spec, layers, stdio, timeout, on_start) -> int:
        with ExitStack() as helpers:
            initrd_fd = self._initrd(spec, layers, helpers)
            shares = _share_listeners(rundir, spec, helpers)
            fds, relays = _stdio_fds(*stdio, spec.process.terminal, helpers)
            config = self._vm_config(tools, accel, spec, layers, shares, (*fds, initrd_fd))
            status = rundir.open_status()
            helpers.callback(status.close)
            process = _spawn_qemu(tools, rundir, config, (*fds, initrd_fd))
            try:
                _start_shares(tools, rundir, shares, helpers)  # after QEMU's exec: the guest boots meanwhile
            except BaseException:
                end_in_background(process)
                raise
            if on_start is not None:
                on_start(process.pid)
            return self._wait_for_vm(process, rundir, status, relays, timeout)

    def _vm_config(self, tools, accel, spec, layers, shares, fds) -> qemu.VmConfig:
        """``fds``: the guest's stdin, stdout and stderr, and the initrd's."""
        return qemu.VmConfig(
            kernel=kernel.boot_image(tools.kernel, self.cache_dir),
            initrd=f"/proc/self/fd/{fds[3]}",
            cmdline=kernel_cmdline(accel, host_tsc_khz(), trace=self._trace_to is not None),
            accelerator=accel.accelerator,
            memory_mib=guest_memory_mib(spec),
            vcpus=guest_vcpus(spec),
            disks=layers.images,
            shares=tuple(share.device for share in shares),
            stdout=f"/proc/self/fd/{fds[1]}",
            stderr=f"/proc/self/fd/{fds[2]}",
            interactive=spec.process.interactive,
            terminal=spec.process.terminal,
        )

    def _wait_for_vm(self, process: subprocess.Popen, rundir: RunDirectory, status: StatusPipe, relays, timeout) -> int:
        """The exit code, once the guest has reported it (or the VM ended without a report)."""
        try:
            qemu_errors = _wait_for_vm_end(process, status, relays, timeout)
        except subprocess.TimeoutExpired:
            return KILLED_EXIT_CODE  # the finally below kills the VM
        finally:
            end_in_background(process)
            if self._trace_to is not None:
                import shutil  # bench/kvm_bench.py's traced runs only

                shutil.copyfile(rundir.path / CONSOLE_LOG, self._trace_to)
        if qemu_errors is None:  # ended at the guest's report: the relays have every byte it sent
            for relay in relays:
                relay.finish()
            qemu_errors = b""
        return _exit_code(rundir, status.take(), process.returncode, qemu_errors.decode(errors="replace"))

    # -- other dockpy processes ----------------------------------------------

    def signal(self, container_id: str, signum: int = signals.SIGKILL) -> None:
        """``dockpy kill``: SIGKILL ends the VM; other signals go to the container's process in the guest."""
        rundir = self.run_directory(container_id)
        pid = rundir.running_pid()
        if pid is None:
            return
        if signum == signals.SIGKILL or not rundir.send_signal(signum):
            _kill_pid(pid)

    def stop(self, container_id: str, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """``dockpy stop``: SIGTERM to the process, then after ``timeout`` seconds the VM is killed."""
        rundir = self.run_directory(container_id)
        pid = rundir.running_pid()
        if pid is None:
            return
        rundir.send_signal(signals.SIGTERM)
        if not _wait_for_exit(pid, timeout):
            _kill_pid(pid)
            _wait_for_exit(pid, STOP_TIMEOUT_SECONDS)

    # -- the KVM probe -------------------------------------------------------

    def _probe_kvm(self) -> str | None:
        """Boot the guest with KVM until /init's probe marker; None if it worked, else why not."""
        tools = self.check()
        accel = acceleration.Acceleration("kvm")
        rundir = self.run_directory(f"kvm-probe-{os.urandom(6).hex()}").create()
        try:
            config = qemu.VmConfig(
                kernel=kernel.boot_image(tools.kernel, self.cache_dir),
                initrd=self.base_initramfs(),
                cmdline=kernel_cmdline(accel, None) + " dockpy.probe",
                accelerator="kvm",
            )
            process = spawn(qemu.qemu_argv(tools.qemu, config), cwd=rundir.path, stderr=subprocess.PIPE)
            try:
                _, errors = process.communicate(timeout=PROBE_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                return f"a KVM guest did not boot within {PROBE_TIMEOUT_SECONDS:.0f} s"
            finally:
                kill_and_reap(process)
            if "dockpy-probe-ok" in (rundir.path / CONSOLE_LOG).read_text(errors="replace"):
                return None
            return _first_line(errors.decode(errors="replace")) or f"a KVM guest exited with status {process.returncode}"
        finally:
            rundir.remove()


class _WritableDirGuard:
    """The guest can rename entries of the shared writable dir: make sure upper and work are still ours after."""

    def __init__(self, spec: ContainerSpec):
        self._paths = () if spec.rootfs.read_only else (spec.rootfs.upperdir, spec.rootfs.workdir)

    def __enter__(self):
        self._identities = [_identity(path) for path in self._paths]
        return self

    def __exit__(self, *exc_info):
        for path, identity in zip(self._paths, self._identities):
            if _identity(path) != identity:
                raise ContainerSetupError(f"the guest replaced {path}: refusing to use it as the container's layer")


def _identity(path: str) -> tuple[int, int] | None:
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    return (info.st_dev, info.st_ino)


def _validate(spec: ContainerSpec) -> None:
    if spec.network != "none":
        raise InvalidInputError(f"--network {spec.network} is not available with --isolation kvm (only none)")
    guest_spec.writable_dir_names(spec)
    devices = 1 + len(spec.rootfs.layers) + len(spec.volumes) + (0 if spec.rootfs.read_only else 1)
    if devices > MAX_VIRTIO_DEVICES:
        raise InvalidInputError(
            f"--isolation kvm supports at most {MAX_VIRTIO_DEVICES - 2} image layers and volumes together, this container needs {devices - 2}"
        )
    for volume in spec.volumes:
        if not os.path.isdir(volume.source):
            raise InvalidInputError(f"--isolation kvm can share directories only: {volume.source} is not a directory")


class _PendingShare(namedtuple("_PendingShare", "device source read_only listener")):
    """A share QEMU connects to (``device``, a ``qemu.Share``) before its virtiofsd runs: ``listener`` waits for it."""

    __slots__ = ()


def _share_listeners(rundir: RunDirectory, spec: ContainerSpec, helpers: ExitStack) -> tuple[_PendingShare, ...]:
    """A listening socket for each share (the writable dir, each volume); virtiofsd starts after QEMU."""
    sources = []
    if guest_spec.writable_dir_names(spec) is not None:
        sources.append(("dockpy.rw", os.path.dirname(spec.rootfs.upperdir), False))
    sources += [(f"dockpy.vol{index}", volume.source, volume.read_only) for index, volume in enumerate(spec.volumes)]
    shares = []
    for index, (tag, source, read_only) in enumerate(sources):
        socket = f"fs{index}.sock"
        listener = virtiofs.listen(rundir.path, socket)
        helpers.callback(listener.close)  # if QEMU does not start: virtiofsd takes it over otherwise
        shares.append(_PendingShare(qemu.Share(tag, socket), source, read_only, listener))
    return tuple(shares)


def _start_shares(tools: HostTools, rundir: RunDirectory, shares: tuple[_PendingShare, ...], helpers: ExitStack) -> None:
    if not shares:
        return
    log = helpers.enter_context(open(rundir.path / "virtiofsd.log", "ab"))
    for share in shares:
        process = virtiofs.start_virtiofsd(tools.virtiofsd, share.source, share.listener, read_only=share.read_only,
                                           cwd=rundir.path, log=log)
        helpers.callback(virtiofs.stop_virtiofsd, process)


def _spawn_qemu(tools: HostTools, rundir: RunDirectory, config: qemu.VmConfig, fds) -> subprocess.Popen:
    """QEMU, started and its pid recorded; ``fds``: stdin, stdout and stderr for the guest, and the initrd's."""
    argv = qemu.qemu_argv(tools.qemu, config)
    stdin_fd, stdout_fd, stderr_fd, initrd_fd = fds
    if config.terminal:
        _keep_newlines(stdin_fd)
        process = spawn(argv, cwd=rundir.path, stdin=stdin_fd, stdout=stdout_fd, stderr=subprocess.PIPE, pass_fds=(initrd_fd,),
                        own_process_group=False)
    else:
        stdin = stdin_fd if config.interactive else subprocess.DEVNULL
        process = spawn(argv, cwd=rundir.path, stdin=stdin, stderr=subprocess.PIPE, pass_fds=fds)
    rundir.record_pid(process.pid)
    return process


def _append_file(target_fd: int, path: Path) -> None:
    """Copy ``path`` to ``target_fd``'s position in the kernel (sendfile): the few MB of a run's initrd
    cost 2-3 ms this way, 4-16 ms through Python buffers (one new 1 MB buffer per read)."""
    with path.open("rb") as source:
        offset, size = 0, os.fstat(source.fileno()).st_size
        while offset < size:
            sent = os.sendfile(target_fd, source.fileno(), offset, size - offset)
            if sent == 0:  # the file shrank under us: the kernel would unpack a truncated archive
                raise ContainerSetupError(f"{path} changed while the initrd was put together")
            offset += sent


def _stdio_fds(stdin, stdout, stderr, terminal: bool, helpers: ExitStack) -> tuple[tuple[int, int, int], tuple[OutputRelay, ...]]:
    """Descriptors above 2 for the container's stdio (QEMU's own 0-2 are not its guest's stdio),
    and the relays (see ``relay``) that stdout and stderr go through; a terminal (``-t``) goes to QEMU as it is."""
    stdin_fd = _duplicate(_fd(stdin, 0), helpers)
    if terminal:
        return (stdin_fd, _duplicate(_fd(stdout, 1), helpers), _duplicate(_fd(stderr, 2), helpers)), ()
    # each relay writes through a copy of its own of the caller's descriptor
    relays = (start_output_relay(_fd(stdout, 1), helpers), start_output_relay(_fd(stderr, 2), helpers))
    return (stdin_fd, relays[0].write_end, relays[1].write_end), relays


def _duplicate(fd: int, helpers: ExitStack) -> int:
    duplicate = os.dup(fd)
    helpers.callback(os.close, duplicate)
    return duplicate


def _fd(stream, default: int) -> int:
    if stream is None:
        return default
    if isinstance(stream, int):
        return stream
    if hasattr(stream, "flush"):  # QEMU writes to the fd directly: whatever Python buffered goes first
        stream.flush()
    return stream.fileno()


def _exit_code(rundir: RunDirectory, status: str, qemu_status: int, qemu_errors: str) -> int:
    """The reported ``status`` (``exit N [sent STDOUT STDERR]`` or ``error MESSAGE``); without one, why the VM ended."""
    if status.startswith("exit "):
        return int(status.split()[1])
    if status.startswith("error "):
        raise ContainerSetupError(status.removeprefix("error "))
    if qemu_status in (-signals.SIGKILL, -signals.SIGTERM):
        return KILLED_EXIT_CODE
    detail = _first_line(qemu_errors) or rundir.console_tail() or f"QEMU exited with status {qemu_status}"
    raise ContainerSetupError(f"the microVM ended without reporting an exit status: {detail}")


def _wait_for_vm_end(process: subprocess.Popen, status: StatusPipe, relays: tuple[OutputRelay, ...], timeout: float | None) -> bytes | None:
    """QEMU's stderr once it has exited; raises TimeoutExpired after ``timeout`` seconds.

    Waits on QEMU's stderr and the status pipe at once, so the report is
    seen as it arrives. QEMU is killed (and the reported status stands) once
    ``_may_end_vm``, which is looked at again every ``STATUS_POLL_SECONDS``
    after the report; after a report with output counts the result is None,
    at once: the relays have all the guest sent, and QEMU's teardown is left
    to ``end_in_background``.
    """
    deadline = math.inf if timeout is None else time.monotonic() + timeout
    errors, reported_at, counts = [], None, None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise subprocess.TimeoutExpired(process.args, timeout)
        wait = remaining if reported_at is None else min(STATUS_POLL_SECONDS, remaining)
        ready, _, _ = select.select([process.stderr, status.fd], [], [], None if wait == math.inf else wait)
        if process.stderr in ready and not _took_errors(process, errors):
            process.wait()  # its stderr ended with it
            process.stderr.close()
            return b"".join(errors)
        if reported_at is None:
            if status.fd not in ready or not status.take():
                continue
            reported_at, counts = time.monotonic(), _sent_counts(status.report, len(relays))
        if _may_end_vm(counts, relays, reported_at):
            process.kill()
            if counts is not None:
                return None
            # a guest stuck in its shutdown: its stderr ends at the next turn


def _took_errors(process: subprocess.Popen, errors: list[bytes]) -> bool:
    """Read what QEMU wrote on its stderr into ``errors``; False at its end (QEMU has exited)."""
    chunk = os.read(process.stderr.fileno(), 65536)
    errors.append(chunk)
    return bool(chunk)


def _may_end_vm(counts: list[int] | None, relays: tuple[OutputRelay, ...], reported_at: float) -> bool:
    """Whether QEMU can go without taking output with it.

    A report with the bytes each output port sent (``exit N sent STDOUT
    STDERR``, ``counts``) comes from a guest that waits to be ended: it may be
    once the relays have taken as many. A guest that reported without counts
    powers off by itself; one that has not within ``POWER_OFF_GRACE_SECONDS``
    is stuck in its kernel's shutdown (seen under TCG on a loaded host).
    """
    if counts is None:
        return time.monotonic() - reported_at > POWER_OFF_GRACE_SECONDS
    return all(relay.has_taken(count, POWER_OFF_GRACE_SECONDS) for relay, count in zip(relays, counts))


def _sent_counts(status: str, ports: int) -> list[int] | None:
    """The byte counts of ``exit N sent COUNT...``, one per output port; None if the report has none."""
    words = status.split()
    if ports == 0 or len(words) != 3 + ports or words[2] != "sent" or not all(word.isdigit() for word in words[3:]):
        return None
    return [int(word) for word in words[3:]]


def _keep_newlines(terminal_fd: int) -> None:
    """The guest's own tty already turns "\\n" into "\\r\\n": the host's end must pass bytes as they are.

    QEMU's stdio chardev switches output processing on, and a new pty
    translates newlines by default, which would make every line end "\\r\\r\\n".
    """
    if os.isatty(terminal_fd):
        attributes = termios.tcgetattr(terminal_fd)
        attributes[1] &= ~termios.ONLCR  # the output flags
        termios.tcsetattr(terminal_fd, termios.TCSANOW, attributes)


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _kill_pid(pid: int) -> None:
    try:
        os.kill(pid, signals.SIGKILL)
    except ProcessLookupError:
        pass


def _wait_for_exit(pid: int, timeout: float) -> bool:
    """Wait until ``pid`` (not our child) has exited; False after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False
