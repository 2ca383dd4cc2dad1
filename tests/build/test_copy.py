"""COPY and ADD end to end: placement rules, ownership, sources, the context's boundaries."""

import io
import os
import stat
import tarfile

import pytest

from dockpy.build.context import BuildContext
from dockpy.build.copy_instruction import context_files_to_copy
from dockpy.build.progress import StepCached
from dockpy.errors import DockerfileError, DockpyError, UnsafeArchiveError
from tests.build.conftest import image_files, plan


def files_of(build, result):
    return image_files(build.root, result.image)


def test_a_directory_source_copies_its_contents_not_itself(build):
    result, _ = build("FROM busybox\nCOPY app /srv\n", {"app/a.txt": "a", "app/sub/b.txt": "b"})
    files = files_of(build, result)
    assert (files / "srv/a.txt").read_text() == "a"
    assert (files / "srv/sub/b.txt").read_text() == "b"
    assert not (files / "srv/app").exists()


def test_a_file_lands_at_the_destination_or_inside_it_with_a_trailing_slash(build):
    result, _ = build("FROM busybox\nCOPY a.txt /one\nCOPY a.txt /two/\nCOPY a.txt /etc\n", {"a.txt": "x"})
    files = files_of(build, result)
    assert (files / "one").read_text() == "x"
    assert (files / "two/a.txt").read_text() == "x"
    assert (files / "etc/a.txt").read_text() == "x"  # /etc exists in the image: copied into it


def test_a_relative_destination_is_relative_to_workdir(build):
    result, _ = build("FROM busybox\nWORKDIR /app\nCOPY a.txt ./\nCOPY a.txt b.txt\n", {"a.txt": "x"})
    files = files_of(build, result)
    assert (files / "app/a.txt").is_file() and (files / "app/b.txt").is_file()


def test_wildcards_match_one_component(build):
    result, _ = build("FROM busybox\nCOPY src/*.py /dst/\n",
                      {"src/a.py": "a", "src/b.py": "b", "src/c.txt": "c", "src/d/e.py": "e"})
    assert sorted(os.listdir(files_of(build, result) / "dst")) == ["a.py", "b.py"]


def test_a_wildcard_that_matches_nothing_is_an_error(build):
    with pytest.raises(DockerfileError, match="Dockerfile:2: no source files were specified"):
        build("FROM busybox\nCOPY *.nothing /dst/\n")


def test_several_sources_need_a_destination_ending_in_a_slash(build):
    with pytest.raises(DockerfileError, match="must be a directory and end with a /"):
        build("FROM busybox\nCOPY a b /dst\n", {"a": "", "b": ""})


def test_a_missing_source_names_the_line(build):
    with pytest.raises(DockerfileError, match=r"Dockerfile:2: 'nope': not found"):
        build("FROM busybox\nCOPY nope /dst\n")


def test_dockerignore_hides_files_from_copies(build):
    result, _ = build("FROM busybox\nCOPY . /ctx/\n", {".dockerignore": "*.log\n!keep.log\n", "a.log": "",
                                                       "keep.log": "", "x.txt": ""})
    names = sorted(os.listdir(files_of(build, result) / "ctx"))
    assert names == [".dockerignore", "Dockerfile", "keep.log", "x.txt"]


def test_copying_an_ignored_file_is_not_found(build):
    with pytest.raises(DockerfileError, match="excluded by .dockerignore"):
        build("FROM busybox\nCOPY secret.txt /\n", {".dockerignore": "secret.txt\n", "secret.txt": "s"})


def test_a_source_climbing_out_of_the_context_is_refused(build):
    with pytest.raises(DockerfileError, match="forbidden path outside the build context"):
        build("FROM busybox\nCOPY ../outside /x\n")


def test_a_symlink_leading_out_of_the_context_is_refused(build):
    os.symlink("/etc", build.context / "escape")
    with pytest.raises(DockerfileError, match="forbidden path outside the build context"):
        build("FROM busybox\nCOPY escape/passwd /x\n")


def test_symlinks_inside_a_copied_directory_stay_symlinks(build):
    (build.context / "d").mkdir()
    os.symlink("/etc/passwd", build.context / "d/link")
    result, _ = build("FROM busybox\nCOPY d /d\n")
    assert os.readlink(files_of(build, result) / "d/link") == "/etc/passwd"


def test_copied_files_are_owned_by_root_and_keep_their_mode(build):
    (build.context / "tool").write_text("#!/bin/sh\n")
    os.chmod(build.context / "tool", 0o750)
    os.chown(build.context / "tool", 1234, 1234)
    result, _ = build("FROM busybox\nCOPY tool /tool\n")
    st = os.lstat(files_of(build, result) / "tool")
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, 0o750)


def test_chown_names_come_from_the_images_own_passwd_and_group(build):
    result, _ = build("FROM busybox\nCOPY --chown=www-data:staff a /a\nCOPY --chown=1000 a /b\n", {"a": "x"})
    files = files_of(build, result)
    assert (os.lstat(files / "a").st_uid, os.lstat(files / "a").st_gid) == (33, 50)
    assert (os.lstat(files / "b").st_uid, os.lstat(files / "b").st_gid) == (1000, 1000)


