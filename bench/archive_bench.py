"""``dockpy save``/``load`` of a ≈100 MB image against ``skopeo copy`` between the same formats.

The image is the busybox rootfs plus 20 × (2.5 MiB of random bytes + 2 MiB
of base64 text): about 95 MB as a tar, 85 MB as zstd, a mix of
incompressible and compressible data. It is imported once into a dockpy root;
skopeo's side reads the same image from an OCI layout that dockpy saved.
Each pair runs side by side in one run (ratios, so a busy machine moves both
alike); every run writes to a fresh output (a fresh root for loads).

skopeo has no store of its own here, so "load" is compared with
``skopeo copy ARCHIVE oci:DIR`` (into an OCI layout, without verifying
diff_ids), and a docker archive is saved by skopeo from the gzip layout,
since skopeo cannot convert zstd layers for a docker archive.

    python bench/archive_bench.py [--runs N] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

from harness import REPO, dockpy_command, format_table, record, time_command

sys.path.insert(0, str(REPO))
from tests.peer_isolation import enter_private_var_lib  # noqa: E402

IMAGE = "localhost/bench:1"
RANDOM_BYTES = 5 << 19  # 2.5 MiB per file
TEXT_SOURCE_BYTES = 3 << 19  # 1.5 MiB of random bytes, base64: 2 MiB of text per file
FILE_PAIRS = 20


def build_rootfs_tar(workdir: Path) -> Path:
    from dockpy.image import templates

    rootfs = workdir / "rootfs"
    rootfs.mkdir()
    templates.build_busybox_rootfs(rootfs)
    data = rootfs / "data"
    data.mkdir()
    for index in range(FILE_PAIRS):
        (data / f"random{index}.bin").write_bytes(os.urandom(RANDOM_BYTES))
        (data / f"text{index}.txt").write_bytes(base64.b64encode(os.urandom(TEXT_SOURCE_BYTES)))
    with tarfile.open(workdir / "rootfs.tar", "w") as tar:
        tar.add(rootfs, arcname=".")
    shutil.rmtree(rootfs)
    return workdir / "rootfs.tar"


def dockpy_in(root: Path, *args: str) -> list[str]:
    return dockpy_command("--root", str(root), *args)


def removing(*paths: Path):
    """A setup step that deletes earlier outputs, so each run starts from nothing."""
    def setup() -> None:
        for path in paths:
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    return setup


def prepare(workdir: Path) -> dict[str, Path]:
    import subprocess

    root = workdir / "source-root"
    paths = {"root": root, "oci": workdir / "image-oci.tar", "docker": workdir / "image-docker.tar",
             "layout": workdir / "layout-zstd", "layout-gzip": workdir / "layout-gzip"}
    subprocess.run(dockpy_in(root, "import", str(build_rootfs_tar(workdir)), IMAGE), check=True, capture_output=True)
    for args in (("--format", "oci", "-o", str(paths["oci"])), ("-o", str(paths["docker"])),
                 ("-o", f"{paths['layout']}/"), ("--compression", "gzip", "-o", f"{paths['layout-gzip']}/")):
        subprocess.run(dockpy_in(root, "save", *args, IMAGE), check=True, capture_output=True)
    return paths


def pairs(paths: dict[str, Path], out: Path) -> list[tuple[str, list[str], list[str], list[Path]]]:
    """(what, dockpy command, skopeo command, outputs to remove before each run)."""
    root, fresh = paths["root"], out / "fresh-root"
    layout, layout_gzip = f"oci:{paths['layout']}:1", f"oci:{paths['layout-gzip']}:1"
    return [
        ("save → OCI tar (layers as stored, zstd)", dockpy_in(root, "save", "--format", "oci", "-o", str(out / "o.tar"), IMAGE),
         ["skopeo", "copy", "-q", layout, f"oci-archive:{out / 'o.tar'}"], [out / "o.tar"]),
        ("save → OCI layout dir, re-compressed to gzip",
         dockpy_in(root, "save", "--compression", "gzip", "-o", f"{out / 'gz'}/", IMAGE),
         ["skopeo", "copy", "-q", "--dest-compress-format", "gzip", layout, f"oci:{out / 'gz'}:1"], [out / "gz"]),
        ("save → docker archive (uncompressed layers)", dockpy_in(root, "save", "-o", str(out / "d.tar"), IMAGE),
         ["skopeo", "copy", "-q", layout_gzip, f"docker-archive:{out / 'd.tar'}:{IMAGE}"], [out / "d.tar"]),
        ("load ← OCI tar (zstd)", dockpy_in(fresh, "load", "-i", str(paths["oci"])),
         ["skopeo", "copy", "-q", f"oci-archive:{paths['oci']}", f"oci:{fresh}:1"], [fresh]),
        ("load ← OCI layout dir (gzip)", dockpy_in(fresh, "load", "-i", str(paths["layout-gzip"])),
         ["skopeo", "copy", "-q", layout_gzip, f"oci:{fresh}:1"], [fresh]),
        ("load ← docker archive", dockpy_in(fresh, "load", "-i", str(paths["docker"])),
         ["skopeo", "copy", "-q", f"docker-archive:{paths['docker']}", f"oci:{fresh}:1"], [fresh]),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", type=Path, help="where to build the image and archives (default: a temp dir)")
    arguments = parser.parse_args()
    with_skopeo = shutil.which("skopeo") is not None
    enter_private_var_lib()  # skopeo's blob-info cache stays off the host (tests/peer_isolation.py)
    with tempfile.TemporaryDirectory(dir=arguments.workdir) as scratch:
        workdir = Path(scratch)
        paths = prepare(workdir)
        out = workdir / "out"
        out.mkdir()
        rows = []
        for what, dockpy_argv, skopeo_argv, outputs in pairs(paths, out):
            skopeo = time_command(f"{what}: skopeo copy", skopeo_argv, runs=arguments.runs,
                                  setup=removing(*outputs)) if with_skopeo else None
            dockpy = time_command(f"{what}: dockpy", dockpy_argv, runs=arguments.runs, setup=removing(*outputs))
            rows.append((dockpy, skopeo))
    body = "\n\n".join(format_table([d, s] if s else [d], reference=s) for d, s in rows)
    record("Archives: dockpy save/load vs skopeo copy (≈100 MB image)", "python bench/archive_bench.py",
           body + ("" if with_skopeo else "\n\nskopeo is not installed: dockpy's timings only."))


if __name__ == "__main__":
    main()
