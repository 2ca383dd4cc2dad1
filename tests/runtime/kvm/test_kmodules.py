"""Resolving the guest's kernel modules from modules.dep."""

from __future__ import annotations

import lzma
import re
import shutil
import subprocess

import pytest

from dockpy.errors import ContainerSetupError
from dockpy.runtime.kvm import kmodules
from dockpy.runtime.kvm.kernel import find_kernel


@pytest.fixture
def modules_dir(tmp_path):
    (tmp_path / "modules.dep").write_text(
        "kernel/fs/fuse/virtiofs.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko kernel/fs/fuse/fuse.ko\n"
        "kernel/fs/fuse/fuse.ko:\n"
        "kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko\n"
        "kernel/drivers/virtio/virtio_ring.ko:\n"
        "kernel/drivers/char/virtio-console.ko.xz: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n"
    )
    (tmp_path / "modules.builtin").write_text("kernel/fs/overlayfs/overlay.ko\n")
    return tmp_path


def test_dependencies_come_before_the_modules_needing_them(modules_dir):
    order = [kmodules.module_name(path) for path in kmodules.resolve_load_order(modules_dir, ["virtiofs"])]
    assert order.index("virtio_ring") < order.index("virtio") < order.index("virtiofs")
    assert order.index("fuse") < order.index("virtiofs")


def test_each_module_is_listed_once(modules_dir):
    order = kmodules.resolve_load_order(modules_dir, ["virtiofs", "virtio_console"])
    assert len(order) == len(set(order)) == 5


def test_a_later_group_holds_only_what_the_earlier_ones_do_not_load(modules_dir):
    boot, shares = kmodules.resolve_load_groups(modules_dir, ["virtio_console"], ["virtiofs"])
    assert [kmodules.module_name(path) for path in boot] == ["virtio_ring", "virtio", "virtio_console"]
    assert [kmodules.module_name(path) for path in shares] == ["fuse", "virtiofs"]


def test_dashes_and_underscores_name_the_same_module(modules_dir):
    assert kmodules.resolve_load_order(modules_dir, ["virtio-console"])[-1] == "kernel/drivers/char/virtio-console.ko.xz"


def test_builtin_modules_need_no_file(modules_dir):
    assert kmodules.resolve_load_order(modules_dir, ["overlay"]) == []


def test_unknown_module_is_an_error_naming_it(modules_dir):
    with pytest.raises(ContainerSetupError, match="erofs"):
        kmodules.resolve_load_order(modules_dir, ["erofs"])


def test_compressed_modules_are_decompressed(modules_dir):
    path = modules_dir / "kernel/drivers/char/virtio-console.ko.xz"
    path.parent.mkdir(parents=True)
    path.write_bytes(lzma.compress(b"\x7fELF module"))
    assert kmodules.read_module(modules_dir, "kernel/drivers/char/virtio-console.ko.xz") == b"\x7fELF module"


def _section_names(module: bytes, tmp_path) -> list[str]:
    path = tmp_path / "module.ko"
    path.write_bytes(module)
    listing = subprocess.run(["readelf", "-S", "-W", str(path)], capture_output=True, text=True, check=True).stdout
    return re.findall(r"^\s*\[\s*\d+\]\s+(\S+)", listing, re.MULTILINE)


@pytest.fixture(scope="module")
def erofs_module() -> bytes:
    if shutil.which("objcopy") is None:
        pytest.skip("binutils (objcopy, readelf) is not installed")
    try:
        kernel = find_kernel()
    except ContainerSetupError as error:
        pytest.skip(f"no guest kernel: {error}")
    path = kmodules.resolve_load_order(kernel.modules_dir, ["erofs"])[-1]
    return kmodules.read_module(kernel.modules_dir, path)


def test_slimmed_module_has_every_section_but_type_information_unwind_tables_versions_and_call_site_lists(erofs_module, tmp_path):
    sections = _section_names(erofs_module, tmp_path)
    unused = {".BTF", ".orc_unwind", ".orc_unwind_ip", ".rela.orc_unwind_ip", "__versions",
              ".static_call_sites", ".rela.static_call_sites", "__mcount_loc", ".rela__mcount_loc"}
    assert unused <= set(sections)
    slimmed = kmodules.without_unused_sections(erofs_module)
    assert _section_names(slimmed, tmp_path) == [name for name in sections if name not in unused]


def _symbols(module: bytes, tmp_path) -> list[tuple[str, str]]:
    """(binding, name) of each named symbol of the module's symbol table."""
    path = tmp_path / "module.ko"
    path.write_bytes(module)
    listing = subprocess.run(["readelf", "-s", "-W", str(path)], capture_output=True, text=True, check=True).stdout
    return re.findall(r"^\s*\d+:\s+\S+\s+\d+\s+\S+\s+(LOCAL|GLOBAL|WEAK)\s+\S+\s+\S+\s+(\S+)$", listing, re.MULTILINE)


def test_slimmed_module_keeps_its_global_symbols_and_drops_unneeded_local_ones(erofs_module, tmp_path):
    before, after = _symbols(erofs_module, tmp_path), _symbols(kmodules.without_unused_sections(erofs_module), tmp_path)
    assert {entry for entry in before if entry[0] != "LOCAL"} == {entry for entry in after if entry[0] != "LOCAL"}
    assert ("GLOBAL", "__this_module") in after
    assert len(after) < len(before)


def test_slimmed_module_loses_its_signature(erofs_module):
    assert erofs_module.endswith(b"~Module signature appended~\n")
    assert not kmodules.without_unused_sections(erofs_module).endswith(b"~Module signature appended~\n")


def test_a_file_objcopy_cannot_read_is_an_error_not_a_crash():
    if shutil.which("objcopy") is None:
        pytest.skip("binutils (objcopy) is not installed")
    with pytest.raises(ContainerSetupError, match="objcopy"):
        kmodules.without_unused_sections(b"not a module")


@pytest.mark.parametrize(("config", "enforced"), [
    ("CONFIG_MODULE_SIG=y\n# CONFIG_MODULE_SIG_FORCE is not set\n", False),
    ("CONFIG_MODULE_SIG=y\nCONFIG_MODULE_SIG_FORCE=y\n", True),
])  # fmt: skip
def test_signature_enforcement_is_read_from_the_kernel_config(tmp_path, config, enforced):
    (tmp_path / "config-6.1").write_text(config)
    assert kmodules.signatures_enforced(tmp_path / "config-6.1") is enforced


def test_kernel_without_a_config_counts_as_enforcing_signatures(tmp_path):
    assert kmodules.signatures_enforced(tmp_path / "config-6.1")
