"""What ``dockpy diff CONTAINER`` loads: the container's record and spec, and the change listing."""

import subprocess
import sys

# Every module ``dockpy diff CONTAINER`` imports from dockpy.
DIFF_PATH_MODULES = ("dockpy.cli.diff", "dockpy.runtime.versioning", "dockpy.runtime.containers", "dockpy.layers.changes")


def test_the_modules_of_container_diff_import_no_lifecycle_dataclasses_or_typing():
    code = (
        "import importlib, sys\n"
        f"for name in {DIFF_PATH_MODULES!r}:\n    importlib.import_module(name)\n"
        "slow = ('dockpy.runtime.lifecycle', 'signal', 'dataclasses', 'typing', 'dockpy.image.oci', 'threading')\n"
        "print('SLOW=' + ','.join(m for m in slow if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "SLOW="
