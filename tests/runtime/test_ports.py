"""``-p``'s syntax as Docker reads it, and the text ``ps`` and ``port`` print for published ports."""

import pytest

from dockpy.errors import InvalidInputError
from dockpy.runtime.ports import (
    PortBinding,
    bindings_from_json,
    bindings_to_json,
    exposed_bindings,
    parse_publish,
    port_bindings_document,
    port_lines,
    ports_column,
)


@pytest.mark.parametrize("text, binding", [
    ("80", PortBinding(80, "tcp", "", 0)),
    ("8080:80", PortBinding(80, "tcp", "", 8080)),
    ("127.0.0.1:8080:80", PortBinding(80, "tcp", "127.0.0.1", 8080)),
    ("127.0.0.1::80", PortBinding(80, "tcp", "127.0.0.1", 0)),
    ("5353:53/udp", PortBinding(53, "udp", "", 5353)),
    ("80/TCP", PortBinding(80, "tcp", "", 0)),
    ("[::1]:8080:80", PortBinding(80, "tcp", "::1", 8080)),
    ("[::1]::80", PortBinding(80, "tcp", "::1", 0)),
])
def test_publish_reads_dockers_forms(text, binding):
    assert parse_publish(text) == binding


@pytest.mark.parametrize("text, message", [
    ("80/sctp", "invalid proto"),
    ("http", "invalid port 'http'"),
    ("0", "invalid port '0'"),
    ("70000:80", "invalid port '70000'"),
    ("1:2:3:4", "invalid -p"),
    ("8080-8081:80-81", "port ranges are not supported"),
    ("[::1]80", "invalid -p"),
    ("localhost:8080:80", "invalid IP address: localhost"),
    ("300.0.0.1:8080:80", "invalid IP address: 300.0.0.1"),
    ("[::g]:8080:80", "invalid IP address: ::g"),
])
def test_publish_refuses_what_it_cannot_read_with_one_line(text, message):
    with pytest.raises(InvalidInputError, match=message):
        parse_publish(text)


def test_exposed_ports_become_ephemeral_bindings_in_port_order():
    config = {"ExposedPorts": {"8080/tcp": {}, "53/udp": {}, "443": {}}}
    assert exposed_bindings(config) == (PortBinding(53, "udp"), PortBinding(443, "tcp"), PortBinding(8080, "tcp"))


def test_an_exposed_sctp_port_is_not_published_by_the_tcp_and_udp_forwarder():
    assert exposed_bindings({"ExposedPorts": {"132/sctp": {}, "80/tcp": {}}}) == (PortBinding(80, "tcp"),)


def test_bindings_survive_their_json_form():
    bindings = (PortBinding(80, "tcp", "", 0), PortBinding(53, "udp", "127.0.0.1", 5353))
    assert bindings_from_json(bindings_to_json(bindings)) == bindings


def test_two_bindings_of_one_port_share_its_key_in_port_bindings():
    document = port_bindings_document([PortBinding(80, "tcp", "", 8080), PortBinding(80, "tcp", "::1", 0)])
    assert document == {"80/tcp": [{"HostIp": "", "HostPort": "8080"}, {"HostIp": "::1", "HostPort": ""}]}


def test_the_ports_column_puts_ports_published_on_another_number_after_the_others_as_docker_does():
    published = [PortBinding(8080, "tcp", "0.0.0.0", 9000), PortBinding(80, "tcp", "::1", 8080)]
    column = ports_column(published, {"443/tcp": {}, "80/tcp": {}})
    assert column == "443/tcp, [::1]:8080->80/tcp, 0.0.0.0:9000->8080/tcp"


def test_the_ports_column_groups_runs_of_consecutive_ports_as_docker_does():
    published = [PortBinding(port, "tcp", "0.0.0.0", port) for port in (80, 81)] + [PortBinding(82, "udp", "::", 82)]
    exposed = {f"{port}/tcp": {} for port in (80, 81, 8000, 8001, 8002, 9000)}
    column = ports_column(published, {**exposed, "53/udp": {}})
    # Docker's order: a run that a later port of its kind ends comes out at once, the last run of each kind at the end.
    assert column == "8000-8002/tcp, 53/udp, 0.0.0.0:80-81->80-81/tcp, [::]:82->82/udp, 9000/tcp"


def test_port_prints_each_binding_or_one_ports_addresses():
    published = [PortBinding(80, "tcp", "0.0.0.0", 8080), PortBinding(53, "udp", "0.0.0.0", 5353)]
    assert port_lines(published) == ["53/udp -> 0.0.0.0:5353", "80/tcp -> 0.0.0.0:8080"]
    assert port_lines(published, "80") == ["0.0.0.0:8080"]
    assert port_lines(published, "53/udp") == ["0.0.0.0:5353"]
    assert port_lines(published, "81") == []
