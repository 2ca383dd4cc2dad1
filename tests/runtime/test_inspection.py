"""The container's inspect document, piece by piece: Docker's field names and types from dockpy's records."""

from dockpy.runtime.containers import EXITED, RUNNING, ContainerPaths, ContainerRecord
from dockpy.runtime.inspection import (
    ZERO_TIME,
    container_config,
    container_state,
    graph_driver,
    host_config,
    describe_container,
    exposed_ports,
    mount_point,
    namespace_settings,
    network_settings,
    publishing,
    stop_settings,
    user_volumes,
)
from dockpy.runtime.ports import PortBinding
from dockpy.runtime.spec import (
    DEFAULT_CAPABILITIES, DEFAULT_RLIMITS, ContainerSpec, Process, Resources, RootFilesystem, Rlimit, VolumeMount,
)

PATHS = ContainerPaths("/root/containers/c0ffee")
RECORD = ContainerRecord(id="c0ffee", name="web", image="app:1", image_id="sha256:1234", command=("sh",), created=0.0)
SPEC = ContainerSpec(
    id="c0ffee",
    rootfs=RootFilesystem(layers=("/root/init", "/root/snapshots/1/fs"), upperdir=PATHS.upper, workdir=PATHS.work,
                          mountpoint=PATHS.merged),
    process=Process(args=("sh", "-c", "true"), env=("PATH=/bin",), cwd="/srv", user="app"),
    hostname="c0ffee",
    volumes=(VolumeMount(PATHS.etc_file("hosts"), "/etc/hosts"), VolumeMount("/data", "/data", read_only=True)),
)


def test_a_created_container_was_never_started_nor_finished():
    state = container_state(RECORD)
    assert (state["Status"], state["Running"], state["Pid"], state["ExitCode"]) == ("created", False, 0, 0)
    assert state["StartedAt"] == state["FinishedAt"] == ZERO_TIME


def test_a_running_container_shows_its_pid():
    state = container_state(RECORD._replace(state=RUNNING, pid=42, started=1704532079.0))
    assert (state["Status"], state["Running"], state["Pid"]) == ("running", True, 42)
    assert state["StartedAt"] == "2024-01-06T09:07:59Z" and state["FinishedAt"] == ZERO_TIME


def test_an_exited_container_shows_its_exit_code_and_no_pid():
    state = container_state(RECORD._replace(state=EXITED, pid=42, exit_code=137, finished=1704532080.0))
    assert (state["Status"], state["Running"], state["Pid"], state["ExitCode"]) == ("exited", False, 0, 137)


def test_dockpys_own_etc_files_are_not_volumes():
    assert user_volumes(SPEC, PATHS) == [VolumeMount("/data", "/data", read_only=True)]


def test_a_read_only_bind_is_a_docker_mount_point_with_mode_ro():
    assert mount_point(VolumeMount("/data", "/mnt", read_only=True)) == {
        "Type": "bind", "Source": "/data", "Destination": "/mnt", "Mode": "ro", "RW": False, "Propagation": "rprivate",
    }


def test_host_config_shows_binds_and_limits_as_docker_stores_them():
    spec = SPEC._replace(resources=Resources(memory_bytes=64 << 20, cpus=0.5, pids_limit=10))
    config = host_config(RECORD, spec, user_volumes(spec, PATHS), "namespace")
    assert config["Binds"] == ["/data:/data:ro"]
    assert (config["Memory"], config["NanoCpus"], config["PidsLimit"]) == (64 << 20, 500_000_000, 10)


def test_host_config_without_limits_or_binds_has_zeros_and_nulls():
    config = host_config(RECORD, SPEC, [], "kvm")
    assert (config["Binds"], config["Memory"], config["NanoCpus"], config["PidsLimit"]) == (None, 0, 0, None)
    assert config["Isolation"] == "kvm"


def test_capabilities_beyond_or_below_dockers_defaults_are_added_or_dropped():
    capabilities = tuple(name for name in DEFAULT_CAPABILITIES if name != "CAP_NET_RAW") + ("CAP_SYS_ADMIN",)
    spec = SPEC._replace(process=SPEC.process._replace(capabilities=capabilities))
    config = host_config(RECORD, spec, [], "namespace")
    assert (config["CapAdd"], config["CapDrop"]) == (["SYS_ADMIN"], ["NET_RAW"])


def test_namespace_settings_show_the_flags_given_in_dockers_shapes():
    process = SPEC.process._replace(rlimits=DEFAULT_RLIMITS + (Rlimit("RLIMIT_NPROC", 10, 20),), additional_groups=("wheel",))
    settings = namespace_settings(SPEC._replace(process=process), {"extra_hosts": ["db:10.0.0.5"], "tmpfs": {"/run": "size=1m"}})
    assert settings == {"ExtraHosts": ["db:10.0.0.5"], "GroupAdd": ["wheel"], "Tmpfs": {"/run": "size=1m"},
                        "Ulimits": [{"Name": "nproc", "Soft": 10, "Hard": 20}]}


