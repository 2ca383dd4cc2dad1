"""What ``dockpy diff CONTAINER`` loads: the container's record and spec, and the change listing."""

from tests.import_budget import slow_modules_imported

# Every module ``dockpy diff CONTAINER`` imports from dockpy.
DIFF_PATH_MODULES = ("dockpy.cli.diff", "dockpy.runtime.versioning", "dockpy.runtime.containers", "dockpy.layers.changes")


def test_the_modules_of_container_diff_import_no_lifecycle_dataclasses_or_typing():
    slow = ("dockpy.runtime.lifecycle", "signal", "dataclasses", "typing", "dockpy.image.oci", "threading")
    assert slow_modules_imported(DIFF_PATH_MODULES, slow) == []


def test_the_modules_of_container_diff_import_no_pathlib():
    # pathlib pulls in urllib.parse, ipaddress, fnmatch and ntpath: ~5 ms of a ~40 ms command
    assert slow_modules_imported(DIFF_PATH_MODULES + ("dockpy.layers.layerstack", "dockpy.metadata"), ("pathlib",)) == []


def test_the_modules_of_container_diff_import_neither_contextlib_nor_weakref():
    # ~1 ms each at every start; the metadata transaction and the archive naming are plain classes
    assert slow_modules_imported(DIFF_PATH_MODULES + ("dockpy.metadata",), ("contextlib", "weakref")) == []
