"""Docker's precedence of image config and run flags, and the flags' own syntax."""

import pytest

from dockpy.errors import InvalidInputError
from dockpy.image.config_defaults import DEFAULT_PATH
from dockpy.runtime.config import (
    RunOptions,
    build_process,
    check_isolation,
    container_labels,
    entrypoint_and_cmd,
    parse_size,
    parse_volume,
    port_bindings,
    recorded_settings,
    refuse_namespace_only_flags,
    resources,
)
from dockpy.runtime.ports import PortBinding
from dockpy.runtime.spec import DEFAULT_CAPABILITIES, DEFAULT_RLIMITS, VolumeMount

IMAGE = {"Entrypoint": ["/entry"], "Cmd": ["default", "args"], "Env": ["A=image", "B=image"], "WorkingDir": "/srv", "User": "app"}


def process(options=RunOptions(), image=IMAGE):
    return build_process(image, options, "host1")


def test_command_line_arguments_replace_the_image_cmd_after_its_entrypoint():
    assert process(RunOptions(command=("x", "y"))).args == ("/entry", "x", "y")


def test_without_arguments_entrypoint_and_cmd_are_joined():
    assert process().args == ("/entry", "default", "args")


def test_entrypoint_flag_replaces_the_entrypoint_and_drops_the_image_cmd():
    assert process(RunOptions(entrypoint="/bin/sh")).args == ("/bin/sh",)


def test_an_empty_entrypoint_flag_clears_the_entrypoint():
    assert process(RunOptions(entrypoint="", command=("ls",))).args == ("ls",)


def test_entrypoint_and_cmd_are_kept_apart_for_inspect():
    assert entrypoint_and_cmd(IMAGE, RunOptions(command=("x",))) == (["/entry"], ["x"])
    assert entrypoint_and_cmd(IMAGE, RunOptions(entrypoint="/bin/sh", command=("-c", "true"))) == (["/bin/sh"], ["-c", "true"])


def test_no_command_at_all_is_an_error():
    with pytest.raises(InvalidInputError, match="no command specified"):
        process(image={})


def test_env_flags_override_image_env_which_overrides_defaults():
    env = process(RunOptions(env=("B=flag", "C=flag"))).env
    assert env == (f"PATH={DEFAULT_PATH}", "HOSTNAME=host1", "A=image", "B=flag", "C=flag")


def test_an_env_flag_without_value_takes_the_callers_value_or_is_dropped(monkeypatch):
    monkeypatch.setenv("FROM_CALLER", "yes")
    monkeypatch.delenv("UNSET_HERE", raising=False)
    env = process(RunOptions(env=("FROM_CALLER", "A", "UNSET_HERE"))).env
    assert "FROM_CALLER=yes" in env and not any(e.startswith(("A=", "UNSET_HERE")) for e in env)


def test_tty_sets_term():
    assert "TERM=xterm" in process(RunOptions(tty=True)).env


def test_workdir_and_user_flags_replace_the_images():
    result = process(RunOptions(workdir="/tmp", user="0"))
    assert (result.cwd, result.user) == ("/tmp", "0")


def test_image_workdir_and_user_apply_without_flags():
    assert (process().cwd, process().user) == ("/srv", "app")


def test_a_relative_workdir_is_refused():
    with pytest.raises(InvalidInputError, match="absolute path"):
        process(RunOptions(workdir="tmp"))


@pytest.mark.parametrize("text,size", [("512", 512), ("4k", 4096), ("64m", 64 << 20), ("1g", 1 << 30), ("1.5GiB", 3 << 29)])
def test_sizes_use_binary_units(text, size):
    assert parse_size(text) == size


def test_a_memory_limit_below_docker_minimum_is_refused():
    with pytest.raises(InvalidInputError, match="minimum memory"):
        resources(RunOptions(memory="1m"))


def test_a_non_positive_pids_limit_means_unlimited():
    assert resources(RunOptions(pids_limit=-1)).pids_limit is None


def test_volume_specs_parse_with_optional_read_only_mode():
    assert parse_volume("/a:/b:ro") == VolumeMount("/a", "/b", True)
    assert parse_volume("/a/:/b") == VolumeMount("/a", "/b", False)


@pytest.mark.parametrize("text", ["vol:/data", "/a:b", "/a", "/a:/b:rx", "/a:/b:ro:x"])
def test_malformed_or_named_volumes_are_refused(text):
    with pytest.raises(InvalidInputError):
        parse_volume(text)


