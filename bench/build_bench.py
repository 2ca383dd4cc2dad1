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
dockpy and BuildKit take turns run by run, so a busy neighbour slows both
alike. Targets (issue 5), as ratios of medians measured in the same run:
cold ≤ 0.9× BuildKit, no-op ≤ 1.0×, one file ≤ 0.8×.
Run as root: ``.venv/bin/python bench/build_bench.py [--runs N] [--no-buildah]``.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

from harness import REPO, Timing, dockpy_command, format_table, record, time_command

sys.path.insert(0, str(REPO))
from tests.docker_daemon import DockerDaemon, docker_is_installed  # noqa: E402
from tests.peer_isolation import enter_private_var_lib, remove_cgroup_tree  # noqa: E402

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
DOCKERD_CGROUP_PARENT = "docker"
TARGET = "dockpy / BuildKit (medians, same run): cold ≤ 0.9×, no-op ≤ 1.0×, one file changed ≤ 0.8×"
# Byte-compiled modules, as an installed dockpy has them (some shells set PYTHONDONTWRITEBYTECODE).
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
            "from dockpy.image.base_images import find_base_image\n"
            "from dockpy.image.unpack import unpack_image\nfrom dockpy.layers.snapshots import Snapshotter\n"
            f"root = StorageRoot(Path({str(root)!r})).create()\n"
            "with ImageStore(root) as store:\n"
            "    image = find_base_image(store, 'busybox', epoch=None)\n"
            "    store.add_revision('localhost/busybox:latest', image, operation='tag')\n"
            "    unpack_image(store, image, Snapshotter(root))\n")
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, **ENVIRONMENT})


class BuildTool(NamedTuple):
    """One builder as the benchmark runs it: its build command, and how to make its next build cold."""

    name: str
    command: list[str]
    make_cold: Callable[[], None]
    env: dict | None = None


SCENARIOS = ("cold", "no-op rebuild", "one file changed")


def time_side_by_side(tools: list[BuildTool], context: Path, runs: int) -> dict[str, list[Timing]]:
    """Each scenario's ``runs`` timed builds per tool, the tools taking turns run by run.

    A neighbour's burst of load then slows every tool alike instead of
    whichever happened to be measured at the time. The first round is an
    untimed warm-up. "one file changed" changes the file before every
    tool's run, so each rebuilds after a change of its own.
    """
    timings: dict[str, list[Timing]] = {tool.name: [] for tool in tools}
    for scenario in SCENARIOS:
        samples: dict[str, list[tuple[float, float]]] = {tool.name: [] for tool in tools}
        for round_number in range(runs + 1):
            for tool in tools:
                _prepare(scenario, tool, context)
                sample = _timed_build(tool)
                if round_number:
                    samples[tool.name].append(sample)
        for tool in tools:
            walls, cpus = zip(*samples[tool.name])
            timings[tool.name].append(Timing(f"{tool.name}: {scenario}", walls, cpus))
    return timings


def _prepare(scenario: str, tool: BuildTool, context: Path) -> None:
    if scenario == "cold":
        tool.make_cold()
    elif scenario == "one file changed":
        _touch_content(context)


