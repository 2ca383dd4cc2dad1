import os

import pytest

from dockpy.build.context import BuildContext, digest_sources
from dockpy.build.hashing import FileDigestCache
from dockpy.build.instructions import Source
from dockpy.dockerfile.dockerignore import IgnoreRules
from dockpy.errors import DockerfileError
from dockpy.metadata import open_database

SOURCE = Source("Dockerfile", 3, 3, "COPY x y")


@pytest.fixture
def context_dir(tmp_path):
    root = tmp_path / "ctx"
    for relative in ("a.py", "b.py", "c.txt", "src/d.py", "src/deep/e.py", "logs/x.log"):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(relative)
    return root


def test_a_wildcard_matches_within_one_component_sorted(context_dir):
    context = BuildContext(context_dir)
    assert [s.relative for s in context.resolve("*.py", SOURCE)] == ["a.py", "b.py"]
    assert [s.relative for s in context.resolve("src/*/e.py", SOURCE)] == ["src/deep/e.py"]


def test_a_leading_slash_and_dots_mean_the_context_root(context_dir):
    context = BuildContext(context_dir)
    assert context.resolve("/src/./d.py", SOURCE)[0].relative == "src/d.py"
    assert context.resolve(".", SOURCE)[0].is_dir


def test_ignored_paths_are_not_walked_or_matched(context_dir):
    context = BuildContext(context_dir, IgnoreRules.from_text("logs\n*.txt\n"))
    walked = [entry.relative for entry in context.walk(context.resolve(".", SOURCE)[0])]
    assert "logs" not in walked and "c.txt" not in walked and "src/deep/e.py" in walked
    with pytest.raises(DockerfileError, match="excluded by .dockerignore"):
        context.resolve("c.txt", SOURCE)


def test_a_symlink_inside_the_context_is_followed_for_a_source(context_dir):
    os.symlink("src", context_dir / "alias")
    assert BuildContext(context_dir).resolve("alias/d.py", SOURCE)[0].path.endswith("/src/d.py")


@pytest.mark.parametrize("target", ["/etc", "../..", "src/../../.."])
def test_a_symlink_leading_out_is_refused(context_dir, target):
    os.symlink(target, context_dir / "out")
    with pytest.raises(DockerfileError, match="Dockerfile:3: forbidden path outside the build context"):
        BuildContext(context_dir).resolve("out/passwd", SOURCE)


def test_the_digest_covers_content_and_mode_but_not_times(storage_root, context_dir):
    context = BuildContext(context_dir)
    cache = FileDigestCache(open_database(storage_root), str(context_dir))

    def digest():
        source = context.resolve("src", SOURCE)[0]
        return digest_sources([(source, context.walk(source))], cache)[0]

    before = digest()
    os.utime(context_dir / "src/d.py", (1, 1))
    assert digest() == before
    os.chmod(context_dir / "src/d.py", 0o600)
    assert digest() != before
