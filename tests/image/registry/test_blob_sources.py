"""Where blobs are known to live in registries, per storage root."""

import pytest

from dockpy.image.refs import Refs
from dockpy.image.registry import blob_sources
from dockpy.layers.digests import Digest

LAYER = Digest("sha256:" + "1" * 64)
OTHER = Digest("sha256:" + "2" * 64)


@pytest.fixture
def db(storage_root):
    with Refs(storage_root) as refs:
        yield refs.db


def test_a_blob_never_seen_has_no_known_repository(db):
    assert blob_sources.known_repositories(db, "registry.example", [LAYER]) == {LAYER: []}


def test_the_most_recently_seen_repository_comes_first(db, monkeypatch):
    for now, repository in ((100.0, "team/old"), (200.0, "team/new")):
        monkeypatch.setattr(blob_sources.time, "time", lambda now=now: now)
        blob_sources.remember(db, "registry.example", repository, [LAYER])
    assert blob_sources.known_repositories(db, "registry.example", [LAYER]) == {LAYER: ["team/new", "team/old"]}


def test_repositories_are_known_per_registry_and_per_blob(db):
    blob_sources.remember(db, "registry.example", "team/app", [LAYER])
    blob_sources.remember(db, "registry.example", "team/app", [LAYER])  # again: still one row
    assert blob_sources.known_repositories(db, "registry.example", [LAYER, OTHER]) == {LAYER: ["team/app"], OTHER: []}
    assert blob_sources.known_repositories(db, "mirror.example", [LAYER]) == {LAYER: []}