def test_an_unknown_chown_user_fails_the_step(build):
    with pytest.raises(DockpyError, match="unable to find user nosuchuser"):
        build("FROM busybox\nCOPY --chown=nosuchuser a /a\n", {"a": "x"})


def test_chmod_sets_the_mode_of_everything_copied(build):
    result, _ = build("FROM busybox\nCOPY --chmod=0600 d /d\n", {"d/f": "x"})
    assert stat.S_IMODE(os.lstat(files_of(build, result) / "d/f").st_mode) == 0o600


def test_parents_keeps_the_source_paths(build):
    result, _ = build("FROM busybox\nCOPY --parents a/b/c.txt x/*.txt /dst/\n", {"a/b/c.txt": "c", "x/y.txt": "y"})
    files = files_of(build, result)
    assert (files / "dst/a/b/c.txt").read_text() == "c"
    assert (files / "dst/x/y.txt").read_text() == "y"


def test_exclude_leaves_matching_paths_out(build):
    result, _ = build("FROM busybox\nCOPY --exclude=*.o src /src\n", {"src/a.c": "", "src/a.o": ""})
    assert sorted(os.listdir(files_of(build, result) / "src")) == ["a.c"]


def test_heredoc_sources_become_files_with_variables_expanded(build):
    result, _ = build('FROM busybox\nENV NAME=world\nCOPY <<EOF <<"RAW" /etc/\nhello $NAME\nEOF\n$NAME\nRAW\n')
    files = files_of(build, result)
    assert (files / "etc/EOF").read_text() == "hello world\n"
    assert (files / "etc/RAW").read_text() == "$NAME\n"


def test_copy_from_an_earlier_stage(build):
    result, _ = build("FROM busybox AS one\nCOPY a /made/a\nFROM busybox\nCOPY --from=one /made /got\n", {"a": "x"})
    assert (files_of(build, result) / "got/a").read_text() == "x"


def test_copy_from_an_image(build):
    result, _ = build("FROM scratch\nCOPY --from=busybox /bin/busybox /busybox\n")
    assert (files_of(build, result) / "busybox").stat().st_size > 100_000


def test_copy_link_makes_a_layer_independent_of_the_layers_below(build):
    result, _ = build("FROM busybox\nCOPY --link a /opt/a\n", {"a": "x"})
    assert (files_of(build, result) / "opt/a").read_text() == "x"
    other, events = build("FROM busybox\nCOPY b /b\nCOPY --link a /opt/a\n", {"b": "y"})
    assert other.image.layers[-1] == result.image.layers[-1]
    assert len(events.of(StepCached)) == 1  # the linked copy, on a different parent


def _tar_bytes(members: dict[str, bytes], compression: str = "") -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=f"w:{compression}") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.mark.parametrize("compression", ["", "gz", "bz2", "xz"])
def test_add_extracts_a_local_tar_archive(build, compression):
    result, _ = build("FROM busybox\nADD site.tar /srv/\n", {"site.tar": _tar_bytes({"a/b.txt": b"b"}, compression)})
    assert (files_of(build, result) / "srv/a/b.txt").read_text() == "b"


def test_add_refuses_a_tar_that_escapes_its_destination(build):
    with pytest.raises(UnsafeArchiveError):
        build("FROM busybox\nADD evil.tar /srv/\n", {"evil.tar": _tar_bytes({"../../etc/evil": b"x"})})


def test_copy_does_not_extract_archives(build):
    result, _ = build("FROM busybox\nCOPY site.tar /srv/\n", {"site.tar": _tar_bytes({"a": b"a"})})
    assert (files_of(build, result) / "srv/site.tar").is_file()


def test_the_context_files_a_build_will_copy_are_named_before_it_runs(tmp_path):
    for name in ("app/main.py", "app/lib/util.py", "README", "ignored.txt", "other", "unused"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    (tmp_path / ".dockerignore").write_text("ignored.txt\n")
    build_plan = plan("FROM busybox AS a\nCOPY other /o\nFROM busybox AS b\nCOPY unused ignored.txt /u/\n"
                      "FROM busybox\nARG X\nCOPY app/ README /srv/\nCOPY $X /x\nCOPY --from=a /o /o2\n"
                      "COPY missing /m\nADD https://example.com/f /f\n", target=None)
    context = BuildContext.open(tmp_path, tmp_path / "Dockerfile")
    named = {os.path.relpath(path, tmp_path) for path, _ in context_files_to_copy(build_plan, context)}
    assert named == {"app", "app/main.py", "app/lib", "app/lib/util.py", "README", "other"}


def test_a_directory_copied_over_an_image_symlink_lands_where_it_points_inside_the_root(build):
    result, _ = build("FROM busybox\nRUN mkdir -p /real /app && ln -s /real /app/lib\nCOPY tree/ /app/\n",
                      {"tree/lib/deep/file": "x", "tree/top": "y"})
    files = image_files(build.root, result.image)
    assert (files / "real/deep/file").read_text() == "x"
    assert (files / "app/top").read_text() == "y"
    assert os.path.islink(files / "app/lib")