def test_isolation_is_namespace_or_kvm():
    assert [check_isolation(mode) for mode in ("namespace", "kvm")] == ["namespace", "kvm"]
    with pytest.raises(InvalidInputError, match="isolation 'hyperv' is not supported"):
        check_isolation("hyperv")


EXPOSING = {"ExposedPorts": {"80/tcp": {}, "53/udp": {}}}


def test_without_p_or_capital_p_nothing_is_published():
    assert port_bindings(EXPOSING, RunOptions()) == ()


def test_publish_all_adds_the_exposed_ports_an_explicit_p_does_not_name():
    bindings = port_bindings(EXPOSING, RunOptions(publish=("8080:80",), publish_all=True))
    assert bindings == (PortBinding(80, "tcp", "", 8080), PortBinding(53, "udp", "", 0))


def test_the_default_network_mode_publishes_ports():
    assert port_bindings({}, RunOptions(publish=("80",))) == (PortBinding(80),)


def test_an_explicit_network_none_refuses_publishing():
    with pytest.raises(InvalidInputError, match="conflicting options: port publishing"):
        port_bindings({}, RunOptions(publish=("80",), network="none"))


def test_host_networking_discards_published_ports_with_a_warning(capsys):
    assert port_bindings({}, RunOptions(publish=("80",), network="host")) == ()
    assert capsys.readouterr().err == "WARNING: Published ports are discarded when using host network mode\n"


def test_a_microvm_refuses_published_ports():
    with pytest.raises(InvalidInputError, match="no network interface"):
        port_bindings({}, RunOptions(publish=("80",), isolation="kvm"))


def test_env_file_lines_come_after_the_image_and_before_dash_e(tmp_path):
    env_file = tmp_path / "env"
    env_file.write_text("A=file\nC=file\n")
    env = process(RunOptions(env_files=(str(env_file),), env=("C=flag",))).env
    assert "A=file" in env and "B=image" in env and "C=flag" in env


def test_labels_are_the_images_then_the_label_files_then_dash_l(tmp_path):
    label_file = tmp_path / "labels"
    label_file.write_text("b=file\nc=file\n")
    options = RunOptions(label_files=(str(label_file),), labels=("c=flag", "d"))
    assert container_labels({"Labels": {"a": "image", "b": "image"}}, options) == {"a": "image", "b": "file", "c": "flag", "d": ""}


def test_a_label_without_a_name_is_refused():
    with pytest.raises(InvalidInputError, match="invalid label '=x': empty name"):
        container_labels({}, RunOptions(labels=("=x",)))


def test_without_the_new_flags_the_process_keeps_dockers_defaults():
    result = process()
    assert (result.capabilities, result.rlimits, result.additional_groups) == (DEFAULT_CAPABILITIES, DEFAULT_RLIMITS, ())


def test_recorded_settings_hold_only_the_flags_given():
    assert recorded_settings(IMAGE, RunOptions(), ()) == {}
    options = RunOptions(labels=("a=1",), tmpfs=("/run:size=1m", "/tmp"), stop_signal="USR1", stop_timeout=3)
    assert recorded_settings({}, options, (("db", "::1"),)) == {
        "labels": {"a": "1"}, "extra_hosts": ["db:::1"], "tmpfs": {"/run": "size=1m", "/tmp": ""},
        "stop_signal": "USR1", "stop_timeout": 3}


@pytest.mark.parametrize("options, flag", [
    (RunOptions(add_hosts=("db:::1",)), "--add-host"), (RunOptions(tmpfs=("/run",)), "--tmpfs"),
    (RunOptions(cap_add=("ALL",)), "--cap-add"), (RunOptions(cap_drop=("ALL",)), "--cap-drop"),
    (RunOptions(ulimits=("nproc=1",)), "--ulimit"), (RunOptions(group_add=("wheel",)), "--group-add"),
])
def test_kvm_refuses_each_flag_a_microvm_cannot_honour_by_name(options, flag):
    with pytest.raises(InvalidInputError, match=f"^{flag} is not available with --isolation kvm"):
        refuse_namespace_only_flags(options)


def test_kvm_takes_the_flags_that_work_anywhere():
    refuse_namespace_only_flags(RunOptions(env_files=("f",), labels=("a=1",), cidfile="c", stop_signal="USR1", stop_timeout=1))
