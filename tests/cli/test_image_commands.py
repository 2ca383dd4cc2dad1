"""The image commands end to end, as a user runs them: import, images, log, history, inspect, tag,
rollback, rmi, diff, export, fsck, gc and system df; and bad input everywhere."""

import io
import json
import os
import subprocess
import tarfile

import pytest

from dockpy.image.rootfs_archive import import_rootfs
from dockpy.image.store import ImageStore
from tests.conftest import requires_root
from tests.rootfs_fixtures import rootfs_tar_bytes
from tests.store_listing import store_listing


@pytest.fixture
def tars(tmp_path):
    """Two small rootfs tars, v1 and v2 (v2 changes one file, removes one, adds one)."""
    v1 = rootfs_tar_bytes({"etc/": None, "etc/version": b"1\n", "etc/old": b"o", "bin/": None, "bin/app": b"A" * 1000})
    v2 = rootfs_tar_bytes({"etc/": None, "etc/version": b"22\n", "etc/new": b"n", "bin/": None, "bin/app": b"A" * 1000})
    (tmp_path / "v1.tar").write_bytes(v1)
    (tmp_path / "v2.tar").write_bytes(v2)
    return tmp_path / "v1.tar", tmp_path / "v2.tar"


@pytest.fixture
def app(storage_root, tars):
    """app:latest with two revisions (v1, then v2), imported in-process to save start-ups; their image ids."""
    with ImageStore(storage_root) as store:
        ids = [import_rootfs(store, tar.open("rb"), "app", source=str(tar), message=message)[0].id
               for tar, message in zip(tars, ("first", "second"))]
    return tuple(ids)


def json_of(result):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def assert_one_error_line(result, *fragments):
    assert result.returncode == 125
    lines = result.stderr.splitlines()
    assert lines and lines[0].startswith("dockpy: error: "), result.stderr
    assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("hint: ")), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_import_prints_the_image_id_and_images_lists_the_tag(dockpy, storage_root, tars):
    image_id = dockpy("import", str(tars[0]), "app", "-m", "first", check=True).stdout.strip()
    assert image_id.startswith("sha256:")
    table = dockpy("images", check=True).stdout.splitlines()
    assert table[0].split() == ["REPOSITORY", "TAG", "REV", "IMAGE", "ID", "CREATED", "SIZE"]
    assert table[1].split()[:4] == ["app", "latest", "1", image_id.removeprefix("sha256:")[:12]]


def test_import_reads_standard_input_and_can_leave_the_image_untagged(dockpy, storage_root, tars):
    image_id = dockpy("import", "-", input=tars[1].read_bytes(), check=True).stdout.strip()
    (entry,) = json_of(dockpy("images", "--format", "json"))
    assert (entry["Repository"], entry["Id"]) == (None, image_id)


def test_images_json_and_quiet_and_filter(dockpy, app):
    (entry,) = json_of(dockpy("images", "--format", "json"))
    assert (entry["Repository"], entry["Tag"], entry["Revision"], entry["Id"]) == ("app", "latest", 2, app[1])
    assert dockpy("images", "-q", check=True).stdout.split() == [app[1].removeprefix("sha256:")[:12]]
    assert dockpy("images", "other", check=True).stdout.splitlines()[1:] == []


def test_images_all_also_lists_the_images_only_earlier_revisions_name(dockpy, app):
    short = [image_id.removeprefix("sha256:")[:12] for image_id in app]
    assert dockpy("images", "-q", check=True).stdout.split() == [short[1]]
    assert dockpy("images", "-a", "-q", check=True).stdout.split() == [short[1], short[0]]
    old_revision_row = dockpy("images", "--all", check=True).stdout.splitlines()[2]
    assert old_revision_row.split()[:4] == ["<none>", "<none>", "-", short[0]]


