"""What ``dockpy commit`` loads before its layer starts: the image model comes later, beside the layer.

Everything the layer's thread needs is imported before it starts: a module
being imported on one thread is visible half-initialized to another
(``dataclasses`` peeks at ``sys.modules["typing"]``, which zstandard imports).
"""

from tests.import_budget import slow_modules_imported

# The modules ``dockpy commit`` imports before the layer's thread starts.
BEFORE_THE_LAYER = (
    "dockpy.cli.commit", "dockpy.runtime.versioning", "dockpy.runtime.containers", "dockpy.image.lease",
    "dockpy.layers.compression", "dockpy.layers.content", "dockpy.layers.tarwriter",
)


def test_the_layer_of_a_commit_starts_before_the_image_model_is_imported():
    slow = ("dockpy.runtime.lifecycle", "dataclasses", "dockpy.image.oci", "dockpy.image.store")
    assert slow_modules_imported(BEFORE_THE_LAYER, slow) == []
