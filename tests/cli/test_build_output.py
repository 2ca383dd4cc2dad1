"""``dockpy build -o/--output`` end to end: artifacts out of a ``FROM scratch`` stage, as a directory or a tar."""

import io
import json
import os
import subprocess
import sys
import tarfile

import pytest

from tests.store_listing import store_listing

# A build stage makes the artifacts, deletes one (a whiteout in its layers), and a scratch stage keeps only them.
DOCKERFILE = (
    "FROM busybox AS compile\n"
    "RUN mkdir -p /out/bin && echo built > /out/bin/tool && echo gone > /out/stale && ln -s bin/tool /out/link\n"
    "RUN rm /out/stale\n"
    "FROM scratch\n"
    "COPY --from=compile /out/ /\n"
    "COPY notes.txt /notes.txt\n"
)
ARTIFACTS = {"bin", "bin/tool", "link", "notes.txt"}


@pytest.fixture
def context(tmp_path):
    directory = tmp_path / "ctx"
    directory.mkdir()
    (directory / "Dockerfile").write_text(DOCKERFILE)
    (directory / "notes.txt").write_text("notes\n")
    return directory


def tree(directory) -> set[str]:
    return {os.path.relpath(os.path.join(parent, name), directory)
            for parent, dirs, files in os.walk(directory) for name in dirs + files}


def tar_names(data: bytes) -> set[str]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {name.removeprefix("./").rstrip("/") for name in tar.getnames()} - {".", ""}


def test_a_bare_path_writes_the_final_stages_files_into_a_new_directory(dockpy, build_root, context, tmp_path):
    out = tmp_path / "made" / "out"
    dockpy("build", "-q", "-o", str(out), str(context), check=True)
    assert tree(out) == ARTIFACTS
    assert (out / "bin" / "tool").read_text() == "built\n"
    assert os.readlink(out / "link") == "bin/tool"


@pytest.mark.parametrize("value, destination", [("{out}", "client directory {out}"), ("type=tar,dest={out}", "tar file {out}"),
                                                ("-", "a tar on standard output")])
def test_plain_progress_ends_with_the_export_line(build_root, context, tmp_path, value, destination):
    out = tmp_path / "out"
    completed = subprocess.run([sys.executable, "-m", "dockpy", "build", "--progress", "plain", "-o",
                                value.format(out=out), str(context)], capture_output=True, check=True)
    last = completed.stderr.decode().splitlines()[-1]
    assert last.startswith(f"exporting to {destination.format(out=out)} done ")


