"""``VmProcess``: a microVM run in a thread of the owner, with its failures reported to the caller (no VM boots here)."""

import errno
import os

import pytest

from dockpy.errors import ContainerSetupError
from dockpy.runtime.kvm.vm_process import start_vm
from dockpy.runtime.spec import ContainerSpec, Process, RootFilesystem


class FailingBackend:
    """``run`` fails as a full disk makes it fail, before QEMU runs or after (``started``)."""

    def __init__(self, started: bool):
        self._started = started

    def run(self, spec, *, stdin, stdout, stderr, on_start):
        if self._started:
            on_start(os.getpid())
        raise OSError(errno.ENOSPC, "No space left on device")


def _spec() -> ContainerSpec:
    return ContainerSpec(id="f" * 64, rootfs=RootFilesystem(layers=(), upperdir="", workdir=""),
                         process=Process(args=("true",)), hostname="vm")


def test_an_unforeseen_failure_before_qemu_runs_is_raised_by_the_start():
    with pytest.raises(ContainerSetupError, match="OSError: .*No space left on device"):
        start_vm(FailingBackend(started=False), _spec(), (0, 1, 2))


def test_an_unforeseen_failure_after_the_start_is_one_line_and_exit_125(tmp_path):
    with open(tmp_path / "stderr", "wb") as stderr:
        vm = start_vm(FailingBackend(started=True), _spec(), (0, 1, stderr.fileno()))
        assert vm.wait() == 125
    assert (tmp_path / "stderr").read_text().startswith("dockpy: error: the microVM failed: OSError:")
