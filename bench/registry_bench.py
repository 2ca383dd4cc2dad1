"""Push and pull of one ≈110 MB image through a local docker-registry: dockpy vs skopeo.

Both sides move the same image in the same run: a 100 MiB incompressible file
plus a few small ones, imported with ``dockpy import``. skopeo's copy of it
lives in an OCI layout taken from the registry (untimed). Every "empty
registry" run starts a fresh registry (untimed) so nothing is mounted or
skipped. The two tools alternate run by run (skopeo, dockpy, skopeo, ...),
so a neighbour's load hits both alike. Targets (issue 6): dockpy ≤ 0.9×
skopeo on each operation. Each push is also set against its floor in Python:
``upload_floor.py`` (the interpreter, ``http.client``, and the layer's POST
and PUT) for the push to an empty registry, whose time is mostly the
registry's, and ``http_floor.py`` (the interpreter, ``http.client`` and the
one HEAD) for the push of an image the registry has. The registry's own CPU
time is measured for each push to an empty registry.

Run: ``.venv/bin/python bench/registry_bench.py [--runs N]``
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from harness import REPO, Timing, compile_bytecode, dockpy_command, format_table, record, time_callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.peer_isolation import enter_private_var_lib  # noqa: E402
from tests.registry_server import LocalRegistry  # noqa: E402

BIG_FILE_BYTES = 100 << 20
# What no Python tool on http.client can undercut: ``upload_floor.py`` timed with the push to an empty
# registry, ``http_floor.py`` with the push again.
SKOPEO_PUSH, DOCKPY_PUSH = "skopeo copy oci: -> docker:// (empty registry)", "dockpy push (empty registry)"
UPLOAD_FLOOR = "floor: python, import http.client, POST + PUT of the layer"
SKOPEO_AGAIN, DOCKPY_AGAIN = "skopeo copy again (blobs exist)", "dockpy push again (blobs exist)"
FLOOR = "floor: python, import http.client, one HEAD"
SKOPEO_PULL, DOCKPY_PULL = "skopeo copy docker:// -> oci: (pull)", "dockpy pull (fresh root)"


def make_rootfs_tar(path: Path) -> None:
    with tarfile.open(path, "w") as tar:
        for name, data in (("etc/motd", b"benchmark\n"), ("app/big.bin", os.urandom(BIG_FILE_BYTES))):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 1_700_000_000
            tar.addfile(info, io.BytesIO(data))


class Registries:
    """Hands out a fresh, empty registry per timed run and stops the previous one.

    ``cpu`` holds, per operation, the CPU seconds the registry spent in each
    run timed through ``counting_cpu``.
    """

    def __init__(self, work: Path):
        self._work, self._count, self.current = work, 0, None
        self.cpu: dict[str, list[float]] = {}

    def fresh(self) -> str:
        if self.current:
            self.current.stop()
            shutil.rmtree(self.current.storage, ignore_errors=True)
        self._count += 1
        directory = self._work / f"registry-{self._count}"
        directory.mkdir()
        self.current = LocalRegistry(directory)
        return self.current.address

    def stop(self) -> None:
        if self.current:
            self.current.stop()

    def counting_cpu(self, operation: str, run):
        """``run``, with the current registry's CPU time during it added to ``cpu[operation]``."""
        def counted():
            before = self.current.cpu_seconds()
            run()
            self.cpu.setdefault(operation, []).append(self.current.cpu_seconds() - before)

        return counted


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    if shutil.which("skopeo") is None:
        sys.exit("registry_bench: skopeo is not installed; nothing to compare with")
    enter_private_var_lib()  # skopeo's blob-info cache stays off the host (tests/peer_isolation.py)
    with tempfile.TemporaryDirectory(prefix="dockpy-registry-bench-") as scratch:
        work = Path(scratch)
        env = {"DOCKPY_ROOT": str(work / "root"), "PYTHONPATH": str(REPO)}  # every dockpy this bench runs is this one
        compile_bytecode()
        make_rootfs_tar(work / "rootfs.tar")
        subprocess.run(dockpy_command("import", str(work / "rootfs.tar"), "bench/app:1"), env={**os.environ, **env},
                       check=True, stdout=subprocess.DEVNULL)
        registries = Registries(work)
        try:
            timings = measure(work, env, registries, runs)
        finally:
            registries.stop()
    record("Registry: push and pull of a 110 MB image (dockpy vs skopeo)",
           f"python bench/registry_bench.py --runs {runs}",
           format_table(timings, target="dockpy ≤ 0.9× skopeo on each operation") + "\n\n"
           + ratios(timings, registries.cpu))


