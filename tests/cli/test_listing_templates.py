"""``ps --format TEMPLATE`` and ``images --format TEMPLATE``: one line per row, Docker's field names, through the command line.

Containers are recorded in-process (a record, its config.json and a file in
its upper directory), so these tests need neither root nor a running container.
"""

import io
import json
import os
import time

import pytest

from dockpy.image.rootfs_archive import import_rootfs
from dockpy.image.store import ImageStore
from dockpy.root import StorageRoot
from dockpy.runtime.containers import EXITED, ContainerRecord, ContainerStore
from dockpy.runtime.spec import ContainerSpec, Process, RootFilesystem, VolumeMount, spec_to_json
from tests.rootfs_fixtures import rootfs_tar_bytes

CONTAINER_ID = "c0ffee" + "0" * 58
CREATED = time.time() - 7200


@pytest.fixture
def container(storage_root: StorageRoot):
    """An exited container "web" of app:1, made two hours ago, with a label, a bind of /data and 5 bytes written."""
    store = ContainerStore(storage_root)
    paths = store.paths(CONTAINER_ID)
    os.makedirs(paths.upper)
    with open(os.path.join(paths.upper, "state"), "wb") as file:
        file.write(b"12345")
    spec = ContainerSpec(
        id=CONTAINER_ID,
        rootfs=RootFilesystem(layers=(), upperdir=paths.upper, workdir=paths.work, mountpoint=paths.merged),
        process=Process(args=("sh", "-c", "echo a long command line")),
        hostname="c0ffee",
        network="host",
        volumes=(VolumeMount(paths.etc_file("hosts"), "/etc/hosts"), VolumeMount("/data/very/long/source", "/data")),
    )
    store.write_config(CONTAINER_ID, {"spec": spec_to_json(spec), "image_config": {"Labels": {"b": "2", "a": "1"}}})
    # Exited an hour and a half before the module was imported: "1 hour ago" even half an hour into a run.
    record = ContainerRecord(id=CONTAINER_ID, name="web", image="app:1", image_id="", command=spec.process.args,
                             created=CREATED, state=EXITED, exit_code=3, finished=CREATED + 1800)
    store.add(record)
    store.close()
    return record


@pytest.fixture
def image(storage_root: StorageRoot):
    """app:latest, imported in-process from a one-file rootfs; its image id."""
    tar = rootfs_tar_bytes({"etc/": None, "etc/version": b"1\n"})
    with ImageStore(storage_root) as store:
        return import_rootfs(store, io.BytesIO(tar), "app", source="-", message="m")[0].id


def output_of(result) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def assert_one_error_line(result, *fragments):
    assert result.returncode == 125 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("dockpy: error: ") and all(line.startswith("hint: ") for line in lines[1:]), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_ps_template_prints_the_identity_fields_docker_names(dockpy, container):
    line = output_of(dockpy("ps", "-a", "--format", "{{.ID}} {{.Names}} {{.Image}} {{.Command}}"))
    assert line == f'{CONTAINER_ID[:12]} web app:1 "sh -c echo a long c…"\n'


def test_ps_no_trunc_shows_the_full_id_and_command(dockpy, container):
    line = output_of(dockpy("ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Command}}"))
    assert line == f'{CONTAINER_ID} "sh -c echo a long command line"\n'


def test_ps_template_prints_state_status_and_times(dockpy, container):
    state, status, running_for, created_at = output_of(
        dockpy("ps", "-a", "--format", "{{.State}}|{{.Status}}|{{.RunningFor}}|{{.CreatedAt}}")).strip().split("|")
    assert (state, status, running_for) == ("exited", "Exited (3) 2 hours ago", "2 hours ago")
    assert created_at == time.strftime("%Y-%m-%d %H:%M:%S %z %Z", time.localtime(int(CREATED)))


def test_ps_template_prints_labels_mounts_networks_ports_and_size(dockpy, container):
    line = output_of(dockpy("ps", "-a", "--format", "{{.Labels}}|{{.Mounts}}|{{.Networks}}|{{.Ports}}|{{.Size}}"))
    assert line == "a=1,b=2|/data/very/lon…|host||5B\n"


def test_ps_label_method_prints_one_labels_value_or_nothing(dockpy, container):
    assert output_of(dockpy("ps", "-a", "--format", '{{.Label "a"}}|{{.Label "missing"}}')) == "1|\n"


def test_ps_table_header_of_a_label_is_its_last_name_part_as_docker_makes_it(dockpy, container):
    lines = output_of(dockpy("ps", "-a", "--format", 'table {{.Names}}\\t{{.Label "com.example.my-key"}}')).splitlines()
    assert lines[0].split("   ") == ["NAMES", "my key"]


def test_ps_template_prints_only_running_containers_without_all(dockpy, container):
    assert output_of(dockpy("ps", "--format", "{{.Names}}")) == ""


