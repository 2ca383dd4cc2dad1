"""What ``dockpy commit`` loads before its layer starts: the image model comes later, beside the layer.

A module being imported on one thread is visible half-initialized to another
(``dataclasses`` once peeked at ``sys.modules["typing"]``, which the
zstandard package imports), so zstandard's backend is loaded before the
layer's thread starts, and the one module that thread imports itself
(``dockpy.layers.durability``, at its first MiB written) shares nothing with
what the main thread imports meanwhile. Nothing on the way loads ctypes,
``platform``, ``typing`` or ``pathlib``.
"""

from tests.import_budget import slow_modules_imported

# The modules ``dockpy commit`` imports before the layer's thread starts.
BEFORE_THE_LAYER = (
    "dockpy.cli.commit", "dockpy.runtime.versioning", "dockpy.runtime.containers", "dockpy.image.lease",
    "dockpy.layers.compression", "dockpy.layers.content", "dockpy.layers.tarwriter",
)
# What the main thread imports while the layer is written (``versioning._commit_image``).
BESIDE_THE_LAYER = (
    "dockpy.image.oci", "dockpy.image.reference", "dockpy.image.refs", "dockpy.image.store",
    "dockpy.image.timestamps", "dockpy.runtime.commit_changes",
)


def test_the_layer_of_a_commit_starts_before_the_image_model_is_imported():
    slow = ("dockpy.runtime.lifecycle", "dataclasses", "dockpy.image.oci", "dockpy.image.store")
    assert slow_modules_imported(BEFORE_THE_LAYER, slow) == []


def test_what_a_commit_imports_beside_its_layer_is_not_what_the_layers_thread_imports():
    layers_thread = ("dockpy.layers.durability", "typing", "dataclasses")
    assert slow_modules_imported(BESIDE_THE_LAYER, layers_thread) == []


def test_nothing_a_commit_imports_loads_ctypes_platform_typing_or_pathlib():
    everything = (*BEFORE_THE_LAYER, *BESIDE_THE_LAYER, "dockpy.layers.durability", "dockpy.layers.zstd_backend")
    assert slow_modules_imported(everything, ("ctypes", "dockpy.linux", "platform", "typing", "pathlib")) == []