def measure(work: Path, env: dict, registries: Registries, runs: int) -> list[Timing]:
    scenario = Scenario(work, env, registries)
    scenario.prepare()
    return [*scenario.empty_pushes(runs), *scenario.pushes_again(runs), *scenario.pulls(runs)]


class Scenario:
    """The image in dockpy's root and in skopeo's OCI layout, and the registry each timed command goes to.

    Commands read the registry's address from the file ``address``, which
    each run's setup writes.
    """

    def __init__(self, work: Path, env: dict, registries: Registries):
        self.work, self.env, self.registries = work, env, registries
        self.address_file = work / "address"
        self.dockpy = " ".join(dockpy_command())
        self.target = f"$(cat {self.address_file})/bench/app:1"

    def prepare(self) -> None:
        """skopeo's OCI layout of the image, taken from a registry dockpy pushed it to (untimed)."""
        self.fresh_registry_for_dockpy()
        self.run_dockpy("push", "-q", "--tls-verify=false", f"{self.address_file.read_text()}/bench/app:1")
        subprocess.run(["skopeo", "copy", "-q", "--src-tls-verify=false",
                        f"docker://{self.address_file.read_text()}/bench/app:1", f"oci:{self.work / 'layout'}:app"],
                       check=True)

    def empty_pushes(self, runs: int) -> list[Timing]:
        layer_file, layer_digest = largest_layer(self.work / "layout")
        upload_floor = (f"{sys.executable} {Path(__file__).with_name('upload_floor.py')} "
                        f"$(cat {self.address_file})/bench/app {layer_file} {layer_digest}")
        return alternating(runs, (
            SKOPEO_PUSH, sh(self.skopeo_push()), {}, self.fresh_registry), (
            DOCKPY_PUSH, sh(self.dockpy_push()), self.env, self.fresh_registry_for_dockpy), (
            UPLOAD_FLOOR, sh(upload_floor), {}, self.fresh_registry), registries=self.registries)

    def pushes_again(self, runs: int) -> list[Timing]:
        self.fresh_registry_for_dockpy()  # skopeo's untimed first round fills it
        floor = f"{sys.executable} {Path(__file__).with_name('http_floor.py')} {self.target}"
        return alternating(runs, (
            SKOPEO_AGAIN, sh(self.skopeo_push()), {}, None), (
            DOCKPY_AGAIN, sh(self.dockpy_push()), self.env, None), (
            FLOOR, sh(floor), {}, None))

    def pulls(self, runs: int) -> list[Timing]:
        """From the registry the pushes again went to."""
        skopeo = (f"skopeo copy -q --src-tls-verify=false docker://{self.target} "
                  f"oci:{self.work / 'pulled-layout'}:app")
        dockpy = f"{self.dockpy} --root {self.work / 'pulled-root'} pull -q --tls-verify=false {self.target}"
        return alternating(runs, (
            SKOPEO_PULL, sh(skopeo), {}, self.fresh_pull_targets), (
            DOCKPY_PULL, sh(dockpy), {}, self.fresh_pull_targets))

    def skopeo_push(self) -> str:
        return f"skopeo copy -q --dest-tls-verify=false oci:{self.work / 'layout'}:app docker://{self.target}"

    def dockpy_push(self) -> str:
        return f"{self.dockpy} push -q --tls-verify=false {self.target}"

    def fresh_registry(self) -> None:
        self.address_file.write_text(self.registries.fresh())

    def fresh_registry_for_dockpy(self) -> None:
        """A fresh registry, and the image tagged with its name in dockpy's root (a push takes the name)."""
        self.fresh_registry()
        self.run_dockpy("tag", "bench/app:1", f"{self.address_file.read_text()}/bench/app:1")

    def fresh_pull_targets(self) -> None:
        shutil.rmtree(self.work / "pulled-root", ignore_errors=True)
        shutil.rmtree(self.work / "pulled-layout", ignore_errors=True)

    def run_dockpy(self, *args: str) -> None:
        subprocess.run(dockpy_command(*args), env={**os.environ, **self.env}, check=True, stdout=subprocess.DEVNULL)