def test_type_local_replaces_same_named_files_and_keeps_the_others(dockpy, build_root, context, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("old\n")
    (out / "mine.txt").write_text("mine\n")
    dockpy("build", "-q", "--output", f"type=local,dest={out}", str(context), check=True)
    assert (out / "notes.txt").read_text() == "notes\n"
    assert (out / "mine.txt").read_text() == "mine\n"


def test_a_removed_file_is_not_written_and_does_not_remove_the_users_file_of_that_name(dockpy, build_root, context,
                                                                                      tmp_path):
    fresh, used = tmp_path / "fresh", tmp_path / "used"
    (used / "out").mkdir(parents=True)
    (used / "out" / "stale").write_text("mine\n")
    for out in (fresh, used):
        dockpy("build", "-q", "--target", "compile", "-o", str(out), str(context), check=True)
    assert (fresh / "out" / "bin" / "tool").exists() and not (fresh / "out" / "stale").exists()
    assert (used / "out" / "stale").read_text() == "mine\n"


def test_type_tar_writes_one_tar_file_of_the_files(dockpy, build_root, context, tmp_path):
    out = tmp_path / "out.tar"
    dockpy("build", "-q", "--output", f"type=tar,dest={out}", str(context), check=True)
    assert tar_names(out.read_bytes()) == ARTIFACTS


def test_dash_writes_the_tar_to_standard_output_without_the_image_id(build_root, context):
    completed = subprocess.run([sys.executable, "-m", "dockpy", "build", "-q", "-o", "-", str(context)],
                               capture_output=True, check=True)
    assert tar_names(completed.stdout) == ARTIFACTS


def image_rows(dockpy) -> dict[str, str | None]:
    """Each listed image id with its repository (None for an untagged one)."""
    return {row["Id"]: row["Repository"] for row in json.loads(dockpy("images", "--format", "json", check=True).stdout)}


def test_without_a_tag_the_image_is_stored_untagged(dockpy, build_root, context, tmp_path):
    iidfile = tmp_path / "iid"
    dockpy("build", "-q", "--iidfile", str(iidfile), "-o", str(tmp_path / "out"), str(context), check=True)
    assert image_rows(dockpy)[iidfile.read_text()] is None


def test_gc_cannot_start_between_an_untagged_build_and_its_export(build_root, context, tmp_path, monkeypatch):
    import dockpy.cli.build as build_command
    from dockpy.cli import main
    from dockpy.errors import ConflictError
    from dockpy.image.lease import collector_lease

    gc_attempts = []

    def export_while_gc_tries(root, image_id, output, progress):
        try:
            with collector_lease(root, wait=False):
                gc_attempts.append("gc ran")
        except ConflictError:
            gc_attempts.append("gc waited")

    monkeypatch.setattr(build_command, "_export", export_while_gc_tries)
    assert main(["build", "-q", "-o", str(tmp_path / "out"), str(context)]) == 0
    assert gc_attempts == ["gc waited"]


def test_a_first_build_into_a_new_storage_root_writes_its_output(context, tmp_path):
    environment = {**os.environ, "DOCKPY_ROOT": str(tmp_path / "new-root")}
    subprocess.run([sys.executable, "-m", "dockpy", "build", "-q", "-o", str(tmp_path / "out"), str(context)],
                   env=environment, capture_output=True, check=True)
    assert tree(tmp_path / "out") == ARTIFACTS


def test_with_a_tag_the_image_is_tagged_as_well(dockpy, build_root, context, tmp_path):
    dockpy("build", "-q", "-t", "artifacts:1", "-o", str(tmp_path / "out"), str(context), check=True)
    assert "artifacts" in image_rows(dockpy).values()
    assert tree(tmp_path / "out") == ARTIFACTS


@pytest.mark.parametrize("value, message", [
    ("type=image", "--output type=image is not supported"),
    ("type=registry,name=x", "--output type=registry is not supported"),
    ("type=oci,dest=x.tar", "--output type=oci is not supported"),
    ("type=docker", "--output type=docker is not supported"),
    ("type=local", "type=local needs dest=DIR"),
    ("dest=out,name=x", "type=local or type=tar is required"),
    ("type=zip,dest=x", "type must be local or tar"),
    ("type=local,dest=x,compression=gzip", "unknown key 'compression'"),
])
def test_an_unsupported_or_malformed_output_is_one_line_and_nothing_is_built(dockpy, build_root, context, value,
                                                                             message):
    before = store_listing(build_root.path)
    result = dockpy("build", "-q", "-o", value, str(context))
    assert result.returncode == 125
    assert result.stderr.startswith("dockpy: error: ") and message in result.stderr
    assert "Traceback" not in result.stderr
    assert store_listing(build_root.path) == before


def test_a_local_destination_that_is_a_file_fails_before_the_build(dockpy, build_root, context, tmp_path):
    existing = tmp_path / "file"
    existing.write_text("x")
    before = store_listing(build_root.path)
    result = dockpy("build", "-q", "-o", str(existing), str(context))
    assert result.returncode == 125 and "exists and is not a directory" in result.stderr
    assert store_listing(build_root.path) == before


def test_a_symlink_already_in_the_directory_is_not_followed_out_of_it(dockpy, build_root, context, tmp_path):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "bin").symlink_to(elsewhere)
    dockpy("build", "-q", "-o", str(out), str(context), check=True)
    assert list(elsewhere.iterdir()) == []
    assert (out / "bin" / "tool").read_text() == "built\n" and not (out / "bin").is_symlink()
