"""KvmBackend decisions that need no VM: preconditions, sizing, the kernel command line, refusals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from contextlib import ExitStack

import pytest

from dockpy.errors import InvalidInputError, PrerequisiteError
from dockpy.root import StorageRoot
from dockpy.runtime.kvm import backend as kvm_backend
from dockpy.runtime.kvm.acceleration import Acceleration
from dockpy.runtime.kvm.backend import KvmBackend, guest_memory_mib, guest_vcpus, kernel_cmdline
from dockpy.runtime.kvm.children import find_program
from dockpy.runtime.kvm.relay import start_output_relay
from dockpy.runtime.kvm.rundir import SIGNAL_FIFO, STATUS_FILE, RunDirectory
from dockpy.runtime.spec import ContainerSpec, Process, Resources, RootFilesystem, VolumeMount


def _spec(tmp_path, **fields) -> ContainerSpec:
    return ContainerSpec(
        id="c1",
        rootfs=RootFilesystem(layers=(str(tmp_path),), upperdir=str(tmp_path / "upper"), workdir=str(tmp_path / "work")),
        process=Process(args=("true",)),
        hostname="h",
        **fields,
    )


def test_missing_qemu_is_reported_with_its_package(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(PrerequisiteError, match="install qemu-system-x86") as raised:
        KvmBackend(StorageRoot(tmp_path)).check()
    assert raised.value.exit_code == 125


def test_missing_kernel_is_reported_before_anything_runs(tmp_path, monkeypatch):
    if find_program("qemu-system-x86_64") is None:
        pytest.skip("qemu-system-x86 is not installed: the QEMU error comes first")
    monkeypatch.setenv("DOCKPY_KERNEL", str(tmp_path / "no-kernel"))
    with pytest.raises(PrerequisiteError, match="no such kernel file"):
        KvmBackend(StorageRoot(tmp_path)).run(_spec(tmp_path))


def test_memory_defaults_and_has_a_floor(tmp_path):
    assert guest_memory_mib(_spec(tmp_path)) == kvm_backend.DEFAULT_MEMORY_MIB
    assert guest_memory_mib(_spec(tmp_path, resources=Resources(memory_bytes=6 << 20))) == kvm_backend.MINIMUM_MEMORY_MIB
    assert guest_memory_mib(_spec(tmp_path, resources=Resources(memory_bytes=(1 << 30) + 1))) == 1025


def test_fractional_cpus_round_up_to_whole_vcpus_within_the_host(tmp_path):
    assert guest_vcpus(_spec(tmp_path)) == 1
    assert guest_vcpus(_spec(tmp_path, resources=Resources(cpus=0.5))) == 1
    assert guest_vcpus(_spec(tmp_path, resources=Resources(cpus=1000))) == os.cpu_count()


def test_tcg_boots_are_told_the_tsc_rate():
    assert "tsc_early_khz=2445406" in kernel_cmdline(Acceleration("tcg", "no kvm"), 2445406)
    assert "tsc_early_khz" not in kernel_cmdline(Acceleration("kvm"), 2445406)


def test_speculation_mitigations_are_off_only_under_emulation():
    assert "mitigations=off" in kernel_cmdline(Acceleration("tcg", "no kvm"), None).split()
    assert "mitigations=off" not in kernel_cmdline(Acceleration("kvm"), None).split()


def test_allocation_zeroing_is_off_only_under_emulation():
    assert "init_on_alloc=0" in kernel_cmdline(Acceleration("tcg", "no kvm"), None).split()
    assert "init_on_alloc=0" not in kernel_cmdline(Acceleration("kvm"), None).split()


def test_trace_adds_the_init_milestones_flag():
    assert "dockpy.trace" in kernel_cmdline(Acceleration("kvm"), None, trace=True)
    assert "dockpy.trace" not in kernel_cmdline(Acceleration("kvm"), None)


def test_host_network_is_refused(tmp_path):
    with pytest.raises(InvalidInputError, match="--network host is not available with --isolation kvm"):
        kvm_backend._validate(_spec(tmp_path, network="host"))


def test_file_volumes_are_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(InvalidInputError, match="directories only"):
        kvm_backend._validate(_spec(tmp_path, volumes=(VolumeMount(str(tmp_path / "file"), "/f"),)))


def test_too_many_layers_are_refused(tmp_path):
    spec = _spec(tmp_path)
    layered = spec._replace(rootfs=spec.rootfs._replace(layers=(str(tmp_path),) * 30))
    with pytest.raises(InvalidInputError, match="at most"):
        kvm_backend._validate(layered)


def test_stop_and_signal_of_a_container_without_a_vm_do_nothing(tmp_path):
    kvm = KvmBackend(StorageRoot(tmp_path))
    assert kvm.run_directory("absent").running_pid() is None
    kvm.stop("absent", timeout=0)
    kvm.signal("absent", signal.SIGTERM)


def test_signal_to_a_vm_that_is_gone_reports_false(tmp_path):
    rundir = RunDirectory(tmp_path / "run").create()
    assert rundir.send_signal(signal.SIGTERM) is False


@pytest.mark.parametrize("signum, line", [(signal.SIGTERM, b"TERM\n"), (signal.SIGRTMIN + 3, b"%d\n" % (signal.SIGRTMIN + 3))])
def test_a_signal_goes_to_the_guest_by_name_or_a_realtime_one_by_number(tmp_path, signum, line):
    """The guest's ``kill -s`` (busybox) takes either; Python names no real-time signal (``STOPSIGNAL SIGRTMIN+3``)."""
    rundir = RunDirectory(tmp_path / "run").create()
    guest = os.open(rundir.path / SIGNAL_FIFO, os.O_RDONLY | os.O_NONBLOCK)
    try:
        assert rundir.send_signal(signum) is True
        assert os.read(guest, 64) == line
    finally:
        os.close(guest)