def largest_layer(layout: Path) -> tuple[Path, str]:
    """The file and digest of the largest layer of the one image in an OCI layout."""
    def blob(digest: str) -> Path:
        return layout / "blobs" / "sha256" / digest.removeprefix("sha256:")

    (entry,) = json.loads((layout / "index.json").read_text())["manifests"]
    layer = max(json.loads(blob(entry["digest"]).read_text())["layers"], key=lambda layer: layer["size"])
    return blob(layer["digest"]), layer["digest"]


def alternating(runs: int, *operations, registries: Registries | None = None) -> list[Timing]:
    """Time each ``(name, argv, env, setup)`` ``runs`` times, taking turns; one untimed round first.

    With ``registries``, the registry's CPU time in each timed run is kept too (``Registries.cpu``).
    """
    timings = {name: [] for name, *_ in operations}
    for round_number in range(runs + 1):
        for name, argv, env, setup in operations:
            run = _runner(argv, env)
            if registries is not None and round_number:
                run = registries.counting_cpu(name, run)
            timing = time_callable(name, run, runs=1, setup=setup, warmup=False, own_cpu=False)
            if round_number:
                timings[name].append(timing)
    return [Timing(name, tuple(t.seconds[0] for t in runs_of), tuple(t.cpu_seconds[0] for t in runs_of))
            for name, runs_of in timings.items()]


def _runner(argv: list[str], env: dict):
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **env}

    def run():
        result = subprocess.run(argv, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if result.returncode:  # a failing push is not a fast one
            sys.exit(f"registry_bench: {argv[-1]} failed: {result.stderr.decode(errors='replace').strip()}")

    return run


def sh(command: str) -> list[str]:
    return ["sh", "-c", command]


def ratios(timings, registry_cpu: dict[str, list[float]]) -> str:
    by_name = {timing.operation: timing for timing in timings}
    lines = [f"- {ours}: {by_name[ours].median / by_name[theirs].median:.2f}× skopeo"
             for ours, theirs in ((DOCKPY_PUSH, SKOPEO_PUSH), (DOCKPY_AGAIN, SKOPEO_AGAIN), (DOCKPY_PULL, SKOPEO_PULL))]
    lines.append(above_floor(DOCKPY_PUSH, UPLOAD_FLOOR, SKOPEO_PUSH, "Python, http.client and the layer's POST + PUT",
                             by_name))
    lines.append(above_floor(DOCKPY_AGAIN, FLOOR, SKOPEO_AGAIN, "Python, http.client and one HEAD", by_name))
    cpu = ", ".join(f"{who} {statistics.median(registry_cpu[name]):.2f} s"
                    for who, name in (("skopeo", SKOPEO_PUSH), ("dockpy", DOCKPY_PUSH), ("floor", UPLOAD_FLOOR)))
    lines.append(f"- the registry's own CPU per push to an empty registry (median): {cpu}")
    return "\n".join(lines)


def above_floor(ours: str, floor: str, theirs: str, what: str, by_name: dict) -> str:
    ours_median, floor_median = by_name[ours].median, by_name[floor].median
    return (f"- {ours}: {1000 * (ours_median - floor_median):.0f} ms (median) above the floor of {what} "
            f"({1000 * floor_median:.0f} ms); the floor alone is {floor_median / by_name[theirs].median:.2f}× skopeo")


if __name__ == "__main__":
    main()
