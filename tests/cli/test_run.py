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