def test_ps_json_of_the_dot_prints_one_docker_shaped_object_a_line(dockpy, container):
    (line,) = output_of(dockpy("ps", "-a", "--format", "{{json .}}")).splitlines()
    document = json.loads(line)
    assert list(document) == sorted(document)
    assert {"ID", "Names", "Status", "State", "Ports"} <= document.keys() and document["Names"] == "web"
    assert "Label" not in document  # a method, which Docker's marshalling leaves out too


def test_ps_json_format_keeps_dockpys_array_of_records(dockpy, container):
    (entry,) = json.loads(output_of(dockpy("ps", "-a", "--format", "json")))
    assert (entry["id"], entry["name"]) == (CONTAINER_ID, "web")


def test_ps_table_format_keeps_the_columns(dockpy, container):
    header = output_of(dockpy("ps", "-a", "--format", "table")).splitlines()[0]
    assert header.split()[:2] == ["CONTAINER", "ID"]


def test_an_empty_format_prints_the_default_table_as_docker_does(dockpy, container):
    assert output_of(dockpy("ps", "-a", "--format", "")) == output_of(dockpy("ps", "-a"))


def test_a_backslash_t_in_a_template_is_a_tab_as_in_docker(dockpy, container):
    assert output_of(dockpy("ps", "-a", "--format", "{{.Names}}\\t{{.State}}")) == "web\texited\n"


def test_ps_table_template_prints_docker_headers_and_aligned_columns(dockpy, container):
    lines = output_of(dockpy("ps", "-a", "--format", "table {{.ID}}\\t{{.Names}}\\t{{.RunningFor}}")).splitlines()
    assert lines == ["CONTAINER ID   NAMES   CREATED", f"{CONTAINER_ID[:12]}   web     2 hours ago"]


def test_images_table_template_names_other_fields_in_capitals(dockpy, image):
    header, row = output_of(dockpy("images", "--format", "table {{.Repository}}\\t{{.ID}}")).splitlines()
    assert header.split("   ") == ["REPOSITORY", "IMAGE ID"]
    assert row.split() == ["app", image.removeprefix("sha256:")[:12]]


def test_images_template_prints_docker_fields(dockpy, image):
    line = output_of(dockpy("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}} {{.CreatedSince}}"))
    repository_tag, image_id, size, since = line.split(" ", 3)
    assert (repository_tag, image_id) == ("app:latest", image.removeprefix("sha256:")[:12])
    assert size.endswith("B") and since.endswith("ago\n")


def test_images_template_prints_the_digest_and_creation_time(dockpy, image):
    digest, created_at = output_of(dockpy("images", "--format", "{{.Digest}}|{{.CreatedAt}}")).strip().split("|")
    assert digest.startswith("sha256:") and len(digest) == 71
    assert created_at.count(":") == 2 and created_at.startswith("20")


@pytest.mark.parametrize("verb", ["ps", "images"])
def test_an_unknown_field_is_one_error_line_naming_it(dockpy, storage_root, verb):
    assert_one_error_line(dockpy(verb, "--format", "{{.Nope}}"), "can't evaluate field Nope")


@pytest.mark.parametrize("template, fragment", [
    ("{{if}}x{{end}}", "missing value for if"),
    ("{{.ID", "unclosed action"),
    ("table {{.Nope}}", "can't evaluate field Nope"),
])
def test_a_template_dockpy_cannot_render_is_one_error_line(dockpy, storage_root, template, fragment):
    assert_one_error_line(dockpy("ps", "--format", template), fragment)


def test_a_field_of_a_text_field_is_an_error_before_any_line_prints(dockpy, container):
    assert_one_error_line(dockpy("ps", "-a", "--format", "{{.Names.First}}"), "can't evaluate field First")


def test_ps_template_takes_gos_actions_functions_and_pipes(dockpy, container):
    template = '{{if eq .State "exited"}}{{.Names | upper}}{{else}}up{{end}} {{json (.Label "a")}} {{len .Labels}}'
    assert output_of(dockpy("ps", "-a", "--format", template)) == 'WEB "1" 7\n'


def test_a_table_header_keeps_the_column_names_through_dockers_header_functions(dockpy, container):
    lines = output_of(dockpy("ps", "-a", "--format", "table {{upper .Names}}\t{{truncate .State 3}}")).splitlines()
    assert lines == ["NAMES   STATE", "WEB     exi"]


def test_a_rows_field_read_through_a_variable_is_still_checked(dockpy, container):
    assert_one_error_line(dockpy("ps", "-a", "--format", "{{$r := .}}{{$r.Nope}}"), "can't evaluate field Nope")


def test_a_template_failing_on_a_row_is_one_error_line_and_prints_nothing(dockpy, container):
    assert_one_error_line(dockpy("ps", "-a", "--format", "{{range .Names}}x{{end}}"), "range can't iterate over web")


def test_images_template_takes_gos_actions_and_docker_functions(dockpy, image):
    template = '{{if eq .Tag "latest"}}{{printf "%s:%s" .Repository .Tag | upper}}{{end}} {{truncate .ID 4}}'
    assert output_of(dockpy("images", "--format", template)) == f"APP:LATEST {image.removeprefix('sha256:')[:4]}\n"
