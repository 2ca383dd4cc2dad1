"""``Runtime.run`` (lifecycle.py) of a microVM: the VM starts before the container's record is committed.

A stand-in for ``KvmBackend`` records what the store held when the VM
started and while it ran, so these run in milliseconds; the real microVM
path is covered by ``tests/runtime/kvm/test_cli.py``.
"""

import os
import signal

import pytest

from dockpy.errors import ConflictError, ContainerSetupError
from dockpy.runtime import lifecycle
from dockpy.runtime.config import RunOptions
from dockpy.runtime.containers import EXITED, RUNNING
from dockpy.runtime.images import rootfs_image


class StandInVm:
    """A started VM: its pid is this test process's own (a live pid, as the record needs)."""

    def __init__(self, on_wait):
        self.pid = os.getpid()
        self.signals = []
        self._on_wait = on_wait

    def wait(self) -> int:
        return self._on_wait()

    def send_signal(self, signum: int) -> None:
        self.signals.append(signum)


class StandInKvmBackend:
    """``start`` notes the store's records then (and raises ``start_error`` if set), then calls
    ``before_placing`` as ``KvmBackend.start`` does (killing the VM if it raises); ``wait`` of the VM notes
    the records again and returns 3."""

    name = "kvm"

    def __init__(self, runtime_of):
        self._runtime_of = runtime_of
        self.start_error = None
        self.at_start = self.while_running = self.vm = None

    def check(self):
        return None

    def validate(self, spec):
        pass

    def start(self, spec, stdio, before_placing=None):
        self.at_start = self._records()
        if self.start_error is not None:
            raise self.start_error
        self.vm = StandInVm(self._note_while_running)
        try:
            before_placing()
        except BaseException:
            self.vm.send_signal(signal.SIGKILL)
            raise
        return self.vm

    def _note_while_running(self) -> int:
        self.while_running = self._records()
        return 3

    def _records(self):
        return {record.name: record for record in self._runtime_of().store.list()}


@pytest.fixture
def vm_runtime(storage_root, tmp_path, monkeypatch):
    """(runtime, stand-in backend, image): a Runtime whose kvm containers run on the stand-in."""
    runtime = lifecycle.Runtime(storage_root)
    backend = StandInKvmBackend(lambda: runtime)
    monkeypatch.setattr("dockpy.runtime.kvm.backend.KvmBackend", lambda root: backend)
    (tmp_path / "rootfs").mkdir()
    return runtime, backend, rootfs_image(str(tmp_path / "rootfs"))


OPTIONS = RunOptions(command=("true",), isolation="kvm")


def test_the_record_is_committed_after_the_vm_starts_and_is_running_while_it_runs(vm_runtime):
    runtime, backend, image = vm_runtime
    assert runtime.run(image, OPTIONS, name="vm") == 3
    assert backend.at_start == {}
    record = backend.while_running["vm"]
    assert (record.state, record.pid, record.monitor_pid) == (RUNNING, os.getpid(), os.getpid())
    assert runtime.store.get("vm").state == EXITED and runtime.store.get("vm").exit_code == 3


def test_the_vms_directory_exists_before_it_starts_without_host_etc_files(vm_runtime):
    """The guest's /init writes its own /etc/hosts and /etc/hostname: the host's copies would go unused."""
    runtime, backend, image = vm_runtime
    seen = []
    start = backend.start
    backend.start = lambda spec, stdio, **hooks: seen.append(sorted(os.listdir(os.path.dirname(spec.rootfs.upperdir)))) or start(spec, stdio, **hooks)
    runtime.run(image, OPTIONS, name="vm")
    assert seen == [["config.json", "merged", "upper", "work"]]


def test_a_name_in_use_is_refused_before_any_vm_starts(vm_runtime):
    runtime, backend, image = vm_runtime
    runtime.run(image, OPTIONS, name="taken")
    backend.at_start = None
    with pytest.raises(ConflictError):
        runtime.run(image, OPTIONS, name="taken")
    assert backend.at_start is None


def test_a_name_taken_while_the_vm_starts_kills_it_and_leaves_nothing(vm_runtime, storage_root):
    runtime, backend, image = vm_runtime
    start = backend.start

    def start_while_another_takes_the_name(spec, stdio, **hooks):
        lifecycle.Runtime(storage_root).create(image, RunOptions(command=("true",)), name="raced")
        return start(spec, stdio, **hooks)

    backend.start = start_while_another_takes_the_name
    with pytest.raises(ConflictError):
        runtime.run(image, OPTIONS, name="raced")
    assert backend.vm.signals == [signal.SIGKILL]
    assert len(runtime.store.list()) == 1
    assert len(os.listdir(storage_root.containers)) == 1  # the other container's


@pytest.mark.parametrize("auto_remove", [False, True])
def test_a_vm_that_cannot_start_leaves_nothing_as_a_container_that_cannot(vm_runtime, storage_root, auto_remove):
    runtime, backend, image = vm_runtime
    backend.start_error = ContainerSetupError("no room")
    with pytest.raises(ContainerSetupError):
        runtime.run(image, OPTIONS, name="failed", auto_remove=auto_remove)
    assert runtime.store.list() == [] and os.listdir(storage_root.containers) == []
