"""How the cost of listing an upper dir's changes grows with the image under it.

Builds two images (one layer each): 1,000 files and 100,000 files, spread
over directories of 1,000 files. Over each it puts an upper dir holding one
change (a rewritten file, with its copied-up parent directory, as overlayfs
leaves it) and times ``list_changes``. The target is a ratio of at most 1.5:
the cost follows the change, not the image. The full tree comparison (the
fallback for upper dirs with redirects) can be timed too, for contrast.

    python bench/changes_bench.py [--workdir DIR] [--repeat N] [--compare-trees]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from dockpy.layers.changes import compare_trees, list_changes
from dockpy.layers.layerstack import LayerStack

FILES_PER_DIRECTORY = 1000


def build_image(root: Path, files: int) -> Path:
    for index in range(files):
        directory = root / f"d{index // FILES_PER_DIRECTORY}"
        if index % FILES_PER_DIRECTORY == 0:
            directory.mkdir(parents=True)
        (directory / f"f{index}").write_bytes(b"x" * 64)
    return root


def upper_with_one_change(image: Path, upper: Path) -> Path:
    """What overlayfs leaves after ``echo changed > /d0/f0``: the copied-up parent and the file."""
    (upper / "d0").mkdir(parents=True)
    shutil.copystat(image / "d0", upper / "d0")
    (upper / "d0/f0").write_bytes(b"changed")
    return upper


def median_seconds(function, repeat: int) -> float:
    function()  # warm the dentry cache and the code paths once
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def prepare(workdir: Path, files: int) -> tuple[Path, Path]:
    image = build_image(workdir / f"image-{files}", files)
    upper = upper_with_one_change(image, workdir / f"upper-{files}")
    assert [str(c) for c in list_changes(upper, [image])] == ["C /d0", "C /d0/f0"]
    return image, upper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, help="where to build the images (default: a temp dir)")
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--compare-trees", action="store_true", help="also time the full tree comparison (slow)")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=arguments.workdir) as scratch:
        (small, small_upper), (large, large_upper) = prepare(Path(scratch), 1_000), prepare(Path(scratch), 100_000)
        small_fast = median_seconds(lambda: list_changes(small_upper, [small]), arguments.repeat)
        large_fast = median_seconds(lambda: list_changes(large_upper, [large]), arguments.repeat)
        print(f"list_changes, one change over   1k files: {small_fast * 1e6:9.1f} us (median of {arguments.repeat})")
        print(f"list_changes, one change over 100k files: {large_fast * 1e6:9.1f} us")
        if arguments.compare_trees:
            for files, image, upper in ((1_000, small, small_upper), (100_000, large, large_upper)):
                seconds = median_seconds(lambda: compare_trees(LayerStack([image]), LayerStack([upper, image])), 1)
                print(f"tree comparison (fallback), {files:>7} files: {seconds * 1e3:9.1f} ms")
    ratio = large_fast / small_fast
    print(f"ratio 100k/1k: {ratio:.2f} (target <= 1.5): {'ok' if ratio <= 1.5 else 'MISSED'}")


if __name__ == "__main__":
    main()
