"""Container diff, commit and rollback end to end, on an image of the store."""

import json
import os
import tarfile

import pytest

from tests.conftest import requires_root

pytestmark = requires_root

CHANGES = "echo new > /etc/newfile; rm /bin/vi; rm -rf /home; mkdir /home; touch /home/h; mkdir -p /srv/app; echo x > /srv/app/a"


@pytest.fixture
def changed(dockpy, busybox_image):
    """A stopped container that added, changed, deleted and made an opaque directory."""
    dockpy("run", "--name", "changed", busybox_image, "sh", "-c", CHANGES, check=True)
    return "changed"


def test_diff_follows_dockers_rules_sorted(dockpy, changed):
    assert dockpy("diff", changed, check=True).stdout.splitlines() == [
        "C /bin", "D /bin/vi", "C /etc", "A /etc/newfile", "C /home", "D /home/app", "A /home/h",
        "A /srv", "A /srv/app", "A /srv/app/a",
    ]


def test_dockpys_own_etc_files_and_mount_points_are_not_changes(dockpy, busybox_image):
    dockpy("run", "--name", "quiet", "--hostname", "h", "-v", "/tmp:/tmp", busybox_image, "cat", "/etc/hosts", check=True)
    assert dockpy("diff", "quiet", check=True).stdout == ""


def test_commit_makes_an_image_with_the_changes_and_a_revision(dockpy, changed):
    dockpy("commit", "-m", "my change", "-a", "tester", changed, "mine:v1", check=True)
    result = dockpy("run", "--rm", "mine:v1", "sh", "-c", "cat /etc/newfile; ls /home; test -e /bin/vi || echo no-vi", check=True)
    assert result.stdout == "new\nh\nno-vi\n"
    log = json.loads(dockpy("log", "--format", "json", "mine:v1", check=True).stdout)
    assert (log[0]["Operation"], log[0]["Author"], log[0]["Message"]) == ("commit", "tester", "my change")


def test_commit_changes_apply_to_the_new_config(dockpy, changed):
    dockpy("commit", "-c", 'CMD ["cat", "/etc/newfile"]', "-c", "ENV GREETING=hello", "-c", "WORKDIR /srv", changed, "mine:cfg", check=True)
    assert dockpy("run", "--rm", "mine:cfg", check=True).stdout == "new\n"
    assert dockpy("run", "--rm", "mine:cfg", "sh", "-c", "echo $GREETING; pwd", check=True).stdout == "hello\n/srv\n"


@pytest.mark.parametrize("options, tag", [(("-c", "FROM scratch"), ()), (("-c", "LABEL =x"), ()), ((), ("Bad//name:tag",))])
def test_a_commit_refused_for_its_arguments_stores_nothing(dockpy, changed, storage_root, options, tag):
    blobs_before = sorted(os.listdir(storage_root.blobs / "sha256"))
    result = dockpy("commit", *options, changed, *tag)
    assert result.returncode == 125 and result.stderr.startswith("dockpy: error:")
    assert sorted(os.listdir(storage_root.blobs / "sha256")) == blobs_before
    assert os.listdir(storage_root.tmp) == []


def test_commit_of_a_running_container_leaves_it_running(dockpy, busybox_image):
    running = dockpy("run", "-d", busybox_image, "sh", "-c", "echo live > /live; sleep 30", check=True).stdout.strip()
    try:
        _wait_for_file(dockpy, running, "/live")
        dockpy("commit", running, "live:1", check=True)
        assert dockpy("run", "--rm", "live:1", "cat", "/live", check=True).stdout == "live\n"
        assert json.loads(dockpy("inspect", running, check=True).stdout)[0]["State"]["Status"] == "running"
    finally:
        dockpy("rm", "-f", running, check=True)


def test_rollback_discards_the_containers_changes(dockpy, changed):
    dockpy("rollback", changed, check=True)
    assert dockpy("diff", changed, check=True).stdout == ""
    dockpy("start", changed, check=True)
    dockpy("wait", changed, check=True)
    assert "A /etc/newfile" in dockpy("diff", changed, check=True).stdout  # the same program, run again


def test_rollback_of_a_running_container_is_refused(dockpy, busybox_image):
    running = dockpy("run", "-d", busybox_image, "sleep", "30", check=True).stdout.strip()
    try:
        result = dockpy("rollback", running)
        assert result.returncode == 125 and "cannot roll back running container" in result.stderr
    finally:
        dockpy("rm", "-f", running, check=True)


def test_a_container_holds_its_image_against_rmi(dockpy, changed, busybox_image):
    result = dockpy("rmi", busybox_image)
    assert result.returncode == 125
    dockpy("rm", changed, check=True)
    assert dockpy("rmi", busybox_image).returncode == 0


def _wait_for_file(dockpy, container, path, attempts=100):
    import time

    for _ in range(attempts):
        if f"A {path}" in dockpy("diff", container).stdout:
            return
        time.sleep(0.05)
    raise AssertionError(f"{path} never appeared")


def test_export_of_a_container_is_its_image_with_its_changes(dockpy, changed, tmp_path):
    output = tmp_path / "changed.tar"
    dockpy("export", changed, "-o", str(output), check=True)
    with tarfile.open(output) as tar:
        names = {name.removeprefix("./") for name in tar.getnames()}
        assert tar.extractfile("etc/newfile").read() == b"new\n"
    assert {"bin/sh", "etc/newfile", "home/h", "srv/app/a"} <= names
    assert not names & {"bin/vi", "home/app"}
    assert not any(".wh." in name for name in names)


def test_export_of_a_container_that_has_an_image_name_exports_the_container(dockpy, busybox_image, tmp_path):
    """As ``docker export``, which only knows containers: a container of that name wins over the image."""
    dockpy("run", "--name", "busybox", busybox_image, "touch", "/mine", check=True)
    try:
        dockpy("export", "busybox", "-o", str(tmp_path / "out.tar"), check=True)
        with tarfile.open(tmp_path / "out.tar") as tar:
            assert "mine" in {name.removeprefix("./") for name in tar.getnames()}
    finally:
        dockpy("rm", "busybox", check=True)
