"""``run -p``/``-P`` through the command line: busybox's httpd and nc reached from the host, and nothing left after.

Every host port is an ephemeral one on 127.0.0.1 (``-p 127.0.0.1::80``),
read back with ``dockpy port``, so the tests never collide with what else
runs on the machine.
"""

import json
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import requires_root

pytestmark = requires_root

HTTPD = ("httpd", "-f", "-p", "80", "-h", "/etc")
LOCAL_EPHEMERAL = "127.0.0.1::80"
# How long a detached server may take to listen, at most (a poll, not a timed assertion).
READY_SECONDS = 20


@pytest.fixture
def detached(dockpy, build_root):
    """``detached(*run_options, command=...)``: a ``run -d`` container of the busybox image, removed afterwards."""
    started = []

    def start(*options, command=HTTPD, image="busybox"):
        container = dockpy("run", "-d", *options, image, *command, check=True).stdout.strip()
        started.append(container)
        return container

    yield start
    for container in started:
        dockpy("rm", "-f", container)


def host_port(dockpy, container, port="80") -> int:
    address = dockpy("port", container, port, check=True).stdout.split()[0]
    return int(address.rsplit(":", 1)[1])


def http_get(port: int, path: str = "/hostname") -> str:
    """The response to a GET, once the server in the container answers (an early connection just ends)."""
    deadline = time.monotonic() + READY_SECONDS
    while True:
        response = _exchange(port, f"GET {path} HTTP/1.0\r\n\r\n".encode())
        if response or time.monotonic() > deadline:
            return response.decode(errors="replace")
        time.sleep(0.05)


def _exchange(port: int, request: bytes) -> bytes:
    """The whole answer to ``request``; none if the connection was cut (the server was not listening yet)."""
    chunks = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        try:
            connection.sendall(request)
            connection.shutdown(socket.SHUT_WR)
            while chunk := connection.recv(65536):
                chunks.append(chunk)
        except OSError:  # reset, as a connection closed with our request unread is
            return b""
    return b"".join(chunks)


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_a_detached_containers_httpd_answers_on_the_published_port(dockpy, detached):
    container = detached("-p", LOCAL_EPHEMERAL, "--hostname", "web")
    response = http_get(host_port(dockpy, container))
    assert response.startswith("HTTP/1.") and response.endswith("web\n")


def test_a_foreground_run_forwards_until_its_container_exits(dockpy, build_root):
    run = subprocess.Popen([sys.executable, "-m", "dockpy", "run", "--rm", "--name", "fg", "-p", LOCAL_EPHEMERAL,
                            "--hostname", "fore", "busybox", "sh", "-c", "httpd -p 80 -h /etc; sleep 600"])
    try:
        port = _eventually(lambda: dockpy("port", "fg", "80").stdout and host_port(dockpy, "fg"))
        assert http_get(port).endswith("fore\n")
    finally:
        dockpy("kill", "fg")
        run.wait(timeout=60)
    assert not listening(port)


def test_a_created_container_binds_its_ports_when_it_starts(dockpy, build_root):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        dockpy("create", "--name", "later", "-p", f"127.0.0.1:{port}:80", "--hostname", "late", "busybox", *HTTPD, check=True)
        refused = dockpy("start", "later")
    try:
        assert refused.returncode == 125 and "address already in use" in refused.stderr
        dockpy("start", "later", check=True)
        assert http_get(port).endswith("late\n")
    finally:
        dockpy("rm", "-f", "later")


def test_port_lists_each_binding_as_docker_prints_it(dockpy, detached):
    container = detached("-p", LOCAL_EPHEMERAL, "-p", "127.0.0.1::53/udp")
    lines = dockpy("port", container, check=True).stdout.splitlines()
    assert [line.split(" -> ")[0] for line in lines] == ["53/udp", "80/tcp"]
    assert lines[1] == f"80/tcp -> 127.0.0.1:{host_port(dockpy, container)}"


