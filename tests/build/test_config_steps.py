"""Metadata instructions write the image config as Docker does, each with an empty_layer history entry."""

import re

import pytest

from dockpy.build.config_steps import ConfigContext, Expander, apply_config_step
from dockpy.build.state import StageState, scratch_config
from dockpy.build.variables import BuildArgs
from dockpy.errors import DockerfileError
from dockpy.image.oci import ContainerConfig, ImageConfig, Platform, RootFS
from tests.build.conftest import plan

PLATFORM = Platform.host()


def configure(text: str, build_args=None, base: ImageConfig | None = None):
    """Apply a one-stage Dockerfile's metadata instructions; returns the state."""
    built = plan(text)
    state = StageState.from_base(built.target, base or scratch_config(PLATFORM), [])
    args = BuildArgs(build_args or {})
    context = ConfigContext(Expander(), args, {"GLOBAL": "g"})
    for command in built.target.commands:
        apply_config_step(state, command, context)
    state.build_args = args
    return state


def test_env_values_expand_with_the_env_before_the_instruction():
    state = configure("FROM scratch\nENV A=1\nENV A=2 B=$A\n")
    assert state.container.env[-2:] == ("A=2", "B=1")


def test_env_wins_over_arg_of_the_same_name():
    state = configure("FROM scratch\nARG V=arg\nENV V=env\nENV W=$V\n")
    assert "W=env" in state.container.env


def test_build_arg_overrides_the_arg_default_and_is_consumed():
    state = configure("FROM scratch\nARG V=default\nENV W=$V\n", build_args={"V": "given", "X": "unused"})
    assert "W=given" in state.container.env
    assert state.build_args.unconsumed() == ["X"]


def test_a_stage_arg_without_default_takes_the_global_value():
    state = configure("FROM scratch\nARG GLOBAL\nENV W=$GLOBAL\n")
    assert "W=g" in state.container.env


def test_an_undeclared_arg_is_not_expanded():
    state = configure("FROM scratch\nENV W=x$GLOBAL\n")
    assert "W=x" in state.container.env


def test_proxy_build_args_are_consumed_without_a_declaration_and_stay_out_of_history():
    state = configure("FROM scratch\nARG V=1\n", build_args={"HTTP_PROXY": "http://p"})
    assert state.build_args.unconsumed() == []
    assert state.variables.history_args() == ["V=1"]
    assert "HTTP_PROXY=http://p" in state.variables.run_environment(state.build_args.proxy_values())


def test_shell_form_cmd_uses_the_current_shell():
    state = configure('FROM scratch\nSHELL ["/bin/bash", "-c"]\nCMD echo hi\n')
    assert state.container.cmd == ("/bin/bash", "-c", "echo hi")


def test_entrypoint_resets_an_inherited_cmd_but_not_one_set_in_the_stage():
    base = ImageConfig("amd64", "linux", RootFS(()), config=ContainerConfig(cmd=("sh",)))
    assert configure('FROM scratch\nENTRYPOINT ["/e"]\n', base=base).container.cmd is None
    assert configure('FROM scratch\nCMD ["c"]\nENTRYPOINT ["/e"]\n', base=base).container.cmd == ("c",)


def test_expose_normalizes_ports_and_ranges():
    state = configure("FROM scratch\nEXPOSE 80 53/UDP 8000-8001\n")
    assert state.container.exposed_ports == ("53/udp", "80/tcp", "8000/tcp", "8001/tcp")


def test_expose_splits_an_unquoted_variable_into_ports():
    state = configure('FROM scratch\nENV PORTS="80 443"\nEXPOSE $PORTS\n')
    assert state.container.exposed_ports == ("443/tcp", "80/tcp")


def test_an_invalid_port_fails_with_the_line():
    with pytest.raises(DockerfileError, match="Dockerfile:2: invalid port"):
        configure("FROM scratch\nEXPOSE http\n")


def test_labels_volumes_user_stopsignal_and_maintainer():
    state = configure('FROM scratch\nLABEL a=1 "b c"=2\nVOLUME ["/data", "/logs"]\nUSER nobody:nogroup\n'
                      "STOPSIGNAL SIGQUIT\nMAINTAINER Jane <jane@example.com>\n")
    assert state.container.labels == {"a": "1", "b c": "2"}
    assert state.container.volumes == ("/data", "/logs")
    assert (state.container.user, state.container.stop_signal) == ("nobody:nogroup", "SIGQUIT")
    assert state.author == "Jane <jane@example.com>"


@pytest.mark.parametrize("name", ["SIGNOPE", "SIG_DFL", "SIGRTMIN+99", "999"])
def test_a_stop_signal_stop_could_not_send_is_refused(name):
    with pytest.raises(DockerfileError, match=f"invalid signal: {re.escape(name)}"):
        configure(f"FROM scratch\nSTOPSIGNAL {name}\n")


@pytest.mark.parametrize("name", ["SIGRTMIN+3", "RTMIN+3", "rtmax-1", "9"])
def test_a_real_time_or_numbered_stop_signal_is_taken_as_written(name):
    assert configure(f"FROM scratch\nSTOPSIGNAL {name}\n").container.stop_signal == name


def test_healthcheck_and_onbuild_land_in_the_config():
    state = configure("FROM scratch\nHEALTHCHECK --interval=30s CMD true\nONBUILD RUN make\n")
    assert state.container.healthcheck.test == ("CMD-SHELL", "true")
    assert state.container.healthcheck.interval == 30_000_000_000
    assert state.container.on_build == ("RUN make",)


def test_every_metadata_instruction_adds_buildkits_empty_layer_history():
    state = configure('FROM scratch\nARG V=1\nENV A=1\nLABEL l=v\nEXPOSE 80\nVOLUME /v\nUSER u\n'
                      'CMD ["a", "b"]\nENTRYPOINT ["e"]\nSHELL ["/bin/sh", "-c"]\nSTOPSIGNAL 9\n'
                      "HEALTHCHECK --interval=30s CMD true\nONBUILD RUN x\nMAINTAINER me\n")
    assert all(entry.empty_layer for entry in state.history)
    assert [entry.created_by for entry in state.history] == [
        "ARG V=1", "ENV A=1", "LABEL l=v", "EXPOSE map[80/tcp:{}]", "VOLUME [/v]", "USER u",
        'CMD ["a" "b"]', 'ENTRYPOINT ["e"]', "SHELL [/bin/sh -c]", "STOPSIGNAL 9",
        "HEALTHCHECK &{[\"CMD-SHELL\" \"true\"] \"30s\" \"0s\" \"0s\" \"0s\" '\\x00'}", "ONBUILD RUN x",
        "MAINTAINER me",
    ]


def test_scratch_starts_with_buildkits_default_path_and_root_working_dir():
    config = scratch_config(PLATFORM).config
    assert config.env == ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",)
    assert config.working_dir == "/"


def test_the_image_config_dates_empty_entries_like_the_layer_below_them():
    state = configure("FROM scratch\nENV A=1\n")
    config = state.image_config(PLATFORM, fixed_time=1700000000)
    assert config.created == "2023-11-14T22:13:20Z"
    assert config.history[-1].created == "2023-11-14T22:13:20Z"