def _timed_build(tool: BuildTool) -> tuple[float, float]:
    """Wall seconds and CPU seconds (the command and every process it waited for) of one build."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(tool.command, env={**os.environ, **(tool.env or {})}, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def dockpy_tool(work: Path, context: Path, seed: Path) -> BuildTool:
    """dockpy on its own storage root; cold is a fresh copy of the seed root."""
    root = work / "dockpy-root"

    def fresh_root() -> None:
        shutil.rmtree(root, ignore_errors=True)
        subprocess.run(["cp", "-a", str(seed), str(root)], check=True)

    command = dockpy_command("--root", str(root), "build", "-q", "-t", TAG, str(context))
    return BuildTool("dockpy build", command, fresh_root, ENVIRONMENT)


@contextlib.contextmanager
def buildkit_tool(work: Path, context: Path, seed: Path) -> Iterator[BuildTool]:
    """BuildKit in a dockerd of its own, holding only the base image (loaded from dockpy's seed root).

    Cold removes the built image and BuildKit's cache, as ../shared/peers/70-docker.sh does.
    BuildKit runs its RUN steps under the cgroup parent ``docker/buildkit``
    (dockerd's default) and leaves it: removed afterwards unless it was there before.
    """
    # Where remove_cgroup_tree looks: the root of a cgroup v2 hierarchy too, not only the v1 controllers'.
    cgroup_parent_was_there = any(glob.glob(f"/sys/fs/cgroup/{under}{DOCKERD_CGROUP_PARENT}") for under in ("", "*/"))
    daemon = DockerDaemon(work / "dockerd")
    try:
        _docker_load_base_image(daemon, seed, work / "busybox-docker.tar")

        def clean() -> None:
            for cleanup in (["rmi", "-f", TAG], ["image", "prune", "-f"], ["builder", "prune", "-af"]):
                subprocess.run([*daemon.command, *cleanup], capture_output=True)

        command = [*daemon.command, "build", "--network", "none", "-t", TAG, str(context)]
        yield BuildTool("BuildKit (docker build)", command, clean, {"DOCKER_BUILDKIT": "1"})
    finally:
        daemon.stop()
        if not cgroup_parent_was_there:
            remove_cgroup_tree(DOCKERD_CGROUP_PARENT)


def _docker_load_base_image(daemon: DockerDaemon, seed: Path, archive: Path) -> None:
    subprocess.run(dockpy_command("--root", str(seed), "save", "--format", "docker", "-o", str(archive),
                                  "localhost/busybox:latest"), check=True, env={**os.environ, **ENVIRONMENT})
    subprocess.run([*daemon.command, "load", "-q", "-i", str(archive)], check=True, capture_output=True)


def buildah_tool(work: Path, context: Path) -> BuildTool:
    """buildah with chroot isolation on its own storage; cold removes its containers and images but the base."""
    storage = ["--root", str(work / "buildah-root"), "--runroot", str(work / "buildah-runroot")]
    _buildah_base_image(storage, work)

    def clean() -> None:
        subprocess.run(["buildah", *storage, "rm", "--all"], capture_output=True)
        subprocess.run(["buildah", *storage, "rmi", "-f", TAG], capture_output=True)
        subprocess.run(["buildah", *storage, "rmi", "--prune"], capture_output=True)

    command = ["buildah", *storage, "build", "--layers", "--pull=never", "--isolation", "chroot", "-q", "-t", TAG,
               str(context)]
    return BuildTool("buildah build --isolation chroot", command, clean)


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
    enter_private_var_lib()  # buildah's blob-info cache stays off the host (tests/peer_isolation.py)
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
    """Every builder's rows, and notes: dockpy's ratios to each of the others, or why one is missing.

    dockpy and BuildKit (the targets' reference) take turns run by run;
    buildah, much slower, runs after them.
    """
    context, seed = work / "context", work / "dockpy-seed"
    context.mkdir()
    make_context(context)
    seed_dockpy_root(seed)
    timings = [time_command("python3 -c pass (for scale)", [sys.executable, "-c", "pass"], runs=runs * 2)]
    notes = []
    with contextlib.ExitStack() as stack:
        tools = [dockpy_tool(work, context, seed)]
        if docker_is_installed():
            tools.append(stack.enter_context(buildkit_tool(work, context, seed)))
        measured = time_side_by_side(tools, context, runs)
    ours, buildkit = measured["dockpy build"], measured.get("BuildKit (docker build)")
    timings += ours
    if buildkit:
        timings += buildkit
        notes.append(_ratios(ours, buildkit, "BuildKit"))
        notes.append("BuildKit's CPU column counts the docker client alone: the build runs in dockerd, "
                     "which is no child of the benchmark.")
    else:
        notes.append("BuildKit was not measured: dockerd is not installed (Debian package docker.io).")
    if with_buildah and shutil.which("buildah"):
        try:
            theirs = time_side_by_side([buildah_tool(work, context)], context, runs)["buildah build --isolation chroot"]
        except subprocess.CalledProcessError as error:
            failure = (error.stderr or b"").decode(errors="replace").strip().splitlines()[-1:]
            notes.append(f"buildah failed during this run ({'; '.join(failure) or error}); its rows are missing.")
        else:
            timings += theirs
            notes.append(_ratios(ours, theirs, "buildah"))
    return timings, notes


if __name__ == "__main__":
    main()
