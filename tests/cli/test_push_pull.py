"""``dockpy push``/``pull`` progress on a terminal: bars only when a blob moves."""

import subprocess
import sys

from dockpy.cli.push_pull import _BarProgress
from dockpy.layers.digests import Digest

BLOB = Digest.of_bytes(b"blob")


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