def test_port_of_a_port_not_published_is_an_error_naming_it(dockpy, detached):
    container = detached("-p", LOCAL_EPHEMERAL, "--name", "one-port")
    result = dockpy("port", container, "81")
    assert result.returncode == 125
    assert result.stderr.splitlines()[0] == "dockpy: error: no public port '81/tcp' published for one-port"


def test_ps_and_inspect_show_the_published_ports_in_dockers_shapes(dockpy, detached):
    container = detached("-p", LOCAL_EPHEMERAL)
    port = host_port(dockpy, container)
    assert dockpy("ps", "--format", "{{.Ports}}", check=True).stdout == f"127.0.0.1:{port}->80/tcp\n"
    header, row = dockpy("ps", check=True).stdout.splitlines()
    assert header.split()[-3:] == ["STATUS", "PORTS", "NAMES"] and f"127.0.0.1:{port}->80/tcp" in row
    (document,) = json.loads(dockpy("inspect", container, check=True).stdout)
    assert document["HostConfig"]["PortBindings"] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}
    assert document["NetworkSettings"]["Ports"] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}


def test_a_busy_host_port_fails_the_run_and_leaves_the_store_unchanged(dockpy, build_root):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = dockpy("run", "-d", "-p", f"127.0.0.1:{port}:80", "busybox", *HTTPD)
    assert result.returncode == 125
    message = f"dockpy: error: cannot publish port 80/tcp on 127.0.0.1:{port}: address already in use"
    assert result.stderr.splitlines()[0] == message
    assert dockpy("ps", "-a", "-q", check=True).stdout == ""


@pytest.mark.parametrize("how", [("stop", "-t", "1"), ("rm", "-f")])
def test_the_listener_is_gone_once_the_container_is_stopped_or_removed(dockpy, detached, how):
    container = detached("-p", LOCAL_EPHEMERAL)
    port = host_port(dockpy, container)
    assert http_get(port)
    dockpy(*how, container, check=True)
    assert not listening(port)


def test_two_containers_publish_two_ports(dockpy, detached):
    first = detached("-p", LOCAL_EPHEMERAL, "--hostname", "one")
    second = detached("-p", LOCAL_EPHEMERAL, "--hostname", "two")
    assert http_get(host_port(dockpy, first)).endswith("one\n")
    assert http_get(host_port(dockpy, second)).endswith("two\n")


def test_a_client_that_half_closes_still_reads_the_containers_answer(dockpy, detached):
    # wc answers only after its input ends: the client's half-close must reach it, the reply come back.
    container = detached("-p", LOCAL_EPHEMERAL, command=("nc", "-ll", "-p", "80", "-e", "wc", "-c"))
    port = host_port(dockpy, container)
    reply = _eventually(lambda: _exchange(port, b"twelve bytes"))
    assert reply.strip() == b"12"


def test_publish_all_publishes_what_the_image_exposes_on_ephemeral_ports(dockpy, detached):
    dockpy("create", "--name", "base", "busybox", "true", check=True)
    dockpy("commit", "-c", "EXPOSE 80", "base", "web", check=True)
    dockpy("rm", "base", check=True)
    container = detached("-P", "--hostname", "exposed", image="web")
    (line,) = dockpy("port", container, check=True).stdout.splitlines()
    assert line.startswith("80/tcp -> 0.0.0.0:")
    assert dockpy("inspect", "-f", "{{.HostConfig.PublishAllPorts}}", container, check=True).stdout == "true\n"
    assert http_get(host_port(dockpy, container)).endswith("exposed\n")


def test_explicit_network_none_refuses_publishing_as_docker_does(dockpy, build_root):
    result = dockpy("run", "--network", "none", "-p", "80", "busybox", "true")
    assert result.returncode == 125
    assert "conflicting options: port publishing and the container type network mode" in result.stderr


def test_network_host_discards_published_ports_with_dockers_warning(dockpy, build_root):
    result = dockpy("run", "--rm", "--network", "host", "-p", "80", "busybox", "true")
    assert result.returncode == 0
    assert "WARNING: Published ports are discarded when using host network mode" in result.stderr


def _eventually(attempt):
    deadline = time.monotonic() + READY_SECONDS
    while True:
        value = attempt()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)
