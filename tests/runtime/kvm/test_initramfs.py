"""The guest's base initramfs: built once, found again without rebuilding or running anything."""

from __future__ import annotations

import shutil

import pytest

from dockpy.errors import DockpyError
from dockpy.runtime.kvm import initramfs, kmodules, qemu
from dockpy.runtime.kvm.kernel import find_kernel


@pytest.fixture(scope="module")
def inputs_source():
    if shutil.which("objcopy") is None:
        pytest.skip("binutils (objcopy) is not installed")
    try:
        return find_kernel(), initramfs.find_busybox()
    except DockpyError as error:
        pytest.skip(f"no guest kernel or static busybox: {error}")


def test_a_cached_initramfs_is_found_again_without_running_a_process(inputs_source, tmp_path, monkeypatch):
    kernel, _ = inputs_source
    built = initramfs.cached_initramfs(kernel, tmp_path)
    made = built.stat().st_mtime_ns

    def no_process(*args, **kwargs):
        raise AssertionError(f"a process was started to find a cached initramfs: {args[0]}")

    monkeypatch.setattr(initramfs.subprocess, "run", no_process)
    monkeypatch.setattr(kmodules.subprocess, "run", no_process)
    assert initramfs.cached_initramfs(kernel, tmp_path) == built
    assert built.stat().st_mtime_ns == made


def test_a_cached_initramfs_is_found_by_its_files_fingerprint_without_reading_them(inputs_source, tmp_path, monkeypatch):
    kernel, _ = inputs_source
    built = initramfs.cached_initramfs(kernel, tmp_path)

    def no_reading(*args):
        raise AssertionError("the inputs were read although their files did not change")

    monkeypatch.setattr(initramfs, "gather_inputs", no_reading)
    assert initramfs.cached_initramfs(kernel, tmp_path) == built


def test_a_changed_fingerprint_makes_the_inputs_be_read_and_hashed_again(inputs_source, tmp_path, monkeypatch):
    kernel, _ = inputs_source
    built = initramfs.cached_initramfs(kernel, tmp_path)
    reads = []
    gather = initramfs.gather_inputs
    monkeypatch.setattr(initramfs, "gather_inputs", lambda *args: reads.append(args) or gather(*args))
    monkeypatch.setattr(initramfs, "inputs_fingerprint", lambda *args: "a busybox upgraded since")
    assert initramfs.cached_initramfs(kernel, tmp_path) == built  # same content: the same archive
    assert len(reads) == 1
    assert initramfs.cached_initramfs(kernel, tmp_path) == built
    assert len(reads) == 1  # the new fingerprint was remembered


def test_the_fingerprint_changes_with_the_modules_wanted(inputs_source, monkeypatch):
    kernel, busybox = inputs_source
    before = initramfs.inputs_fingerprint(kernel, busybox)
    monkeypatch.setattr(initramfs, "BOOT_MODULES", (*initramfs.BOOT_MODULES, "ext4"))
    assert initramfs.inputs_fingerprint(kernel, busybox) != before


def test_a_removed_archive_is_built_again_despite_a_matching_fingerprint(inputs_source, tmp_path):
    kernel, _ = inputs_source
    built = initramfs.cached_initramfs(kernel, tmp_path)
    built.unlink()
    assert initramfs.cached_initramfs(kernel, tmp_path) == built
    assert built.is_file()


def test_the_cache_key_changes_with_the_init_script_and_the_module_slimming(inputs_source):
    kernel, busybox = inputs_source
    inputs = initramfs.gather_inputs(kernel, busybox)
    assert inputs._replace(init_script=inputs.init_script + b"\n").digest() != inputs.digest()
    assert inputs._replace(slim_modules=not inputs.slim_modules).digest() != inputs.digest()


def test_the_archive_holds_the_slimmed_modules_and_every_busybox_applet(inputs_source):
    kernel, busybox = inputs_source
    inputs = initramfs.gather_inputs(kernel, busybox)
    archive = initramfs.build_archive(inputs)
    name, data = inputs.modules[-1]
    expected = kmodules.without_unused_sections(data) if inputs.slim_modules else data
    assert expected in archive
    assert b"bin/sh\0" in archive and b"bin/modprobe\0" in archive


def test_the_archive_names_the_modules_every_boot_loads_apart_from_the_share_ones(inputs_source):
    kernel, busybox = inputs_source
    inputs = initramfs.gather_inputs(kernel, busybox)
    archive = initramfs.build_archive(inputs)
    shares = [name for name, _ in inputs.share_modules]
    assert shares[-1] == "virtiofs" and "fuse" in shares
    assert not set(shares) & {name for name, _ in inputs.modules}
    assert "".join(f"{name}\n" for name in shares).encode() in archive


def test_the_archive_holds_a_mount_point_for_every_layer_disk(inputs_source):
    archive = initramfs.build_archive(initramfs.gather_inputs(*inputs_source))
    assert all(f"l/{index}\0".encode() in archive for index in range(qemu.MAX_LAYER_DISKS))