def test_recorded_pid_of_another_process_is_not_taken_for_the_vm(tmp_path):
    rundir = RunDirectory(tmp_path / "run").create()
    rundir.record_pid(os.getpid())  # our cwd is not the run directory
    assert rundir.running_pid() is None


@pytest.fixture
def hanging_vm(tmp_path, monkeypatch):
    """A stand-in for a QEMU whose guest never powers off, with its run directory, our end of the status pipe
    and fast polling."""
    monkeypatch.setattr(kvm_backend, "STATUS_POLL_SECONDS", 0.01)
    monkeypatch.setattr(kvm_backend, "POWER_OFF_GRACE_SECONDS", 0.05)
    rundir = RunDirectory(tmp_path / "run").create()
    status = rundir.open_status()
    process = subprocess.Popen(["sleep", "600"], stderr=subprocess.PIPE)
    yield process, rundir, status
    process.kill()
    process.wait()
    status.close()


def _report(rundir: RunDirectory, text: str) -> None:
    """Write into the status pipe as QEMU does for the guest."""
    fd = os.open(rundir.path / STATUS_FILE, os.O_WRONLY | os.O_NONBLOCK)
    os.write(fd, text.encode())
    os.close(fd)


def test_a_guest_that_reported_its_status_but_does_not_power_off_is_killed(hanging_vm):
    process, rundir, status = hanging_vm
    _report(rundir, "exit 3\n")
    assert kvm_backend._wait_for_vm_end(process, status, (), timeout=None) == b""
    assert process.returncode == -signal.SIGKILL
    assert kvm_backend._exit_code(rundir, status.take(), process.returncode, "") == 3  # the reported status stands


def test_a_guest_that_has_not_reported_is_waited_for_until_the_timeout(hanging_vm):
    process, rundir, status = hanging_vm
    with pytest.raises(subprocess.TimeoutExpired):
        kvm_backend._wait_for_vm_end(process, status, (), timeout=0.2)
    assert process.poll() is None


