"""--tmpfs DST[:OPTIONS]: Docker's defaults, and the last of each flag or data key wins."""

import pytest

from dockpy import linux
from dockpy.errors import InvalidInputError
from dockpy.runtime.spec import TmpfsMount
from dockpy.runtime.tmpfs import merge_options, mount_flags_and_data, parse_tmpfs


def test_a_bare_destination_gets_dockers_default_options():
    assert parse_tmpfs("/run") == TmpfsMount("/run", ("rw", "noexec", "nosuid", "nodev"))


def test_given_options_override_the_defaults_they_collide_with():
    assert parse_tmpfs("/run:exec,size=64m") == TmpfsMount("/run", ("rw", "nosuid", "nodev", "exec", "size=64m"))


def test_the_last_value_of_a_data_key_wins():
    assert merge_options(("size=1m", "mode=755", "size=2m")) == ("mode=755", "size=2m")


def test_defaults_is_ignored():
    assert merge_options(("rw", "defaults")) == ("rw",)


def test_a_relative_destination_is_refused_in_dockers_words():
    with pytest.raises(InvalidInputError, match="invalid mount path: 'run' mount path must be absolute"):
        parse_tmpfs("run")


def test_the_root_cannot_be_a_tmpfs():
    with pytest.raises(InvalidInputError, match="root filesystem cannot be a tmpfs"):
        parse_tmpfs("/")


@pytest.mark.parametrize("destination", ["/proc", "/proc/sys", "//proc/./sys/", "/tmp/../proc/sys"])
def test_a_destination_in_proc_is_refused_as_runc_refuses_it(destination):
    """A tmpfs over /proc/sys would hide what the runtime reads there and fail the start with a puzzling line."""
    with pytest.raises(InvalidInputError, match="cannot be mounted because it is inside /proc"):
        parse_tmpfs(destination)


def test_a_destination_only_named_like_proc_is_taken():
    assert parse_tmpfs("/process").destination == "/process"


@pytest.mark.parametrize("option", ["bogus", "colour=red", "size"])
def test_an_unknown_option_is_refused(option):
    with pytest.raises(InvalidInputError, match="invalid tmpfs option"):
        parse_tmpfs(f"/run:{option}")


def test_flags_become_mount_bits_and_the_rest_data():
    flags, data = mount_flags_and_data(("ro", "nosuid", "nodev", "exec", "size=1m", "mode=1777"))
    assert flags == linux.MS_RDONLY | linux.MS_NOSUID | linux.MS_NODEV
    assert data == "size=1m,mode=1777"
