"""--cap-add and --cap-drop: Docker's default set changed by name, with or without CAP_, or ALL."""

import pytest

from dockpy.errors import InvalidInputError
from dockpy.runtime import capabilities
from dockpy.runtime.capabilities import adjusted_capabilities, normalized_names
from dockpy.runtime.spec import DEFAULT_CAPABILITIES


@pytest.fixture
def host_withholds_sys_resource(monkeypatch):
    """A bounding set of every capability up to 40 but CAP_SYS_RESOURCE (24), as this host's."""
    monkeypatch.setattr(capabilities, "grantable_capabilities", lambda: tuple(
        name for name, number in capabilities.CAPABILITY_NUMBERS.items() if number != 24))


def test_names_are_taken_in_any_case_with_or_without_the_prefix():
    assert normalized_names(["net_admin", "CAP_SYS_TIME", "Kill", "all"]) == [
        "CAP_NET_ADMIN", "CAP_SYS_TIME", "CAP_KILL", "ALL"]


def test_an_unknown_name_is_refused_by_its_full_name():
    with pytest.raises(InvalidInputError, match='unknown capability: "CAP_FLY"'):
        normalized_names(["fly"])


def test_added_names_follow_the_defaults_and_dropped_ones_leave(host_withholds_sys_resource):
    result = adjusted_capabilities(["NET_ADMIN"], ["chown"])
    assert result == tuple(name for name in DEFAULT_CAPABILITIES if name != "CAP_CHOWN") + ("CAP_NET_ADMIN",)


def test_adding_a_default_capability_keeps_it_once(host_withholds_sys_resource):
    assert adjusted_capabilities(["KILL"], []) == DEFAULT_CAPABILITIES


def test_adding_all_keeps_every_grantable_capability_but_the_dropped(host_withholds_sys_resource):
    result = adjusted_capabilities(["ALL"], ["NET_RAW"])
    assert "CAP_SYS_ADMIN" in result and "CAP_NET_RAW" not in result and "CAP_SYS_RESOURCE" not in result


def test_dropping_all_keeps_only_the_added(host_withholds_sys_resource):
    assert adjusted_capabilities(["chown"], ["ALL"]) == ("CAP_CHOWN",)


def test_a_capability_the_host_withholds_from_dockpy_is_refused(host_withholds_sys_resource):
    with pytest.raises(InvalidInputError, match="cannot add CAP_SYS_RESOURCE: this host does not grant it"):
        adjusted_capabilities(["SYS_RESOURCE"], [])


def test_a_capability_the_host_withholds_is_refused_after_dropping_all_too(host_withholds_sys_resource):
    with pytest.raises(InvalidInputError, match="cannot add CAP_SYS_RESOURCE: this host does not grant it"):
        adjusted_capabilities(["chown", "SYS_RESOURCE"], ["ALL"])


def test_grantable_capabilities_are_read_from_this_processs_bounding_set(tmp_path, monkeypatch):
    status = tmp_path / "status"
    status.write_text("Name:\tpython\nCapBnd:\t0000000000000005\n")
    monkeypatch.setattr(capabilities, "STATUS_FILE", str(status))
    assert capabilities.grantable_capabilities() == ("CAP_CHOWN", "CAP_DAC_READ_SEARCH")
