"""What ``dockpy run`` loads: its start-up budget is a few milliseconds above Python's own."""

import subprocess
import sys

# Every module a foreground ``dockpy run --rm IMAGE CMD`` of a known image imports.
RUN_PATH_MODULES = (
    "dockpy.cli.run", "dockpy.runtime.config", "dockpy.runtime.lifecycle", "dockpy.runtime.images",
    "dockpy.runtime.image_cache", "dockpy.image.refs", "dockpy.layers.snapshots", "dockpy.runtime.monitor",
    "dockpy.runtime.namespace.backend", "dockpy.runtime.namespace.pid1",
)


def test_the_modules_of_run_import_no_dataclasses_typing_shutil_or_oci_model():
    code = (
        "import importlib, sys\n"
        f"for name in {RUN_PATH_MODULES!r}:\n    importlib.import_module(name)\n"
        "slow = ('dataclasses', 'typing', 'dockpy.image.oci', 'dockpy.image.store', 'uuid', 'threading', 'shutil')\n"
        "print('SLOW=' + ','.join(m for m in slow if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "SLOW="
