"""commit -c: Dockerfile metadata instructions applied to an image config."""

import pytest

from dockpy.errors import InvalidInputError
from dockpy.image.oci import ContainerConfig
from dockpy.runtime.commit_changes import apply_changes

BASE = ContainerConfig(cmd=("sh",), env=("PATH=/bin",), working_dir="/app")


def test_cmd_in_exec_and_shell_form():
    assert apply_changes(BASE, ('CMD ["ls", "-l"]',)).cmd == ("ls", "-l")
    assert apply_changes(BASE, ("CMD ls -l",)).cmd == ("/bin/sh", "-c", "ls -l")


def test_entrypoint_drops_an_inherited_cmd_but_not_one_set_in_the_same_commit():
    assert apply_changes(BASE, ('ENTRYPOINT ["/e"]',)).cmd is None
    assert apply_changes(BASE, ('CMD ["x"]', 'ENTRYPOINT ["/e"]')).cmd == ("x",)


def test_env_overrides_by_name_and_accepts_quotes():
    config = apply_changes(BASE, ('ENV PATH=/usr/bin GREETING="hello world"',))
    assert config.env == ("PATH=/usr/bin", "GREETING=hello world")


def test_relative_workdir_is_joined_to_the_current_one():
    assert apply_changes(BASE, ("WORKDIR sub",)).working_dir == "/app/sub"


def test_expose_label_user_volume_stopsignal_onbuild():
    config = apply_changes(BASE, ("EXPOSE 80 53/udp", "LABEL a=b", "USER app", 'VOLUME ["/data"]', "STOPSIGNAL SIGINT", "ONBUILD RUN x"))
    assert config.exposed_ports == ("53/udp", "80/tcp")
    assert (config.labels, config.user, config.volumes, config.stop_signal, config.on_build) == (
        {"a": "b"}, "app", ("/data",), "SIGINT", ("RUN x",))


def test_expose_stores_a_range_as_its_ports_as_the_dockerfiles_does():
    assert apply_changes(BASE, ("EXPOSE 8000-8002 53/UDP",)).exposed_ports == ("53/udp", "8000/tcp", "8001/tcp", "8002/tcp")


@pytest.mark.parametrize("spec", ["http", "0", "70000", "80/icmp", "90-80"])
def test_expose_refuses_what_is_no_port(spec):
    with pytest.raises(InvalidInputError, match=f"EXPOSE: invalid port '{spec}'"):
        apply_changes(BASE, (f"EXPOSE {spec}",))


def test_healthcheck_with_flags_and_none():
    config = apply_changes(BASE, ("HEALTHCHECK --interval=30s --retries=3 CMD curl -f localhost",))
    assert config.healthcheck.test == ("CMD-SHELL", "curl -f localhost")
    assert (config.healthcheck.interval, config.healthcheck.retries) == (30 * 10**9, 3)
    assert apply_changes(BASE, ("HEALTHCHECK NONE",)).healthcheck.test == ("NONE",)


@pytest.mark.parametrize("change", ["RUN echo hi", "FROM busybox", "CMD"])
def test_non_metadata_or_empty_instructions_are_refused(change):
    with pytest.raises(InvalidInputError):
        apply_changes(BASE, (change,))
