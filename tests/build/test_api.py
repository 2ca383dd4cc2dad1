"""The library entry point: unchanged requests are answered from the record of the build that made the image."""

import os

from dockpy.build.api import build
from dockpy.build.options import BuildOptions
from dockpy.image.store import ImageStore


def _options(context, **options):
    return BuildOptions(str(context), **options)


def _context(tmp_path, text="FROM busybox\nCOPY a /a\n"):
    context = tmp_path / "api-context"
    context.mkdir(exist_ok=True)
    (context / "Dockerfile").write_text(text)
    (context / "a").write_text("a")
    return context


def test_an_unchanged_request_reuses_the_recorded_build(build_root, tmp_path):
    context = _context(tmp_path)
    first = build(build_root, _options(context, tags=("api:1",)))
    second = build(build_root, _options(context, tags=("api:1",)))
    assert not first.reused and second.reused
    assert second.image_id == first.image_id


def test_any_change_to_a_context_file_takes_the_full_path(build_root, tmp_path):
    context = _context(tmp_path)
    first = build(build_root, _options(context))
    os.utime(context / "a", ns=(1, 1))
    second = build(build_root, _options(context))
    assert not second.reused and second.image_id == first.image_id


def test_no_cache_never_reuses(build_root, tmp_path):
    context = _context(tmp_path)
    build(build_root, _options(context))
    assert not build(build_root, _options(context, no_cache=True)).reused


def test_a_moved_base_tag_takes_the_full_path(build_root, tmp_path):
    base = tmp_path / "base"
    base.mkdir()
    (base / "Dockerfile").write_text("FROM busybox\nCOPY Dockerfile /base\n")
    build(build_root, _options(base, tags=("mybase:1",)))
    context = _context(tmp_path, "FROM mybase:1\nCOPY a /a\n")
    build(build_root, _options(context))
    (base / "Dockerfile").write_text("FROM busybox\nCOPY Dockerfile /base2\n")
    build(build_root, _options(base, tags=("mybase:1",)))
    assert not build(build_root, _options(context)).reused


def test_a_tag_moved_away_is_pointed_back_by_a_full_build(build_root, tmp_path):
    context = _context(tmp_path)
    first = build(build_root, _options(context, tags=("moved:1",)))
    with ImageStore(build_root) as store:
        store.tag("busybox", "moved:1")
    again = build(build_root, _options(context, tags=("moved:1",)))
    assert not again.reused
    with ImageStore(build_root) as store:
        assert store.resolve("moved:1").id == first.image_id
