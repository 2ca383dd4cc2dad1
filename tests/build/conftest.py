"""Helpers for the builder's tests: Dockerfiles from text, and whole builds in a storage root seeded once per
session with the busybox template image."""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from dockpy.image.base_images import find_base_image
from dockpy.build.builder import build_image
from dockpy.build.instructions import parse_instruction
from dockpy.build.options import BuildOptions
from dockpy.build.progress import Progress
from dockpy.build.stages import plan_build
from dockpy.dockerfile import parse_dockerfile
from dockpy.image.store import ImageStore
from dockpy.root import StorageRoot


def dockerfile(text: str):
    return parse_dockerfile(textwrap.dedent(text).lstrip().encode())


def command(line: str):
    """The typed command of a one-instruction Dockerfile line."""
    return parse_instruction(parse_dockerfile(line.encode()).instructions[0])


def plan(text: str, **options):
    return plan_build(dockerfile(text), **options)


# -- end-to-end builds ------------------------------------------------------------------------------




@pytest.fixture(scope="session")
def busybox_root(tmp_path_factory) -> StorageRoot:
    """A storage root holding the busybox template image, made once per session."""
    if os.geteuid() != 0:
        pytest.skip("needs root (overlay mounts, file owners)")
    if not Path("/bin/busybox").exists():
        pytest.skip("the busybox template needs /bin/busybox (apt-get install busybox-static)")
    root = StorageRoot(tmp_path_factory.mktemp("seed") / "root").create()
    with ImageStore(root) as store:
        find_base_image(store, "busybox", epoch=None)
    return root


@pytest.fixture
def build_root(busybox_root, tmp_path, monkeypatch) -> StorageRoot:
    """A fresh storage root with the busybox image already in it (a copy of the session's seed)."""
    target = tmp_path / "root"
    subprocess.run(["cp", "-a", str(busybox_root.path), str(target)], check=True)
    monkeypatch.setenv("DOCKPY_ROOT", str(target))
    return StorageRoot(target)


class Events(list):
    """A progress renderer that keeps the events."""

    def __call__(self, event):
        self.append(event)

    def of(self, kind):
        return [event for event in self if isinstance(event, kind)]


@pytest.fixture
def build(build_root, tmp_path):
    """``build(dockerfile_text, files={path: text}, **options) -> (BuildResult, events)`` in one context dir."""
    context = tmp_path / "context"
    context.mkdir()

    def run(text: str, files: dict | None = None, root: StorageRoot | None = None, **options):
        (context / "Dockerfile").write_text(textwrap.dedent(text).lstrip())
        for relative, content in (files or {}).items():
            path = context / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content if isinstance(content, bytes) else content.encode())
        events = Events()
        result = build_image(root or build_root, BuildOptions(str(context), **options), Progress(events))
        return result, events

    run.context = context
    run.root = build_root
    return run


def image_files(root: StorageRoot, image) -> Path:
    """The image's layers applied into one plain directory, for assertions on its files."""
    from dockpy.layers.compression import open_layer
    from dockpy.layers.tarapply import apply_layer

    target = Path(root.path).parent / f"files-{image.id.hex[:12]}"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir()
    with ImageStore(root) as store:
        for layer in image.layers:
            with open_layer(store.content, layer.digest) as tar:
                apply_layer(tar, target, whiteout_mode="delete")
    return target
