"""Whether this host can run a guest under KVM, decided by really booting one, and remembered.

An openable ``/dev/kvm`` is not proof: on hosts that expose KVM through PVM
(a Firecracker guest with ``nested_pvm``), KVM_CREATE_VM succeeds but QEMU
aborts on ``-cpu host`` (``failed to set MSR 0x10a``) or, with fewer CPU
features, runs every instruction through KVM's emulator until it fails. So
the check boots the real guest kernel and initramfs once with ``-accel kvm``
in probe mode (/init prints a marker and powers off at once) and calls KVM
usable only if the marker comes back in time. The verdict is cached in
``<root>/kvm/acceleration.json`` per host kernel, CPU, QEMU and guest kernel,
so the probe costs one boot per host configuration, not one per run.
Without KVM the runtime falls back to TCG emulation and says so once per run.
"""

from __future__ import annotations

import json
import os
from collections import namedtuple
from collections.abc import Callable
from pathlib import Path

from dockpy.runtime.kvm.cache_files import cache_key, write_atomically

KVM_DEVICE = "/dev/kvm"


class Acceleration(namedtuple("Acceleration", "accelerator reason", defaults=("",))):
    """``accelerator`` is ``kvm`` or ``tcg``; ``reason`` says why KVM is not used (empty when it is).

    A namedtuple, as the records in ``qemu.py``.
    """

    __slots__ = ()

    @property
    def is_emulated(self) -> bool:
        return self.accelerator == "tcg"


def host_identity(qemu: Path, kernel_identity: str) -> str:
    """What the verdict depends on: host kernel, CPU model, the QEMU binary and the guest kernel."""
    qemu_info = qemu.stat()
    parts = (os.uname().release, _cpu_model(), f"{qemu}:{qemu_info.st_size}:{qemu_info.st_mtime_ns}", kernel_identity)
    return cache_key("\n".join(parts))


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("model name", "flags")):
                return line
    except OSError:
        pass
    return os.uname().machine


def kvm_device_error() -> str | None:
    """Why /dev/kvm cannot be used at all, or None when it opens."""
    try:
        os.close(os.open(KVM_DEVICE, os.O_RDWR | os.O_CLOEXEC))
    except OSError as error:
        return f"{KVM_DEVICE}: {error.strerror}"
    return None


def choose_acceleration(cache_file: Path, identity: str, probe_kvm: Callable[[], str | None]) -> Acceleration:
    """KVM if a probe boot under KVM succeeds on this host (cached), else TCG with the reason.

    ``probe_kvm`` boots a trivial guest with KVM and returns None on success or
    a one-line reason for the failure.
    """
    device_error = kvm_device_error()
    if device_error is not None:
        return Acceleration("tcg", device_error)
    cache = _read_cache(cache_file)
    if identity not in cache:
        failure = probe_kvm()
        cache[identity] = (Acceleration("kvm") if failure is None else Acceleration("tcg", failure))._asdict()
        _write_cache(cache_file, cache)
    return Acceleration(**cache[identity])


def _read_cache(cache_file: Path) -> dict:
    try:
        return json.loads(cache_file.read_text())
    except (OSError, ValueError):
        return {}


def _write_cache(cache_file: Path, cache: dict) -> None:
    write_atomically(cache_file, (json.dumps(cache, indent=1, sort_keys=True) + "\n").encode())
