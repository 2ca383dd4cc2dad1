"""Crash safety and concurrency, for real: dockpy processes SIGKILLed mid-operation, and run side by side.

After every kill, ``dockpy fsck`` must be clean and every revision that
existed before must still resolve to the same image and export.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dockpy.image.refs import Refs
from dockpy.image.rootfs_archive import export_rootfs
from dockpy.image.store import ImageStore
from dockpy.root import StorageRoot
from tests.rootfs_fixtures import rootfs_tar_bytes

pytestmark = pytest.mark.slow

KILLS_WANTED = 50
MAX_ATTEMPTS = 150  # some processes finish before their kill lands; they do not count
OPERATIONS = ("import", "import-untagged", "tag", "rollback", "gc")
TAGS = ("app:latest", "app:stable", "web:1")


def random_rootfs_tar(path: Path, rng: random.Random, size: int = 160_000) -> Path:
    """A rootfs tar with a few hundred KB of incompressible data, so a write takes a moment."""
    files = {"etc/": None, "etc/id": str(rng.random()).encode(), "data/": None}
    files.update({f"data/f{i}": rng.randbytes(size // 8) for i in range(8)})
    path.write_bytes(rootfs_tar_bytes(files))
    return path


def dockpy_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "dockpy", *args]


class CrashScenario:
    """Starts one random store operation and SIGKILLs it after a random delay."""

    def __init__(self, root: Path, tars: list[Path], scratch: Path, rng: random.Random):
        self.env = {**os.environ, "DOCKPY_ROOT": str(root), "SOURCE_DATE_EPOCH": "1700000000"}
        self.tars, self.scratch, self.rng = tars, scratch, rng
        self.durations: dict[str, float] = {}

    def argv(self, operation: str) -> list[str]:
        rng = self.rng
        if operation == "import":
            return dockpy_argv("import", str(rng.choice(self.tars)), rng.choice(TAGS))
        if operation == "import-untagged":  # fresh content: garbage for the next gc
            return dockpy_argv("import", str(random_rootfs_tar(self.scratch / "fresh.tar", rng)))
        if operation == "tag":
            return dockpy_argv("tag", rng.choice(TAGS), rng.choice(TAGS))
        if operation == "rollback":
            return dockpy_argv("rollback", rng.choice(TAGS))
        return dockpy_argv("gc")

    def measure(self, operation: str) -> None:
        """How long the operation takes when left alone: kills are spread over that span."""
        start = time.monotonic()
        subprocess.run(self.argv(operation), env=self.env, capture_output=True)
        self.durations[operation] = time.monotonic() - start

    def run_and_kill(self, operation: str) -> bool:
        """True if the process was killed before it finished."""
        process = subprocess.Popen(self.argv(operation), env=self.env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        time.sleep(self.rng.uniform(0.0, self.durations[operation]))
        process.send_signal(signal.SIGKILL)
        return process.wait() == -signal.SIGKILL


def revisions_by_reference(root: Path) -> dict[str, str]:
    with Refs(StorageRoot(root)) as refs:
        return {r.reference: r.image_id for name_tag in _tags(refs) for r in refs.log(name_tag)}


def assert_revisions_resolve_and_export(root: Path, expected: dict[str, str]) -> None:
    exported = set()
    with ImageStore(StorageRoot(root)) as store:
        for reference, image_id in expected.items():
            manifest_digest = store.find(reference)
            assert store.resolve(reference).id == image_id, reference
            if manifest_digest not in exported:  # export is a function of the manifest: once each
                with open(os.devnull, "wb") as sink:
                    export_rootfs(store, reference, sink)
                exported.add(manifest_digest)


def assert_fsck_clean(env: dict) -> None:
    result = subprocess.run(dockpy_argv("fsck"), env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_sigkill_at_random_moments_never_breaks_the_store(tmp_path):
    rng = random.Random(3)
    root = tmp_path / "root"
    tars = [random_rootfs_tar(tmp_path / f"pool{i}.tar", rng) for i in range(3)]
    scenario = CrashScenario(root, tars, tmp_path, rng)
    for tag, tar in zip(TAGS, tars):
        subprocess.run(dockpy_argv("import", str(tar), tag), env=scenario.env, check=True, capture_output=True)
    for operation in OPERATIONS:
        scenario.measure(operation)
    kills = attempts = 0
    while kills < KILLS_WANTED and attempts < MAX_ATTEMPTS:
        before = revisions_by_reference(root)
        operation = OPERATIONS[attempts % len(OPERATIONS)]
        kills += scenario.run_and_kill(operation)
        attempts += 1
        assert_fsck_clean(scenario.env)
        assert_revisions_resolve_and_export(root, before)
    assert kills >= KILLS_WANTED, f"only {kills} of {attempts} processes were killed before they finished"


def test_four_processes_importing_and_tagging_at_once_all_succeed(tmp_path):
    rng = random.Random(4)
    env = {**os.environ, "DOCKPY_ROOT": str(tmp_path / "root")}
    tars = [random_rootfs_tar(tmp_path / f"w{i}.tar", rng, size=100_000) for i in range(4)]
    workers = [
        subprocess.Popen(
            ["sh", "-ec", _worker_script(i, tars[i])], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        for i in range(4)
    ]
    collector = subprocess.Popen(["sh", "-ec", " ; ".join([" ".join(dockpy_argv("gc"))] * 3)], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for worker in workers:
        _, stderr = worker.communicate(timeout=300)
        assert worker.returncode == 0, stderr.decode()
    assert collector.wait(timeout=300) == 0, collector.stderr.read().decode()
    assert_fsck_clean(env)
    revisions = revisions_by_reference(tmp_path / "root")
    shared = sorted(int(reference.rsplit("@", 1)[1]) for reference in revisions if reference.startswith("shared:"))
    assert shared == list(range(1, len(shared) + 1)) and len(shared) >= 4
    assert {f"w{i}:latest@1" for i in range(4)} <= set(revisions)
    assert_revisions_resolve_and_export(tmp_path / "root", revisions)


def _worker_script(index: int, tar: Path) -> str:
    dockpy = " ".join(dockpy_argv())
    return "\n".join([
        f"{dockpy} import {tar} w{index} >/dev/null",
        f"{dockpy} tag w{index} shared:latest",
        f"{dockpy} import {tar} shared:latest >/dev/null",
        f"{dockpy} tag shared:latest w{index}:copy",
        f"{dockpy} rollback shared:latest >/dev/null",
    ])


def _tags(refs: Refs) -> list[str]:
    return [f"{s.repository}:{s.tag}" for s in refs.images() if s.repository is not None]
