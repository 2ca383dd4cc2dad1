"""How fast do the listing commands start? ``images``, ``log`` and ``history`` against bare Python.

Target (issue 3): each at most 60 ms on the reference machine, where ``python3 -c pass``
takes about 37 ms. The store holds 40 tags with 5 revisions each (200 images).
Run: ``.venv/bin/python bench/store_bench.py``.
"""

from __future__ import annotations

import io
import os
import sys
import tarfile
import tempfile
from pathlib import Path

from harness import compile_bytecode, dockpy_command, format_table, record, time_command

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RUNS = 20
TAGS = 40
REVISIONS_PER_TAG = 5


def small_rootfs_tar(seed: int) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, content in (("etc/version", str(seed).encode()), ("bin/app", os.urandom(2048))):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def populate(root: Path) -> None:
    from dockpy.image.rootfs_archive import import_rootfs
    from dockpy.image.store import ImageStore
    from dockpy.root import StorageRoot

    with ImageStore(StorageRoot(root)) as store:
        for revision in range(REVISIONS_PER_TAG):
            for tag in range(TAGS):
                tar = io.BytesIO(small_rootfs_tar(tag * 100 + revision))
                import_rootfs(store, tar, f"app{tag}:latest", message=f"revision {revision + 1}")


def main() -> None:
    compile_bytecode()
    with tempfile.TemporaryDirectory() as scratch:
        populate(Path(scratch))
        env = {"DOCKPY_ROOT": scratch}
        python = time_command("python3 -c pass", [sys.executable, "-c", "pass"], runs=RUNS)
        timings = [
            python,
            time_command("dockpy --version", dockpy_command("--version"), runs=RUNS, env=env),
            time_command(f"dockpy images ({TAGS} tags)", dockpy_command("images"), runs=RUNS, env=env),
            time_command(f"dockpy log app7 ({REVISIONS_PER_TAG} revisions)", dockpy_command("log", "app7"),
                         runs=RUNS, env=env),
            time_command("dockpy history app7", dockpy_command("history", "app7"), runs=RUNS, env=env),
        ]
    record("Image listings: dockpy images, log and history", "python bench/store_bench.py",
           format_table(timings, reference=python, target="images, log, history ≤ 60 ms median"))


if __name__ == "__main__":
    main()