@pytest.mark.parametrize("flag, value, listed", [
    ("-f", "dangling=true", 0), ("--filter", "dangling=1", 0), ("-f", "dangling=false", 1), ("-f", "dangling=FALSE", 1),
])
def test_images_dangling_filter_keeps_images_no_tag_points_at_now_or_the_others(dockpy, app, flag, value, listed):
    ids = [entry["Id"] for entry in json_of(dockpy("images", flag, value, "--format", "json"))]
    assert ids == [app[listed]]


def test_log_shows_revisions_newest_first(dockpy, app):
    table = dockpy("log", "app", check=True).stdout.splitlines()
    assert table[0].split() == ["REV", "IMAGE", "ID", "CREATED", "AUTHOR", "OPERATION", "MESSAGE"]
    assert [line.split()[0] for line in table[1:]] == ["2", "1"]
    entries = json_of(dockpy("log", "app:latest", "--format", "json"))
    assert [(e["Revision"], e["Id"], e["Operation"], e["Message"]) for e in entries] == [
        (2, app[1], "import", "second"), (1, app[0], "import", "first"),
    ]


def test_history_shows_the_import_comment(dockpy, app):
    table = dockpy("history", "app@1", check=True).stdout.splitlines()
    assert table[0].split()[:4] == ["IMAGE", "CREATED", "CREATED", "BY"]
    assert table[1].split()[0] == app[0].removeprefix("sha256:")[:12]
    (row,) = json_of(dockpy("history", "app", "--format", "json"))
    assert (row["Id"], row["Comment"]) == (app[1], "second")


def test_inspect_prints_a_json_array_like_docker(dockpy, app):
    (document,) = json_of(dockpy("inspect", "app"))
    assert (document["Id"], document["RepoTags"], document["Os"]) == (app[1], ["app:latest"], "linux")
    assert document["RootFS"]["Type"] == "layers" and len(document["RootFS"]["Layers"]) == 1
    assert document["Revisions"] == ["app:latest@2"]


def test_tag_adds_a_revision_to_the_target(dockpy, app):
    dockpy("tag", "app@1", "localhost:5000/app:v1", "-m", "release", check=True)
    (entry,) = json_of(dockpy("log", "localhost:5000/app:v1", "--format", "json"))
    assert (entry["Id"], entry["Operation"], entry["Message"]) == (app[0], "tag", "release")


def test_rollback_then_undo_then_rollback_to_a_revision(dockpy, app):
    assert dockpy("rollback", "app", check=True).stdout.startswith("app:latest@3: ")
    assert json_of(dockpy("inspect", "app"))[0]["Id"] == app[0]
    dockpy("rollback", "app", check=True)
    assert json_of(dockpy("inspect", "app"))[0]["Id"] == app[1]
    dockpy("rollback", "app", "--to", "1", "-m", "bad release", check=True)
    entries = json_of(dockpy("log", "app", "--format", "json"))
    assert [(e["Revision"], e["Id"], e["Operation"]) for e in entries[:3]] == [
        (5, app[0], "rollback"), (4, app[1], "rollback"), (3, app[0], "rollback"),
    ]
    assert entries[0]["Message"] == "bad release"


def test_rmi_untags_and_deletes_what_only_that_tag_kept(dockpy, app, storage_root):
    result = dockpy("rmi", "app", check=True).stdout.splitlines()
    assert result[0] == "Untagged: app:latest"
    assert sorted(result[1:]) == sorted([f"Deleted: {app[0]}", f"Deleted: {app[1]}"])
    assert list((storage_root.blobs / "sha256").iterdir()) == []


@requires_root
def test_diff_between_two_revisions(dockpy, app):
    assert dockpy("diff", "app@1", "app@2", check=True).stdout.splitlines() == [
        "C /etc", "A /etc/new", "D /etc/old", "C /etc/version",
    ]


def test_diff_of_one_image_says_that_two_are_compared(dockpy, app):
    result = dockpy("diff", "app")
    assert_one_error_line(result, "no such container: app")
    assert result.stderr.splitlines()[1] == "hint: app is an image; to compare images, name two: dockpy diff app@1 app"
    assert dockpy("diff", "ghost").stderr.splitlines() == ["dockpy: error: no such container: ghost"]


