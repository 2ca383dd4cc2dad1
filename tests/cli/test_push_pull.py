"""``dockpy push``/``pull``: what a push loads before its first request, and progress bars only when a blob moves."""

import subprocess
import sys

from dockpy.cli.push_pull import _BarProgress
from dockpy.layers.digests import Digest
from tests.import_budget import slow_modules_imported

BLOB = Digest.of_bytes(b"blob")
# Every module ``dockpy push`` imports before it knows whether the registry holds the image.
PUSH_PATH_MODULES = ("dockpy.cli.push_pull", "dockpy.image.refs", "dockpy.image.registry.client",
                     "dockpy.image.registry.push", "dockpy.image.registry.remote")


def test_the_modules_of_push_import_neither_the_model_nor_what_only_an_upload_needs():
    slow = ("dataclasses", "typing", "dockpy.image.oci", "json", "hashlib", "dockpy.layers.content", "rich",
            "zstandard", "concurrent.futures", "threading", "dockpy.image.registry.auth")
    assert slow_modules_imported(PUSH_PATH_MODULES, slow) == []


def test_a_transfer_without_blobs_loads_no_rich():
    script = ("import sys\nfrom dockpy.cli.push_pull import _BarProgress\n"
              "with _BarProgress():\n    pass\nprint('rich' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_the_first_blob_starts_a_bar_that_counts_its_bytes():
    with _BarProgress() as progress:
        progress.started(BLOB, 10)
        progress.advanced(BLOB, 4)
        (task,) = progress._bars.tasks
        assert (task.completed, task.total) == (4, 10)
        progress.finished(BLOB, "uploaded")
        assert task.completed == 10 and task.description.endswith("uploaded")
