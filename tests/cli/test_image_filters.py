"""``images -f``: Docker's reference glob, labels, before and since, on images made in-process (no root needed)."""

import io
import time

import pytest

from dockpy.cli import main
from dockpy.cli.image_filters import glob_pattern
from dockpy.image.oci import ContainerConfig
from dockpy.image.rootfs_archive import import_rootfs
from dockpy.image.store import ImageStore
from dockpy.root import StorageRoot
from tests.rootfs_fixtures import rootfs_tar_bytes


def make_image(store: ImageStore, name_tag: str, content: bytes, labels=None, created=None):
    """A one-file image tagged ``name_tag``, with ``labels`` in its config and created at ``created``."""
    image = import_rootfs(store, io.BytesIO(rootfs_tar_bytes({"etc/": None, "etc/version": content})), source="-")[0]
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created))
    config = image.config.replace(config=ContainerConfig(labels=labels), created=stamp)
    store.add_revision(name_tag, store.put_image(config, image.layers), operation="import")


@pytest.fixture
def images(storage_root: StorageRoot):
    """app:1 (oldest, label tier=front), app:2, lib/tool:dev (newest, label tier=back)."""
    now = time.time()
    with ImageStore(storage_root) as store:
        make_image(store, "app:1", b"1", labels={"tier": "front", "team": "a"}, created=now - 300)
        make_image(store, "app:2", b"2", created=now - 200)
        make_image(store, "lib/tool:dev", b"3", labels={"tier": "back"}, created=now - 100)


def listed(capsys, *filters) -> list[str]:
    assert main(["images", *filters, "--format", "{{.Repository}}:{{.Tag}}"]) == 0
    return sorted(capsys.readouterr().out.split())


def test_a_reference_filter_matches_a_name_glob(images, capsys):
    assert listed(capsys, "-f", "reference=app") == ["app:1", "app:2"]
    assert listed(capsys, "-f", "reference=a*") == ["app:1", "app:2"]


def test_a_reference_glob_matches_name_and_tag(images, capsys):
    assert listed(capsys, "-f", "reference=app:2") == ["app:2"]
    assert listed(capsys, "-f", "reference=*:d?v") == []  # * stops at the slash of lib/tool
    assert listed(capsys, "-f", "reference=*/*:d?v") == ["lib/tool:dev"]


def test_repeated_reference_filters_keep_images_matching_any(images, capsys):
    assert listed(capsys, "-f", "reference=app:1", "-f", "reference=lib/*") == ["app:1", "lib/tool:dev"]


def test_a_label_filter_matches_the_key_or_the_key_and_value(images, capsys):
    assert listed(capsys, "-f", "label=tier") == ["app:1", "lib/tool:dev"]
    assert listed(capsys, "-f", "label=tier=back") == ["lib/tool:dev"]
    assert listed(capsys, "-f", "label=tier", "-f", "label=team=a") == ["app:1"]


def test_before_and_since_compare_creation_with_the_named_image(images, capsys):
    assert listed(capsys, "-f", "before=app:2") == ["app:1"]
    # (the untagged images make_image started from are newer still)
    assert listed(capsys, "-f", "since=app:2", "-f", "dangling=false") == ["lib/tool:dev"]


def test_different_filter_keys_must_all_hold(images, capsys):
    assert listed(capsys, "-f", "since=app:1", "-f", "reference=app") == ["app:2"]


def test_a_before_filter_naming_no_image_is_refused(images, capsys):
    assert main(["images", "-f", "before=ghost"]) == 125
    assert "no such image: ghost" in capsys.readouterr().err


@pytest.mark.parametrize("glob, text, matches", [
    ("a?p", "app", True), ("a?p", "a/p", False), ("[a-c]pp", "bpp", True), ("[^a-c]pp", "bpp", False),
    ("a\\*", "a*", True), ("a\\*", "ab", False), ("a.p", "abp", False),
])
def test_a_glob_reads_as_gos_path_match(glob, text, matches):
    assert bool(glob_pattern(glob).fullmatch(text)) == matches


def test_an_unclosed_class_in_a_reference_glob_is_refused(images, capsys):
    assert main(["images", "-f", "reference=app[x"]) == 125
    assert "invalid filter 'reference=app[x'" in capsys.readouterr().err
