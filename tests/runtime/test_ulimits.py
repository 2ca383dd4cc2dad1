"""--ulimit NAME=SOFT[:HARD]: Docker's names and syntax, never above dockpy's own hard limit."""

import resource

import pytest

from dockpy.errors import InvalidInputError
from dockpy.runtime.spec import DEFAULT_RLIMITS, Rlimit
from dockpy.runtime.ulimits import container_rlimits, parse_ulimit


def test_soft_and_hard_are_parsed():
    assert parse_ulimit("nofile=1024:2048") == Rlimit("RLIMIT_NOFILE", 1024, 2048)


def test_a_missing_hard_limit_equals_the_soft_one():
    assert parse_ulimit("nproc=64") == Rlimit("RLIMIT_NPROC", 64, 64)


def test_minus_one_is_unlimited():
    assert parse_ulimit("core=-1") == Rlimit("RLIMIT_CORE", -1, -1)


@pytest.mark.parametrize("text, message", [
    ("nofile", "invalid ulimit argument: nofile"),
    ("files=3", "invalid ulimit type: files"),
    ("nofile=many", "invalid ulimit argument: nofile=many"),
    ("nofile=-2", "invalid ulimit argument: nofile=-2"),
    ("nofile=3:2", "soft limit must be less than or equal to hard limit: 3 > 2"),
])
def test_bad_limits_are_refused_with_dockers_wording(text, message):
    with pytest.raises(InvalidInputError, match=message):
        parse_ulimit(text)


def test_the_given_limits_replace_dockers_default_of_the_same_name():
    assert container_rlimits(["nofile=100:200"]) == (Rlimit("RLIMIT_NOFILE", 100, 200),)


def test_other_limits_are_added_to_the_defaults_and_the_last_of_a_name_wins():
    assert container_rlimits(["nproc=10", "nproc=20"]) == DEFAULT_RLIMITS + (Rlimit("RLIMIT_NPROC", 20, 20),)


def test_a_limit_above_the_hosts_hard_limit_is_refused(monkeypatch):
    monkeypatch.setattr(resource, "getrlimit", lambda kind: (1024, 20000))
    with pytest.raises(InvalidInputError, match="--ulimit nofile=30000: above this host's hard limit of 20000"):
        container_rlimits(["nofile=30000"])


def test_unlimited_is_above_a_finite_host_limit(monkeypatch):
    monkeypatch.setattr(resource, "getrlimit", lambda kind: (1024, 20000))
    with pytest.raises(InvalidInputError, match="above this host's hard limit"):
        container_rlimits(["nofile=-1"])


def test_any_limit_fits_under_an_unlimited_host_limit(monkeypatch):
    monkeypatch.setattr(resource, "getrlimit", lambda kind: (1024, resource.RLIM_INFINITY))
    assert container_rlimits(["core=-1"])[-1] == Rlimit("RLIMIT_CORE", -1, -1)
