"""``dockpy inspect`` as CI scripts use it: Docker's container document, and ``--format`` templates."""

import json

import pytest

from tests.conftest import requires_root


@pytest.fixture
def exited(dockpy, build_root, tmp_path):
    """A container of the busybox image, made with flags inspect shows, that ran and exited 3."""
    dockpy("run", "--name", "job", "--entrypoint", "sh", "-v", f"{tmp_path}:/data:ro", "-m", "64m", "--cpus", "0.5",
           "-w", "/tmp", "busybox", "-c", "exit 3")
    yield "job"
    dockpy("rm", "-f", "job")


@requires_root
def test_a_containers_document_has_dockers_shape(dockpy, exited, tmp_path):
    (document,) = json.loads(dockpy("inspect", exited, check=True).stdout)
    assert document["Name"] == "/job" and document["Image"].startswith("sha256:")
    assert (document["Path"], document["Args"]) == ("sh", ["-c", "exit 3"])
    assert document["State"]["Status"] == "exited" and document["State"]["ExitCode"] == 3
    assert document["Created"].endswith("Z") and document["State"]["FinishedAt"] > document["State"]["StartedAt"]
    assert (document["Config"]["Entrypoint"], document["Config"]["Cmd"]) == (["sh"], ["-c", "exit 3"])
    assert (document["Config"]["Image"], document["Config"]["WorkingDir"]) == ("busybox", "/tmp")
    assert document["HostConfig"]["Binds"] == [f"{tmp_path}:/data:ro"]
    assert (document["HostConfig"]["Memory"], document["HostConfig"]["NanoCpus"]) == (64 << 20, 500_000_000)
    assert [mount["Destination"] for mount in document["Mounts"]] == ["/data"]
    assert document["GraphDriver"]["Data"]["UpperDir"].endswith("/upper")
    assert document["ResourceUsage"] is None  # figures only while it runs


@requires_root
def test_format_prints_one_line_per_container(dockpy, exited):
    result = dockpy("inspect", "-f", "{{.Name}} {{.State.Status}} {{.State.ExitCode}} {{json .Config.Cmd}}",
                    exited, exited, check=True)
    assert result.stdout == '/job exited 3 ["-c","exit 3"]\n' * 2


@requires_root
def test_a_created_container_shows_dockers_zero_time_for_start_and_finish(dockpy, build_root):
    container = dockpy("create", "busybox", "true", check=True).stdout.strip()
    try:
        result = dockpy("inspect", "--format", "{{.State.Status}} {{.State.StartedAt}} {{.State.FinishedAt}}",
                        container, check=True)
        assert result.stdout == "created 0001-01-01T00:00:00Z 0001-01-01T00:00:00Z\n"
    finally:
        dockpy("rm", container)


@requires_root
def test_format_renders_an_images_document(dockpy, build_root):
    result = dockpy("inspect", "-f", "{{json .RepoTags}} {{.Os}}", "busybox", check=True)
    assert result.stdout == '["busybox:latest"] linux\n'


def test_a_template_that_does_not_parse_is_one_error_line_before_any_lookup(dockpy, storage_root):
    result = dockpy("inspect", "-f", "{{range .Mounts}}{{.Source}}", "anything")
    assert result.returncode == 125 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "dockpy: error: template '{{range .Mounts}}{{.Source}}': line 1, column 29: "
        "unexpected end of template: an {{end}} is missing"
    ]


@requires_root
def test_format_takes_range_if_index_and_printf_as_docker_does(dockpy, exited, tmp_path):
    template = ('{{range .Mounts}}{{.Source}}:{{.Destination}}{{end}} {{if .State.Running}}up{{else}}down{{end}} '
                '{{index .Config.Cmd 1}} {{printf "%s=%d" .Name .State.ExitCode}} {{index .Config.Labels "none"}}|')
    result = dockpy("inspect", "-f", template, exited, check=True)
    assert result.stdout == f"{tmp_path}:/data down exit 3 /job=3 |\n"
