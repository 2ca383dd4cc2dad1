"""The QEMU command line for one microVM, built from plain data (``VmConfig``).

Machine: ``microvm`` (no PCI, no firmware beyond qboot, virtio-mmio devices
enumerated through its ACPI tables, which Debian's kernels need because their
virtio_mmio is a module without command-line device support). ``-nodefaults
-no-user-config -nographic``: no device or config file we did not ask for.

Devices, all virtio-mmio:

- one read-only ``virtio-blk-device`` per image layer (an EROFS image), found
  by the guest through its serial ``dockpy-layerN`` rather than by probe order;
- one ``vhost-user-fs-device`` per virtiofs share (the container's writable
  dir, then each volume); vhost-user needs guest RAM in a shared memfd;
- a ``virtio-serial-device`` with named ports: ``dockpy.stdout`` and
  ``dockpy.stderr`` (binary-safe, separate, written by QEMU into the pipes
  of dockpy's relays, ``relay.py``), ``dockpy.stdin`` for ``-i``, and
  ``dockpy.control``, both ways: the guest's exit status out into a file
  (``control.out``), the signal names dockpy writes into a FIFO
  (``control.in``) in (one port, not two: the guest's virtio_console sets up
  each port under TCG at a cost of ~5-15 ms); for ``-t`` a ``virtconsole`` on
  QEMU's stdio instead of the three stdio ports (the guest sees a real tty, /dev/hvc0);
- the 16550 serial port as the kernel console, into ``console.log`` (kept for
  error messages when a guest fails before it can report).

``-global virtio-mmio.force-legacy=false``: microvm's virtio-mmio defaults to
the legacy interface, which vhost-user (virtiofsd) refuses.
"""

from __future__ import annotations

from collections import namedtuple
from pathlib import Path

from dockpy.errors import PrerequisiteError
from dockpy.runtime.kvm.children import find_program
from dockpy.runtime.kvm.rundir import CONSOLE_LOG, CONTROL

QEMU_BINARY = "qemu-system-x86_64"
QEMU_PACKAGE = "qemu-system-x86"
# microvm has 24 virtio-mmio transports with its second IOAPIC; the serial
# ports, the writable dir and each layer disk and volume take one each.
MAX_VIRTIO_DEVICES = 24
# At most this many layer disks: the serial ports and the writable dir take two transports.
MAX_LAYER_DISKS = MAX_VIRTIO_DEVICES - 2


def find_qemu() -> Path:
    path = find_program(QEMU_BINARY)
    if path is None:
        raise PrerequisiteError(f"{QEMU_BINARY} not found: install {QEMU_PACKAGE}")
    return Path(path)


# The records of this package are namedtuples, not frozen dataclasses: every
# ``dockpy run --isolation kvm`` imports them before QEMU starts, and
# ``dataclasses`` (with ``inspect``) would add ~10 ms to that path.
class Share(namedtuple("Share", "tag socket")):
    """A virtiofs share: the guest mounts ``tag`` (str); virtiofsd listens on ``socket`` (str)."""

    __slots__ = ()


class VmConfig(namedtuple(
    "VmConfig",
    "kernel initrd cmdline accelerator memory_mib vcpus disks shares stdout stderr interactive terminal control console_log",
    defaults=("tcg", 256, 1, (), (), "/dev/null", "/dev/null", False, False, CONTROL, CONSOLE_LOG),
)):
    """Everything that varies between microVMs. Paths may be relative to QEMU's working directory.

    ``kernel``, ``initrd``: paths (Path or str); ``cmdline``, ``accelerator`` (kvm or tcg): str; ``memory_mib``,
    ``vcpus``: int; ``disks``: tuple of Path; ``shares``: tuple of Share; ``stdout``, ``stderr``:
    paths QEMU opens; ``interactive``, ``terminal``: bool; ``control`` (the control port's
    ``.in`` FIFO and ``.out`` file, which must exist), ``console_log``: names in QEMU's working directory.
    """

    __slots__ = ()


def qemu_argv(qemu: Path, config: VmConfig) -> list[str]:
    argv = [str(qemu), *_machine(config), *_boot(config)]
    argv += _disks(config.disks)
    argv += _shares(config.shares)
    argv += _ports(config)
    return argv


def _machine(config: VmConfig) -> list[str]:
    memory = f"{config.memory_mib}M"
    cpu = ["-cpu", "host"] if config.accelerator == "kvm" else ["-cpu", "max"]
    return [
        "-M", "microvm,memory-backend=mem",
        "-object", f"memory-backend-memfd,id=mem,size={memory},share=on",
        "-m", memory,
        "-smp", str(config.vcpus),
        "-accel", config.accelerator,
        *cpu,
        "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
        "-global", "virtio-mmio.force-legacy=false",
        "-serial", f"file:{config.console_log}",
    ]  # fmt: skip


def _boot(config: VmConfig) -> list[str]:
    return ["-kernel", str(config.kernel), "-initrd", str(config.initrd), "-append", config.cmdline]


def _disks(disks: tuple[Path, ...]) -> list[str]:
    argv = []
    for index, image in enumerate(disks):
        argv += ["-drive", f"id=layer{index},file={_escape(str(image))},format=raw,if=none,readonly=on"]
        argv += ["-device", f"virtio-blk-device,drive=layer{index},serial=dockpy-layer{index}"]
    return argv


def _shares(shares: tuple[Share, ...]) -> list[str]:
    argv = []
    for index, share in enumerate(shares):
        argv += ["-chardev", f"socket,id=fs{index},path={_escape(share.socket)}"]
        argv += ["-device", f"vhost-user-fs-device,chardev=fs{index},tag={share.tag}"]
    return argv


def _ports(config: VmConfig) -> list[str]:
    """The serial device sized to its ports: the guest's virtio_console sets up
    two virtqueues for every port the device could have (31 by default, 64
    queues), which under TCG is a good part of its load time."""
    ports = _port("control", "pipe", f"path={_escape(config.control)}")
    if config.terminal:
        ports += ["-chardev", "stdio,id=console,signal=off", "-device", "virtconsole,chardev=console"]
    else:
        ports += _port("stdout", "file", f"path={_escape(config.stdout)},append=on")
        ports += _port("stderr", "file", f"path={_escape(config.stderr)},append=on")
        if config.interactive:
            ports += _port("stdin", "stdio", "signal=off")
    # Port 0 is a console's (kept free without one); named ports take 1, 2, ...
    named = sum(1 for word in ports if word.startswith("virtserialport,"))
    return ["-device", f"virtio-serial-device,max_ports={named + 1}", *ports]


def _port(name: str, backend: str, options: str) -> list[str]:
    """A named virtio-serial port: the guest finds it as /sys/class/virtio-ports/*/name == dockpy.<name>."""
    return ["-chardev", f"{backend},id={name},{options}", "-device", f"virtserialport,chardev={name},name=dockpy.{name}"]


def _escape(value: str) -> str:
    # QEMU option values end at a comma; a literal comma is written twice.
    return value.replace(",", ",,")
