"""``ps -f``, ``-n``, ``-l`` and ``-s`` on containers recorded in-process (no root, no running process needed).

A "running" container here is recorded with this test process's pid, so the
store's liveness check (pid and start time) finds it alive.
"""

import io
import os
import time

import pytest

from dockpy.cli import main
from dockpy.image.oci import ContainerConfig
from dockpy.image.rootfs_archive import import_rootfs
from dockpy.image.store import ImageStore
from dockpy.root import StorageRoot
from dockpy.runtime.containers import CREATED, EXITED, RUNNING, ContainerRecord, ContainerStore, process_start_time
from dockpy.runtime.ports import PortBinding, bindings_to_json
from dockpy.runtime.spec import ContainerSpec, Process, RootFilesystem, VolumeMount, spec_to_json
from tests.rootfs_fixtures import rootfs_tar_bytes

NOW = time.time()


def record_container(store: ContainerStore, name: str, state: str, *, age: float, exit_code=None, labels=None,
                     image_id="", volumes=(), isolation="namespace", network="none", exposed=(),
                     published=()) -> ContainerRecord:
    """A container ``age`` seconds old, with its config.json and 3 bytes in its upper directory;
    ``exposed``: its image's ports (``"443/tcp"``); ``published``: its ``-p`` ``PortBinding``s."""
    container_id = (name.encode().hex() + "0" * 64)[:64]
    paths = store.paths(container_id)
    os.makedirs(paths.upper)
    with open(os.path.join(paths.upper, "file"), "wb") as file:
        file.write(b"abc")
    spec = ContainerSpec(id=container_id, process=Process(args=("sh",)), hostname=name, volumes=tuple(volumes),
                         network=network,
                         rootfs=RootFilesystem(layers=(), upperdir=paths.upper, workdir=paths.work, mountpoint=paths.merged))
    image_config = {"Labels": labels or {}, "ExposedPorts": dict.fromkeys(exposed, {})}
    store.write_config(container_id, {"spec": spec_to_json(spec), "image_config": image_config, "isolation": isolation,
                                      "ports": bindings_to_json(published)})
    if published:
        store.write_published_ports(container_id, published)
    pid = os.getpid() if state == RUNNING else None
    record = ContainerRecord(
        id=container_id, name=name, image="app", image_id=image_id, command=("sh",), created=NOW - age, state=state,
        pid=pid, pid_start=process_start_time(pid) if pid else None, exit_code=exit_code,
        started=None if state == CREATED else NOW - age + 1, finished=NOW - 10 if state == EXITED else None,
    )
    store.add(record)
    return record


@pytest.fixture
def image_id(storage_root: StorageRoot) -> str:
    """app:latest, a one-file image."""
    tar = rootfs_tar_bytes({"etc/": None, "etc/version": b"1\n"})
    with ImageStore(storage_root) as images:
        return import_rootfs(images, io.BytesIO(tar), "app", source="-", message="m")[0].id


@pytest.fixture
def containers(storage_root: StorageRoot, image_id):
    """web (running, app, label tier=front, host network, 80 published, 443 exposed), worker (exited 0, kvm,
    8125/udp published when it ran, 9000 exposed), broken (exited 3, /data mounted), fresh (created)."""
    store = ContainerStore(storage_root)
    record_container(store, "fresh", CREATED, age=10)
    record_container(store, "broken", EXITED, age=20, exit_code=3, volumes=[VolumeMount("/srv/data", "/data")])
    record_container(store, "worker", EXITED, age=30, exit_code=0, isolation="kvm", labels={"tier": "back"},
                     exposed=("9000/tcp",), published=(PortBinding(8125, "udp", "", 8125),))
    record_container(store, "web", RUNNING, age=40, image_id=image_id, labels={"tier": "front", "team": "a"},
                     network="host", exposed=("443/tcp",), published=(PortBinding(80, "tcp", "127.0.0.1", 8080),))
    store.close()


def names(capsys, *arguments) -> list[str]:
    assert main(["ps", *arguments, "--format", "{{.Names}}"]) == 0
    return capsys.readouterr().out.split()


def error_of(capsys, *arguments) -> str:
    assert main(["ps", *arguments]) == 125
    captured = capsys.readouterr()
    assert captured.out == ""
    return captured.err.splitlines()[0]


def test_a_status_filter_lists_stopped_containers_without_all(containers, capsys):
    assert names(capsys, "-f", "status=exited") == ["broken", "worker"]


def test_the_same_key_repeated_keeps_a_container_matching_any_value(containers, capsys):
    assert names(capsys, "-f", "status=created", "-f", "status=running") == ["fresh", "web"]


def test_different_keys_keep_only_containers_matching_all(containers, capsys):
    assert names(capsys, "-a", "-f", "status=exited", "-f", "name=work") == ["worker"]


def test_a_name_filter_matches_a_part_of_the_name(containers, capsys):
    assert names(capsys, "-a", "-f", "name=o") == ["broken", "worker"]


def test_a_name_filter_is_a_regular_expression_anchored_with_or_without_dockers_slash(containers, capsys):
    assert names(capsys, "-a", "-f", "name=^web$") == ["web"]
    assert names(capsys, "-a", "-f", "name=^/w") == ["worker", "web"]


def test_an_id_filter_matches_a_prefix_of_the_id(containers, capsys):
    assert names(capsys, "-a", "-f", "id=" + "web".encode().hex()) == ["web"]


def test_a_name_filter_without_all_lists_only_running_containers(containers, capsys):
    assert names(capsys, "-f", "name=o") == []


def test_quiet_with_a_filter_prints_only_the_matching_ids(containers, capsys):
    assert main(["ps", "-aq", "-f", "name=web"]) == 0
    assert capsys.readouterr().out == "web".encode().hex() + "0" * 6 + "\n"