def test_export_writes_the_rootfs(dockpy, app, tmp_path, tars):
    dockpy("export", "app@1", "-o", str(tmp_path / "out.tar"), check=True)
    with tarfile.open(tmp_path / "out.tar") as exported, tarfile.open(tars[0]) as original:
        assert sorted(exported.getnames()) == sorted(original.getnames())


def test_export_to_standard_output(dockpy, app):
    result = subprocess.run(
        [*dockpy("--version").args[:3], "export", "app"], capture_output=True, env=os.environ, check=True
    )
    with tarfile.open(fileobj=io.BytesIO(result.stdout)) as exported:
        assert "etc/new" in exported.getnames()


def test_export_of_an_unknown_name_says_it_is_neither_a_container_nor_an_image(dockpy, app, tmp_path):
    result = dockpy("export", "nosuch", "-o", str(tmp_path / "out.tar"))
    assert_one_error_line(result, "no such image: nosuch")
    assert result.stderr.splitlines()[1] == "hint: No container is named nosuch either."
    assert not (tmp_path / "out.tar").exists()


def test_fsck_is_clean_on_a_whole_store(dockpy, app):
    result = dockpy("fsck", check=True)
    assert result.stdout.startswith("checked 6 blobs, 2 images, 2 revisions")


def test_fsck_reports_a_corrupt_blob_and_fails(dockpy, app, storage_root):
    (document,) = json_of(dockpy("inspect", "app@1"))
    layer = storage_root.blobs / "sha256" / document["Manifest"]["Layers"][0]["digest"].removeprefix("sha256:")
    layer.chmod(0o644)
    layer.write_bytes(layer.read_bytes()[:-1] + b"!")
    result = dockpy("fsck")
    assert_one_error_line(result, "fsck found 2 problems")
    assert "is corrupt" in result.stdout and "app:latest@1" in result.stdout


def test_fsck_reports_a_missing_blob(dockpy, app, storage_root):
    (document,) = json_of(dockpy("inspect", "app@2"))
    (storage_root.blobs / "sha256" / document["Id"].removeprefix("sha256:")).unlink()
    result = dockpy("fsck")
    assert_one_error_line(result, "fsck found 1 problems")
    assert "app:latest@2" in result.stdout and "missing" in result.stdout


def test_gc_keeps_history_and_removes_what_is_unreachable(dockpy, app, tars):
    untagged = dockpy("import", str(tars[0]), check=True).stdout.strip()  # its layer is app@1's: shared
    dry = dockpy("gc", "--dry-run", check=True).stdout
    assert dry.splitlines() == [f"Would delete: {untagged}", "Would delete 2 blobs, 0 snapshots, 0 temporary files",
                                dry.splitlines()[2]]
    report = json_of(dockpy("gc", "--format", "json"))
    assert report["ImagesDeleted"] == [untagged] and len(report["BlobsDeleted"]) == 2
    dockpy("export", "app@1", "-o", os.devnull, check=True)
    assert json_of(dockpy("gc", "--format", "json"))["BlobsDeleted"] == []


def test_system_df_reports_images(dockpy, app):
    lines = {line["Type"]: line for line in json_of(dockpy("system", "df", "--format", "json"))}
    assert (lines["Images"]["Total"], lines["Images"]["Active"]) == (2, 1)
    assert lines["Images"]["Size"] > 0 and lines["Images"]["Reclaimable"] == 0
    assert dockpy("system", "df", check=True).stdout.split()[:5] == ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]


# -- bad input: one error line, exit 125, the store unchanged ---------------------------------------


