"""What ``dockpy commit`` loads before its layer starts: the image model comes later, beside the layer.

Everything the layer's thread needs is imported before it starts: a module
being imported on one thread is visible half-initialized to another
(``dataclasses`` peeks at ``sys.modules["typing"]``, which zstandard imports).
"""

import subprocess
import sys

# The modules ``dockpy commit`` imports before the layer's thread starts.
BEFORE_THE_LAYER = (
    "dockpy.cli.commit", "dockpy.runtime.versioning", "dockpy.runtime.containers", "dockpy.image.lease",
    "dockpy.layers.compression", "dockpy.layers.content", "dockpy.layers.tarwriter",
)


def test_the_layer_of_a_commit_starts_before_the_image_model_is_imported():
    code = (
        "import importlib, sys\n"
        f"for name in {BEFORE_THE_LAYER!r}:\n    importlib.import_module(name)\n"
        "slow = ('dockpy.runtime.lifecycle', 'dataclasses', 'dockpy.image.oci', 'dockpy.image.store')\n"
        "print('SLOW=' + ','.join(m for m in slow if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "SLOW="
