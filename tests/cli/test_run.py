"""What ``dockpy run`` loads: its start-up budget is a few milliseconds above Python's own."""

from tests.import_budget import slow_modules_imported

# Every module a foreground ``dockpy run --rm IMAGE CMD`` of a known image imports.
RUN_PATH_MODULES = (
    "dockpy.cli.run", "dockpy.runtime.config", "dockpy.runtime.lifecycle", "dockpy.runtime.images",
    "dockpy.runtime.image_cache", "dockpy.image.catalog", "dockpy.image.lookup", "dockpy.layers.snapshots",
    "dockpy.runtime.monitor", "dockpy.runtime.namespace.backend", "dockpy.runtime.namespace.pid1",
)


def test_the_modules_of_run_import_no_dataclasses_typing_shutil_or_oci_model():
    slow = ("dataclasses", "typing", "dockpy.image.oci", "dockpy.image.store", "uuid", "threading", "shutil")
    assert slow_modules_imported(RUN_PATH_MODULES, slow) == []


def test_the_modules_of_run_import_no_pathlib_nor_the_tag_histories():
    assert slow_modules_imported(RUN_PATH_MODULES, ("pathlib", "dockpy.image.refs")) == []


def test_a_foreground_run_pauses_the_cycle_collector_before_it_loads_the_runtime(monkeypatch, tmp_path):
    import gc

    from dockpy.cli import run_command_line
    from dockpy.runtime import lifecycle

    seen = []
    monkeypatch.setattr(lifecycle.Runtime, "run", lambda self, image, options, **flags: seen.append(gc.isenabled()) or 0)
    monkeypatch.setenv("DOCKPY_ROOT", str(tmp_path / "root"))
    try:
        assert run_command_line(["run", "--rm", "--rootfs", str(tmp_path), "true"]) == 0
    finally:
        gc.enable()
    assert seen == [False]


def test_the_modules_of_run_import_none_of_the_optional_flags_parsers():
    optional = ("dockpy.runtime.keyvalue_files", "dockpy.runtime.capabilities", "dockpy.runtime.ulimits",
                "dockpy.runtime.tmpfs", "dockpy.runtime.extra_hosts", "dockpy.runtime.cidfile", "ipaddress")
    assert slow_modules_imported(RUN_PATH_MODULES, optional) == []
