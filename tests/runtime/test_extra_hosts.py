"""--add-host NAME:IP: checked like Docker's, written as /etc/hosts lines."""

import pytest

from dockpy.errors import InvalidInputError
from dockpy.runtime.extra_hosts import hosts_lines, parse_add_host


@pytest.mark.parametrize("text, expected", [
    ("db:10.0.0.5", ("db", "10.0.0.5")),
    ("db=10.0.0.5", ("db", "10.0.0.5")),
    ("db:::1", ("db", "::1")),
    ("db:[2001:db8::1]", ("db", "2001:db8::1")),
])
def test_names_and_addresses_are_split_as_docker_splits_them(text, expected):
    assert parse_add_host(text) == expected


@pytest.mark.parametrize("text", ["db", "db:", ":10.0.0.5"])
def test_a_missing_name_or_address_is_a_bad_format(text):
    with pytest.raises(InvalidInputError, match="bad format for add-host"):
        parse_add_host(text)


def test_an_invalid_address_is_refused():
    with pytest.raises(InvalidInputError, match="invalid IP address in add-host: '10.0.0'"):
        parse_add_host("db:10.0.0")


def test_host_gateway_is_refused_clearly():
    with pytest.raises(InvalidInputError, match="host-gateway is not supported"):
        parse_add_host("host.docker.internal:host-gateway")


def test_each_entry_is_one_line_address_first():
    assert hosts_lines([("db", "10.0.0.5"), ("cache", "::1")]) == "10.0.0.5\tdb\n::1\tcache\n"
