"""``dockpy build`` against BuildKit and ``buildah build``: cold, no-op and one-file-change rebuilds.

The context is the peers' (../shared/peers/20-make-context.sh, made here the
same way): a two-stage Dockerfile of 12 instructions, 300 small files in 10
directories and one 100 MiB file of random bytes. Base image:
``localhost/busybox:latest`` from the busybox template, in each tool's own
temporary storage (BuildKit gets it by ``docker load`` of ``dockpy save``).

- cold: a fresh storage root holding only the base image (page cache warm);
  BuildKit's cache and the built image are removed before each run, as
  ../shared/peers/70-docker.sh does;
- no-op: the same build again;
- one file: one small file changed before each run.

BuildKit is ``DOCKER_BUILDKIT=1 docker build --network none`` against Debian's
dockerd 20.10, started by this script in its own directory and private mount
namespace (tests/docker_daemon.py, the one the docker archive tests use).
Targets (issue 5), as ratios of medians measured in the same run: cold ≤ 0.9×
BuildKit, no-op ≤ 1.0×, one file ≤ 0.8×.
Run as root: ``.venv/bin/python bench/build_bench.py [--runs N] [--no-buildah]``.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import REPO, dockpy_command, format_table, record, time_command

sys.path.insert(0, str(REPO))
from tests.docker_daemon import DockerDaemon, docker_is_installed  # noqa: E402

DOCKERFILE = """\
# stage 1: generate some files (used by COPY --from)
FROM localhost/busybox:latest AS gen
RUN mkdir -p /out && for i in $(seq 1 50); do echo "generated $i" > /out/g$i.txt; done && sha256sum /out/*.txt > /out/SUMS

# stage 2: the image
FROM localhost/busybox:latest
LABEL org.opencontainers.image.title="peer-bench" org.example.version="1"
ENV APP_HOME=/app MODE=bench
WORKDIR /app
RUN mkdir -p /app/data /app/logs && echo hello > /app/data/hello.txt && dd if=/dev/zero of=/app/data/zero.bin bs=1024 count=1024 2>/dev/null
COPY ctx/small/ /app/small/
COPY ctx/big.bin /app/big.bin
COPY --from=gen /out/ /app/gen/
RUN chown -R 1000:1000 /app/logs && find /app/small -type f | wc -l > /app/count.txt
EXPOSE 8080/tcp
USER app
CMD ["/bin/sh", "-c", "cat /app/count.txt"]
"""
CHANGED_FILE = "ctx/small/d05/f007.txt"
TAG = "localhost/peer-bench:latest"
# Byte-compiled modules, as an installed dockpy has them (some shells set PYTHONDONTWRITEBYTECODE).
TARGET = "dockpy / BuildKit (medians, same run): cold ≤ 0.9×, no-op ≤ 1.0×, one file changed ≤ 0.8×"
ENVIRONMENT = {"PYTHONDONTWRITEBYTECODE": "", "PYTHONPATH": str(REPO)}


def make_context(directory: Path) -> None:
    """The peers' context, byte for byte (same seeds)."""
    rnd = random.Random(1234)
    for d in range(10):
        folder = directory / "ctx/small" / f"d{d:02d}"
        folder.mkdir(parents=True)
        for i in range(30):
            n = rnd.randint(200, 4096)
            (folder / f"f{i:03d}.txt").write_text("".join(rnd.choice("abcdefghijklmnopqrstuvwxyz0123456789 \n")
                                                          for _ in range(n)))
    big = random.Random(42)
    with open(directory / "ctx/big.bin", "wb") as out:
        for _ in range(100):
            out.write(big.randbytes(1 << 20))
    (directory / "Dockerfile").write_text(DOCKERFILE)


def seed_dockpy_root(root: Path) -> None:
    """A storage root with the busybox template tagged as the Dockerfile's base, its layer unpacked.

    (buildah's storage likewise holds the base image unpacked before a cold build.)
    """
    code = ("from pathlib import Path\nfrom dockpy.root import StorageRoot\nfrom dockpy.image.store import ImageStore\n"
            "from dockpy.build.base_images import find_base_image\n"
            "from dockpy.image.unpack import unpack_image\nfrom dockpy.layers.snapshots import Snapshotter\n"
            f"root = StorageRoot(Path({str(root)!r})).create()\n"
            "with ImageStore(root) as store:\n"
            "    image = find_base_image(store, 'busybox', epoch=None)\n"
            "    store.add_revision('localhost/busybox:latest', image, operation='tag')\n"
            "    unpack_image(store, image, Snapshotter(root))\n")
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, **ENVIRONMENT})


def dockpy_timings(work: Path, context: Path, seed: Path, runs: int) -> list:
    root = work / "dockpy-root"
    command = dockpy_command("--root", str(root), "build", "-q", "-t", TAG, str(context))

    def fresh_root() -> None:
        shutil.rmtree(root, ignore_errors=True)
        subprocess.run(["cp", "-a", str(seed), str(root)], check=True)

    return [
        time_command("dockpy build: cold", command, runs=runs, env=ENVIRONMENT, setup=fresh_root),
        time_command("dockpy build: no-op rebuild", command, runs=runs, env=ENVIRONMENT),
        time_command("dockpy build: one file changed", command, runs=runs, env=ENVIRONMENT,
                     setup=lambda: _touch_content(context)),
    ]


def buildkit_timings(work: Path, context: Path, seed: Path, runs: int) -> list:
    """BuildKit in a dockerd of its own, holding only the base image (loaded from dockpy's seed root)."""
    daemon = DockerDaemon(work / "dockerd")
    try:
        _docker_load_base_image(daemon, seed, work / "busybox-docker.tar")
        command = ["env", "DOCKER_BUILDKIT=1", *daemon.command, "build", "--network", "none", "-t", TAG,
                   str(context)]

        def clean() -> None:
            for cleanup in (["rmi", "-f", TAG], ["image", "prune", "-f"], ["builder", "prune", "-af"]):
                subprocess.run([*daemon.command, *cleanup], capture_output=True)

        return [
            time_command("BuildKit (docker build): cold", command, runs=runs, setup=clean),
            time_command("BuildKit (docker build): no-op rebuild", command, runs=runs),
            time_command("BuildKit (docker build): one file changed", command, runs=runs,
                         setup=lambda: _touch_content(context)),
        ]
    finally:
        daemon.stop()


def _docker_load_base_image(daemon: DockerDaemon, seed: Path, archive: Path) -> None:
    subprocess.run(dockpy_command("--root", str(seed), "save", "--format", "docker", "-o", str(archive),
                                  "localhost/busybox:latest"), check=True, env={**os.environ, **ENVIRONMENT})
    subprocess.run([*daemon.command, "load", "-q", "-i", str(archive)], check=True, capture_output=True)


def buildah_timings(work: Path, context: Path, runs: int) -> list:
    storage = ["--root", str(work / "buildah-root"), "--runroot", str(work / "buildah-runroot")]
    _buildah_base_image(storage, work)
    command = ["buildah", *storage, "build", "--layers", "--pull=never", "--isolation", "chroot", "-q", "-t", TAG,
               str(context)]

    def clean() -> None:
        subprocess.run(["buildah", *storage, "rm", "--all"], capture_output=True)
        subprocess.run(["buildah", *storage, "rmi", "-f", TAG], capture_output=True)
        subprocess.run(["buildah", *storage, "rmi", "--prune"], capture_output=True)

    return [
        time_command("buildah build --isolation chroot: cold", command, runs=runs, setup=clean),
        time_command("buildah build --isolation chroot: no-op rebuild", command, runs=runs),
        time_command("buildah build --isolation chroot: one file changed", command, runs=runs,
                     setup=lambda: _touch_content(context)),
    ]


def _buildah_base_image(storage: list[str], work: Path) -> None:
    """``buildah from scratch`` + the busybox template's files, committed as localhost/busybox:latest."""
    from dockpy.image.templates import build_busybox_rootfs

    rootfs = work / "busybox-rootfs"
    rootfs.mkdir()
    build_busybox_rootfs(rootfs)
    container = subprocess.run(["buildah", *storage, "from", "scratch"], check=True, capture_output=True,
                               text=True).stdout.strip()
    subprocess.run(["buildah", *storage, "copy", container, str(rootfs), "/"], check=True, capture_output=True)
    subprocess.run(["buildah", *storage, "config", "--env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
                    "/sbin:/bin", "--cmd", "sh", container], check=True)
    subprocess.run(["buildah", *storage, "commit", "--rm", "-q", container, "localhost/busybox:latest"], check=True,
                   capture_output=True)


def _ratios(ours: list, theirs: list, name: str) -> str:
    """dockpy's medians as fractions of another builder's, measured side by side (load affects both alike)."""
    parts = [f"{mine.operation.split(': ')[1]} {mine.median / other.median:.2f}×" for mine, other in zip(ours, theirs)]
    return f"dockpy / {name} (median): " + ", ".join(parts)


def remove_work_directory(work: Path) -> None:
    """Unmount what buildah left mounted below ``work``, then remove it.

    Never remove a tree with mounts in it: a container's rootfs may have the
    host's /dev bound inside it.
    """
    storage = ["--root", str(work / "buildah-root"), "--runroot", str(work / "buildah-runroot")]
    if (work / "buildah-root").exists():
        subprocess.run(["buildah", *storage, "rm", "--all"], capture_output=True)
        subprocess.run(["buildah", *storage, "rmi", "--all", "--force"], capture_output=True)
    for mountpoint in sorted(_mounts_below(work), reverse=True):
        subprocess.run(["umount", "--lazy", mountpoint], check=False)
    if _mounts_below(work):
        raise SystemExit(f"left {work} in place: it still has mounts")
    shutil.rmtree(work)


def _mounts_below(directory: Path) -> list[str]:
    prefix = str(directory) + "/"
    with open("/proc/self/mountinfo") as mountinfo:
        points = [line.split()[4] for line in mountinfo]
    return [point for point in points if point.startswith(prefix)]


def _touch_content(context: Path) -> None:
    with open(context / CHANGED_FILE, "a") as file:
        file.write(f"{os.urandom(8).hex()}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-buildah", action="store_true", help="leave buildah out (it takes most of the time)")
    parser.add_argument("--no-record", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dockpy-build-bench-"))
    try:
        timings, notes = measure_all(work, args.runs, with_buildah=not args.no_buildah)
    finally:
        remove_work_directory(work)
    body = format_table(timings, target=TARGET) + "".join(f"\n\n{note}" for note in notes)
    if args.no_record:
        print(body)
    else:
        record("Build: cold, no-op and one-file-change rebuilds", "python bench/build_bench.py", body)


def measure_all(work: Path, runs: int, with_buildah: bool) -> tuple[list, list[str]]:
    """Every builder's rows, and notes: dockpy's ratios to each of the others, or why one is missing."""
    context, seed = work / "context", work / "dockpy-seed"
    context.mkdir()
    make_context(context)
    seed_dockpy_root(seed)
    timings = [time_command("python3 -c pass (for scale)", [sys.executable, "-c", "pass"], runs=runs * 2)]
    ours = dockpy_timings(work, context, seed, runs)
    timings += ours
    notes = []
    peers = [("BuildKit", lambda: buildkit_timings(work, context, seed, runs), docker_is_installed()),
             ("buildah", lambda: buildah_timings(work, context, runs), with_buildah and shutil.which("buildah"))]
    for name, measure, available in peers:
        if not available:
            continue
        try:
            theirs = measure()
        except subprocess.CalledProcessError as error:
            failure = (error.stderr or b"").decode(errors="replace").strip().splitlines()[-1:]
            notes.append(f"{name} failed during this run ({'; '.join(failure) or error}); its rows are missing.")
            continue
        timings += theirs
        notes.append(_ratios(ours, theirs, name))
    if any(note.startswith("dockpy / BuildKit") for note in notes):
        notes.append("BuildKit's CPU column counts the docker client alone: the build runs in dockerd, "
                     "which is no child of the benchmark.")
    return timings, notes


if __name__ == "__main__":
    main()