def test_a_report_written_just_before_qemu_exits_is_read(tmp_path):
    rundir = RunDirectory(tmp_path / "run").create()
    status = rundir.open_status()
    try:
        process = subprocess.Popen(["sh", "-c", f"echo 'exit 4' > {STATUS_FILE}; echo gone >&2"], cwd=rundir.path,
                                   stderr=subprocess.PIPE)
        assert kvm_backend._wait_for_vm_end(process, status, (), timeout=60) == b"gone\n"
        assert kvm_backend._exit_code(rundir, status.take(), process.returncode, "") == 4
    finally:
        status.close()


def _relays_that_took(helpers: ExitStack, *counts: int):
    """Relays into /dev/null that have taken ``counts`` bytes each and wait for more."""
    relays = []
    for count in counts:
        relay = start_output_relay(helpers.enter_context(open(os.devnull, "wb")).fileno(), helpers)
        os.write(relay.write_end, b"x" * count)
        relays.append(relay)
    return tuple(relays)


def test_a_guest_that_reported_its_counts_is_ended_once_the_relays_have_taken_them(hanging_vm, monkeypatch):
    process, rundir, status = hanging_vm
    monkeypatch.setattr(kvm_backend, "POWER_OFF_GRACE_SECONDS", 60)
    _report(rundir, "exit 3 sent 5 2\n")
    with ExitStack() as helpers:
        relays = _relays_that_took(helpers, 5, 2)
        assert kvm_backend._wait_for_vm_end(process, status, relays, timeout=None) is None  # at once: QEMU is not waited for
        for relay in relays:
            relay.finish()
    assert process.wait() == -signal.SIGKILL
    assert kvm_backend._exit_code(rundir, status.take(), None, "") == 3


def test_a_guest_is_not_ended_while_output_it_reported_is_still_in_qemu(hanging_vm, monkeypatch):
    process, rundir, status = hanging_vm
    monkeypatch.setattr(kvm_backend, "POWER_OFF_GRACE_SECONDS", 60)
    _report(rundir, "exit 3 sent 5 3\n")
    with ExitStack() as helpers:
        relays = _relays_that_took(helpers, 5, 2)
        with pytest.raises(subprocess.TimeoutExpired):
            kvm_backend._wait_for_vm_end(process, status, relays, timeout=0.2)
    assert process.poll() is None


def test_a_report_still_being_written_is_not_read(hanging_vm):
    _, rundir, status = hanging_vm
    _report(rundir, "exit 3 sent 5 2")
    assert status.take() == ""
    _report(rundir, "\n")
    assert status.take() == "exit 3 sent 5 2"


def test_the_modules_of_a_kvm_run_do_not_import_the_namespace_backend():
    """Its cgroups, execution and privileges modules cost every ``dockpy run --isolation kvm`` ~20 ms."""
    code = (
        "import sys\n"
        "import dockpy.runtime.lifecycle, dockpy.runtime.monitor, dockpy.runtime.kvm.backend\n"
        "print(sorted(name for name in sys.modules if name.startswith('dockpy.runtime.namespace.')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout == "[]\n"


def test_a_start_whose_before_placing_fails_kills_the_vm_it_started(tmp_path, monkeypatch):
    """``Runtime.run`` commits the record in ``before_placing``; a name taken meanwhile must not leave a VM running."""
    from dockpy.errors import ConflictError
    from dockpy.runtime.stdio import Stdio

    class StartedVm:
        signals, waited = [], []

        def send_signal(self, signum):
            self.signals.append(signum)

        def wait(self):
            self.waited.append(True)
            return 137

    vm = StartedVm()
    monkeypatch.setattr(kvm_backend, "start_vm", lambda backend, spec, fds: vm)

    def name_taken():
        raise ConflictError("the container name is already in use")

    backend = KvmBackend(StorageRoot(tmp_path / "root"))
    with pytest.raises(ConflictError):
        backend.start(_spec(tmp_path), Stdio(), before_placing=name_taken)
    assert vm.signals == [signal.SIGKILL] and vm.waited == [True]