@pytest.mark.parametrize("argv, fragment", [
    (("history", "ghost"), "no such image: ghost"),
    (("inspect", "app", "ghost:1"), "no such image: ghost:1"),
    (("log", "ghost"), "no such tag: ghost:latest"),
    (("export", "app@9", "-o", "/dev/null"), "app:latest has no revision 9"),
    (("tag", "ghost", "app:2"), "no such image: ghost"),
    (("tag", "app", "Bad:Name"), "must be lowercase"),
    (("rollback", "app", "--to", "7"), "no revision 7"),
    (("rollback", "ghost"), "no such tag"),
    (("rmi", "ghost"), "no such image"),
    (("rmi", "app@1"), "cannot remove one revision"),
    (("diff", "app", "ghost"), "no such image"),
    (("import", "/nonexistent.tar", "app"), "open /nonexistent.tar"),
    (("import", "-", "app:"), "invalid reference format"),
    (("images", "app@@1"), "invalid"),
    (("images", "-f", "color=x"), "invalid filter 'color'"),
    (("images", "-f", "dangling=maybe"), "invalid filter 'dangling=maybe'"),
    (("images", "-f", "dangling=true", "-f", "dangling=false"), "conflicting filters"),
    (("rollback", "app", "--to", "zero"), "invalid revision"),
])
def test_bad_input_is_one_error_line_and_changes_nothing(dockpy, app, storage_root, argv, fragment):
    before = store_listing(storage_root.path)
    result = dockpy(*argv)
    assert_one_error_line(result, fragment)
    assert store_listing(storage_root.path) == before


@pytest.mark.parametrize("cut", [100, 512, 1024 + 300, 3000])
def test_a_truncated_tar_is_refused_and_changes_nothing(dockpy, app, storage_root, tmp_path, cut):
    data = rootfs_tar_bytes({"etc/": None, "etc/big": os.urandom(4000)})
    (tmp_path / "cut.tar").write_bytes(data[:cut])
    before = store_listing(storage_root.path)
    assert_one_error_line(dockpy("import", str(tmp_path / "cut.tar"), "app"))
    assert store_listing(storage_root.path) == before


def test_a_file_that_is_not_a_tar_is_refused_naming_the_file(dockpy, app, storage_root, tmp_path):
    (tmp_path / "notes.txt").write_text("hello\n" * 200)
    before = store_listing(storage_root.path)
    assert_one_error_line(dockpy("import", str(tmp_path / "notes.txt"), "app"), f"{tmp_path / 'notes.txt'}: not a tar")
    assert store_listing(storage_root.path) == before


def test_a_file_that_is_not_a_tar_on_standard_input_is_refused_without_a_name(dockpy, app):
    assert dockpy("import", "-", input=b"hello\n" * 200).stderr.startswith("dockpy: error: not a tar archive")


def test_exporting_an_image_with_a_corrupt_layer_fails_and_writes_no_file(dockpy, app, storage_root, tmp_path):
    (document,) = json_of(dockpy("inspect", "app"))
    layer = storage_root.blobs / "sha256" / document["Manifest"]["Layers"][0]["digest"].removeprefix("sha256:")
    layer.chmod(0o644)
    layer.write_bytes(layer.read_bytes()[:-8] + bytes(8))
    before = store_listing(storage_root.path)
    assert_one_error_line(dockpy("export", "app", "-o", str(tmp_path / "out.tar")))
    assert not (tmp_path / "out.tar").exists()
    assert store_listing(storage_root.path) == before


@requires_root
def test_a_full_disk_is_one_error_line_and_changes_nothing(dockpy, tmp_path, tars):
    mountpoint = tmp_path / "tiny"
    mountpoint.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(mountpoint)], check=True)
    try:
        env = {"DOCKPY_ROOT": str(mountpoint / "root")}
        dockpy("import", str(tars[0]), "app", env=env, check=True)
        big = tmp_path / "big.tar"
        big.write_bytes(rootfs_tar_bytes({"blob": os.urandom(600_000)}))
        before = store_listing(mountpoint / "root")
        result = dockpy("import", str(big), "app", env=env)
        assert_one_error_line(result, "no space left on device")
        assert store_listing(mountpoint / "root") == before
        assert dockpy("fsck", env=env).returncode == 0
    finally:
        subprocess.run(["umount", str(mountpoint)], check=True)