def test_namespace_settings_without_those_flags_are_null_and_tmpfs_is_left_out():
    assert namespace_settings(SPEC, {}) == {"ExtraHosts": None, "GroupAdd": None, "Ulimits": None}


def test_the_stop_signal_given_wins_over_the_images_and_the_timeout_shows_when_given():
    config = {"image_config": {"StopSignal": "SIGQUIT"}, "stop_signal": "USR1", "stop_timeout": 3}
    assert stop_settings(config) == {"StopSignal": "USR1", "StopTimeout": 3}


def test_the_images_stop_signal_shows_alone_and_nothing_without_one():
    assert stop_settings({"image_config": {"StopSignal": "SIGQUIT"}}) == {"StopSignal": "SIGQUIT"}
    assert stop_settings({"image_config": {}}) == {}


def test_labels_given_at_create_replace_the_images_in_config():
    config = container_config(RECORD, SPEC, {"image_config": {"Labels": {"a": "1"}}, "labels": {"a": "2", "b": ""}})
    assert config["Labels"] == {"a": "2", "b": ""}


def test_graph_driver_names_the_overlays_directories():
    data = graph_driver(SPEC)["Data"]
    assert data["LowerDir"] == "/root/init:/root/snapshots/1/fs"
    assert (data["UpperDir"], data["MergedDir"]) == (PATHS.upper, PATHS.merged)


def test_config_shows_the_recorded_entrypoint_and_cmd_apart():
    config = container_config(RECORD, SPEC, {"image_config": {}, "entrypoint": ["sh"], "cmd": ["-c", "true"]})
    assert (config["Entrypoint"], config["Cmd"]) == (["sh"], ["-c", "true"])
    assert (config["Image"], config["User"], config["WorkingDir"]) == ("app:1", "app", "/srv")


def test_config_of_a_container_without_a_recorded_entrypoint_shows_the_command_as_cmd():
    config = container_config(RECORD, SPEC, {"image_config": {"Labels": {"a": "1"}}})
    assert (config["Entrypoint"], config["Cmd"], config["Labels"]) == (None, ["sh", "-c", "true"], {"a": "1"})


class _FakeStore:
    def config_of(self, record):
        return {"image_config": {}, "isolation": "namespace", "entrypoint": [], "cmd": ["sh", "-c", "true"]}

    def paths(self, container_id):
        return PATHS

    def published_ports(self, record):
        return ()


class _FakeRuntime:
    """What ``describe_container`` asks of a ``Runtime``: the store's files, the spec, the isolation and the cgroup usage."""

    store = _FakeStore()

    def spec_of(self, record):
        return SPEC

    def isolation_of(self, record):
        return "namespace"

    def usage(self, record):
        return None


def test_the_document_names_the_program_the_container_and_its_times():
    document = describe_container(_FakeRuntime(), RECORD._replace(created=1704532079.5))
    assert (document["Id"], document["Name"], document["Image"]) == ("c0ffee", "/web", "sha256:1234")
    assert (document["Path"], document["Args"]) == ("sh", ["-c", "true"])
    assert document["Created"] == "2024-01-06T09:07:59.500000Z"
    assert (document["Driver"], document["Platform"], document["RestartCount"]) == ("overlay", "linux", 0)
    assert document["ResourceUsage"] is None and document["LogPath"] == ""


PUBLISHED_CONFIG = {"image_config": {"ExposedPorts": {"443/tcp": {}}}, "publish_all": False,
                    "ports": [PortBinding(80, "tcp", "", 8080)._asdict(), PortBinding(53, "udp", "127.0.0.1", 0)._asdict()]}


def test_port_bindings_show_what_was_asked_with_an_ephemeral_port_as_an_empty_string():
    assert publishing(PUBLISHED_CONFIG) == {
        "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}], "53/udp": [{"HostIp": "127.0.0.1", "HostPort": ""}]},
        "PublishAllPorts": False,
    }


def test_a_container_without_published_ports_has_empty_port_bindings():
    assert publishing({"image_config": {}}) == {"PortBindings": {}, "PublishAllPorts": False}


def test_published_ports_are_exposed_beside_the_images_own():
    assert exposed_ports(PUBLISHED_CONFIG) == {"443/tcp": {}, "80/tcp": {}, "53/udp": {}}


def test_a_running_containers_ports_say_where_they_listen_and_an_unpublished_one_is_null():
    published = (PortBinding(80, "tcp", "0.0.0.0", 8080),)
    settings = network_settings(RECORD._replace(state=RUNNING), published, {"443/tcp": {}, "80/tcp": {}})
    assert settings == {"Ports": {"443/tcp": None, "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}}


def test_a_stopped_container_has_no_ports():
    assert network_settings(RECORD._replace(state=EXITED), (), {"80/tcp": {}}) == {"Ports": {}}
