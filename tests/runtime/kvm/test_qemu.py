"""The QEMU command line built from a VmConfig."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockpy.errors import PrerequisiteError
from dockpy.runtime.kvm import qemu

QEMU = Path("/usr/bin/qemu-system-x86_64")


def _argv(**fields) -> list[str]:
    return qemu.qemu_argv(QEMU, qemu.VmConfig(kernel=Path("vmlinux"), initrd=Path("initrd"), cmdline="quiet", **fields))


def _option_values(argv: list[str], option: str) -> list[str]:
    return [argv[index + 1] for index, word in enumerate(argv) if word == option]


def test_machine_is_a_microvm_without_defaults():
    argv = _argv()
    assert argv[0] == str(QEMU)
    assert "microvm" in _option_values(argv, "-M")[0]
    assert {"-nodefaults", "-no-user-config", "-nographic", "-no-reboot"} <= set(argv)
    assert "virtio-mmio.force-legacy=false" in _option_values(argv, "-global")


def test_memory_and_vcpus_come_from_the_config():
    argv = _argv(memory_mib=512, vcpus=2)
    assert _option_values(argv, "-m") == ["512M"]
    assert _option_values(argv, "-smp") == ["2"]
    assert "size=512M,share=on" in _option_values(argv, "-object")[0]


def test_kvm_uses_the_host_cpu_and_tcg_the_richest_emulated_one():
    assert _option_values(_argv(accelerator="kvm"), "-cpu") == ["host"]
    assert _option_values(_argv(accelerator="tcg"), "-cpu") == ["max"]


def test_each_layer_is_a_read_only_disk_with_a_serial():
    argv = _argv(disks=(Path("/a/top.erofs"), Path("/a/base,odd.erofs")))
    drives = _option_values(argv, "-drive")
    assert all("readonly=on" in drive for drive in drives)
    assert "file=/a/base,,odd.erofs" in drives[1]
    assert "serial=dockpy-layer1" in _option_values(argv, "-device")[1]


def test_stdout_and_stderr_are_separate_ports_appending_to_their_files():
    argv = _argv(stdout="/proc/self/fd/5", stderr="/proc/self/fd/6")
    chardevs = _option_values(argv, "-chardev")
    assert "file,id=stdout,path=/proc/self/fd/5,append=on" in chardevs
    assert "file,id=stderr,path=/proc/self/fd/6,append=on" in chardevs
    assert "virtserialport,chardev=stdout,name=dockpy.stdout" in _option_values(argv, "-device")


def test_stdin_port_exists_only_when_interactive():
    assert not any("id=stdin" in value for value in _option_values(_argv(), "-chardev"))
    assert "stdio,id=stdin,signal=off" in _option_values(_argv(interactive=True), "-chardev")


def test_terminal_replaces_the_stdio_ports_with_a_console():
    argv = _argv(terminal=True)
    assert "virtconsole,chardev=console" in _option_values(argv, "-device")
    assert not any("name=dockpy.stdout" in value for value in _option_values(argv, "-device"))


def test_status_and_signals_share_one_control_port_both_ways():
    argv = _argv(control="run/control")
    assert "pipe,id=control,path=run/control" in _option_values(argv, "-chardev")  # reads run/control.in, writes run/control.out
    assert "virtserialport,chardev=control,name=dockpy.control" in _option_values(argv, "-device")


@pytest.mark.parametrize(("fields", "max_ports"), [({}, 4), ({"interactive": True}, 5), ({"terminal": True}, 2)])
def test_the_serial_device_has_room_for_its_ports_and_no_more(fields, max_ports):
    devices = _option_values(_argv(**fields), "-device")
    assert f"virtio-serial-device,max_ports={max_ports}" in devices
    named_ports = sum(device.startswith("virtserialport,") for device in devices)
    assert named_ports == max_ports - 1  # port 0 is a console's, used or not


def test_shares_become_vhost_user_fs_devices():
    argv = _argv(shares=(qemu.Share("dockpy.rw", "x.fs0.sock"),))
    assert "socket,id=fs0,path=x.fs0.sock" in _option_values(argv, "-chardev")
    assert "vhost-user-fs-device,chardev=fs0,tag=dockpy.rw" in _option_values(argv, "-device")


def test_missing_qemu_names_the_package(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(PrerequisiteError, match="install qemu-system-x86"):
        qemu.find_qemu()
