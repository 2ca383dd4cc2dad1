"""Choosing KVM or TCG: a real probe, run once per host identity."""

from __future__ import annotations

from dockpy.runtime.kvm import acceleration


def test_unopenable_kvm_device_means_tcg_without_probing(tmp_path, monkeypatch):
    monkeypatch.setattr(acceleration, "KVM_DEVICE", str(tmp_path / "kvm"))
    probes = []
    choice = acceleration.choose_acceleration(tmp_path / "cache.json", "host", lambda: probes.append(1))
    assert choice.accelerator == "tcg" and "kvm" in choice.reason
    assert probes == []


def test_failed_probe_falls_back_to_tcg_with_its_reason(tmp_path, monkeypatch):
    monkeypatch.setattr(acceleration, "kvm_device_error", lambda: None)
    choice = acceleration.choose_acceleration(tmp_path / "cache.json", "host", lambda: "failed to set MSR 0x10a")
    assert choice == acceleration.Acceleration("tcg", "failed to set MSR 0x10a")
    assert choice.is_emulated


def test_successful_probe_chooses_kvm(tmp_path, monkeypatch):
    monkeypatch.setattr(acceleration, "kvm_device_error", lambda: None)
    assert acceleration.choose_acceleration(tmp_path / "cache.json", "host", lambda: None).accelerator == "kvm"


def test_verdict_is_cached_per_host_identity(tmp_path, monkeypatch):
    monkeypatch.setattr(acceleration, "kvm_device_error", lambda: None)
    probes = []

    def probe():
        probes.append(1)
        return None

    for identity in ("host-a", "host-a", "host-b"):
        acceleration.choose_acceleration(tmp_path / "cache.json", identity, probe)
    assert len(probes) == 2


def test_identity_changes_with_the_guest_kernel(tmp_path):
    qemu = tmp_path / "qemu"
    qemu.write_bytes(b"binary")
    assert acceleration.host_identity(qemu, "kernel-1") != acceleration.host_identity(qemu, "kernel-2")
