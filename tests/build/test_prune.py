"""``builder prune`` drops the whole build cache, keeps what images use and cache mounts in use."""

from __future__ import annotations

import os

from dockpy.build.cachemounts import CACHE_MOUNTS_DIRECTORY, cache_mount_directory
from dockpy.build.progress import StepCached, StepOutput
from dockpy.build.prune import prune_build_cache
from dockpy.build.runmounts import RunMount
from dockpy.image.disk_usage import disk_usage
from dockpy.image.gc import collect_garbage
from dockpy.image.store import ImageStore
from tests.build.conftest import image_files

DOCKERFILE = ("FROM busybox\nRUN echo layer > /layer\n"
              "RUN --mount=type=cache,target=/c ls /c && touch /c/seen\n")


def prune(root):
    with ImageStore(root) as store:
        return prune_build_cache(store)


def test_after_a_prune_every_step_runs_again_and_cache_mounts_start_empty(build):
    build(DOCKERFILE)
    report = prune(build.root)
    assert report.cache_entries == 2 and report.cache_mounts == 1 and report.reclaimed_bytes > 0
    _, events = build(DOCKERFILE)
    assert not events.of(StepCached)
    assert [event.line for event in events.of(StepOutput)] == []  # /c was empty again


def test_a_prune_keeps_the_layers_of_tagged_images(build):
    result, _ = build(DOCKERFILE, tags=("app",))
    prune(build.root)
    assert (image_files(build.root, result.image) / "layer").read_text() == "layer\n"


def test_a_cache_mount_a_running_step_holds_is_kept(build):
    build(DOCKERFILE)
    mount = RunMount("cache", "/c", read_only=False, id="/c")
    with cache_mount_directory(str(build.root.path), mount) as held:
        report = prune(build.root)
        assert report.cache_mounts == 0 and report.cache_mounts_in_use == 1
        assert os.listdir(held) == ["seen"]


def test_a_prune_of_a_root_that_never_built_removes_nothing(build_root):
    assert tuple(prune(build_root)) == (0, 0, 0, 0)
    assert not (build_root.path / CACHE_MOUNTS_DIRECTORY).exists()


def build_cache_usage(root):
    with ImageStore(root) as store:
        return next(line for line in disk_usage(store) if line.kind == "Build Cache")


def test_system_df_shows_the_layers_only_the_cache_keeps_as_build_cache_until_a_prune(build):
    build("FROM busybox\nRUN echo layer > /layer\n")  # untagged: gc drops the image, the cache keeps its layer
    with ImageStore(build.root) as store:
        collect_garbage(store)
    before = build_cache_usage(build.root)
    assert before.total == 1 and before.reclaimable == before.size > 0
    prune(build.root)
    assert build_cache_usage(build.root).total == 0