def test_a_label_filter_matches_the_key_or_the_key_and_value(containers, capsys):
    assert names(capsys, "-a", "-f", "label=tier") == ["worker", "web"]
    assert names(capsys, "-a", "-f", "label=tier=front") == ["web"]


def test_every_label_filter_must_hold_as_in_docker(containers, capsys):
    assert names(capsys, "-a", "-f", "label=tier", "-f", "label=team=a") == ["web"]


def test_an_exited_filter_keeps_containers_that_exited_with_that_code(containers, capsys):
    assert names(capsys, "-a", "-f", "exited=3") == ["broken"]
    assert names(capsys, "-a", "-f", "exited=0") == ["worker"]


def test_an_ancestor_filter_matches_the_image_by_name_or_id_prefix(containers, image_id, capsys):
    assert names(capsys, "-a", "-f", "ancestor=app") == ["web"]
    assert names(capsys, "-a", "-f", "ancestor=app:latest") == ["web"]
    assert names(capsys, "-a", "-f", "ancestor=" + image_id.removeprefix("sha256:")[:12]) == ["web"]


def test_an_ancestor_filter_also_matches_containers_of_images_built_on_it(storage_root, containers, capsys):
    with ImageStore(storage_root) as images:
        base = images.resolve("app")
        child = images.put_image(base.config.replace(config=ContainerConfig(labels={"child": "1"})), base.layers)
        other = import_rootfs(images, io.BytesIO(rootfs_tar_bytes({"other": b"x"})), "other", source="-")[0]
    store = ContainerStore(storage_root)
    record_container(store, "derived", EXITED, age=5, exit_code=0, image_id=child.id)
    record_container(store, "unrelated", EXITED, age=6, exit_code=0, image_id=other.id)
    store.close()
    assert names(capsys, "-a", "-f", "ancestor=app") == ["derived", "web"]


def test_an_ancestor_no_image_has_matches_no_container(containers, capsys):
    assert names(capsys, "-a", "-f", "ancestor=nothing:here") == []


def test_before_and_since_compare_creation_with_the_named_container(containers, capsys):
    assert names(capsys, "-a", "-f", "before=broken") == ["worker", "web"]
    assert names(capsys, "-a", "-f", "since=worker") == ["fresh", "broken"]


def test_an_isolation_filter_keeps_containers_run_that_way(containers, capsys):
    assert names(capsys, "-a", "-f", "isolation=kvm") == ["worker"]
    assert names(capsys, "-a", "-f", "isolation=default", "-f", "name=^web$") == ["web"]


def test_a_volume_filter_matches_a_mounts_source_or_destination(containers, capsys):
    assert names(capsys, "-a", "-f", "volume=/data") == ["broken"]
    assert names(capsys, "-a", "-f", "volume=/srv/data") == ["broken"]


def test_a_network_filter_keeps_containers_on_that_network(containers, capsys):
    assert names(capsys, "-a", "-f", "network=host") == ["web"]
    assert names(capsys, "-a", "-f", "network=none") == ["fresh", "broken", "worker"]


def test_a_publish_filter_keeps_running_containers_publishing_the_container_port(containers, capsys):
    assert names(capsys, "-a", "-f", "publish=80") == ["web"]
    assert names(capsys, "-a", "-f", "publish=70-90/tcp") == ["web"]
    assert names(capsys, "-a", "-f", "publish=8080") == []  # a host port, not the container's
    assert names(capsys, "-a", "-f", "publish=8125/udp") == []  # worker publishes nothing once exited


def test_an_expose_filter_keeps_containers_exposing_the_port_or_publishing_it(containers, capsys):
    assert names(capsys, "-a", "-f", "expose=443") == ["web"]
    assert names(capsys, "-a", "-f", "expose=80/tcp") == ["web"]
    assert names(capsys, "-a", "-f", "expose=9000", "-f", "expose=8125/udp") == ["worker"]
    assert names(capsys, "-a", "-f", "expose=80/udp") == []


def test_last_n_lists_the_n_newest_containers_in_any_state(containers, capsys):
    assert names(capsys, "-n", "2") == ["fresh", "broken"]


def test_latest_lists_the_newest_container_and_counts_after_filtering(containers, capsys):
    assert names(capsys, "-l") == ["fresh"]
    assert names(capsys, "-l", "-f", "status=exited") == ["broken"]


def test_size_adds_dockers_size_column_with_the_images_virtual_size(containers, capsys):
    assert main(["ps", "-s", "-f", "name=web"]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split("   ")[-1] == "SIZE"
    assert row.rstrip().endswith(")") and "3B (virtual " in row


def test_size_adds_bytes_written_to_the_json_records(containers, capsys):
    assert main(["ps", "-as", "-f", "name=broken", "--format", "json"]) == 0
    assert '"size_rw": 3' in capsys.readouterr().out


def test_an_unknown_filter_key_is_refused_in_dockers_words(containers, capsys):
    assert error_of(capsys, "-f", "color=red") == "dockpy: error: invalid filter 'color'"


def test_a_filter_without_an_equals_sign_is_refused(containers, capsys):
    assert error_of(capsys, "-f", "status") == "dockpy: error: bad format of filter (expected name=value)"


@pytest.mark.parametrize("text", ["status=sleeping", "exited=x", "isolation=hyperv", "publish=http", "expose=90-80",
                                  "publish=80/ip"])
def test_a_value_a_filter_cannot_take_is_refused_in_dockers_words(containers, capsys, text):
    assert error_of(capsys, "-f", text) == f"dockpy: error: invalid filter '{text}'"


def test_a_before_filter_naming_no_container_is_refused(containers, capsys):
    assert "no such container: ghost" in error_of(capsys, "-f", "before=ghost")
