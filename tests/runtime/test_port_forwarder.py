"""The userspace forwarder against servers in a network namespace of their own (no container needed).

The servers answer only once a client's input has ended (TCP) and per
datagram (UDP), each with the input in capitals, so the tests see both the
half-close and the way back. Every host port is an ephemeral one on 127.0.0.1.
"""

import os
import socket
import subprocess
import sys
import threading

import pytest

from dockpy.errors import ConflictError, ContainerSetupError
from dockpy.runtime.port_forwarder import PortForwarder, bind_published_ports, forward_ports
from dockpy.runtime.ports import PortBinding
from tests.conftest import requires_root

pytestmark = requires_root

SERVER_PORT = 7000
# Runs as its own process: a private network namespace with loopback up, a TCP and a UDP server on SERVER_PORT.
SERVERS = f"""
import socket, sys, threading
from dockpy import linux
linux.unshare(linux.CLONE_NEWNET)
linux.set_interface_up("lo")

def answer(connection):
    data = b""
    while chunk := connection.recv(65536):
        data += chunk
    connection.sendall(data.upper())
    connection.close()

def serve_tcp(listener):
    while True:
        threading.Thread(target=answer, args=(listener.accept()[0],)).start()

tcp = socket.create_server(("127.0.0.1", {SERVER_PORT}))
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", {SERVER_PORT}))
threading.Thread(target=serve_tcp, args=(tcp,), daemon=True).start()
print("ready", flush=True)
while True:
    data, client = udp.recvfrom(65536)
    udp.sendto(data.upper(), client)
"""


@pytest.fixture(scope="module")
def servers():
    """The pid of a process whose network namespace holds the servers."""
    process = subprocess.Popen([sys.executable, "-c", SERVERS], stdout=subprocess.PIPE)
    assert process.stdout.readline() == b"ready\n"
    yield process.pid
    process.kill()
    process.wait()


@pytest.fixture
def forwarded(servers):
    """``forwarded(*bindings) -> [host ports]``: the bindings forwarded to the servers until the test ends."""
    forwarders = []

    def forward(*bindings):
        listeners = bind_published_ports(bindings)
        forwarders.append(forward_ports(listeners, servers))
        return [listener.binding.host_port for listener in listeners]

    yield forward
    for forwarder in forwarders:
        forwarder.stop()


def local(container_port=SERVER_PORT, protocol="tcp", host_port=0) -> PortBinding:
    return PortBinding(container_port, protocol, "127.0.0.1", host_port)


def exchange(port: int, data: bytes) -> bytes:
    """Send ``data``, half-close, read the answer to its end."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(data)
        connection.shutdown(socket.SHUT_WR)
        return read_to_end(connection)


def read_to_end(connection: socket.socket) -> bytes:
    answer = b""
    try:
        while chunk := connection.recv(65536):
            answer += chunk
    except ConnectionResetError:  # closed with our data unread: the kernel resets rather than ends it
        return b""
    return answer


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_a_connection_reaches_the_namespaces_server_and_its_answer_comes_back_after_the_half_close(forwarded):
    (port,) = forwarded(local())
    assert exchange(port, b"hello") == b"HELLO"


def test_many_concurrent_connections_each_get_their_own_answer(forwarded):
    (port,) = forwarded(local())
    answers = {}

    def client(number):
        answers[number] = exchange(port, b"x%d" % number * 1000)

    threads = [threading.Thread(target=client, args=(number,)) for number in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == {number: b"X%d" % number * 1000 for number in range(40)}


def test_a_port_nothing_listens_on_in_the_namespace_ends_the_connection(forwarded):
    (port,) = forwarded(local(container_port=SERVER_PORT + 1))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        assert connection.recv(100) == b""


def test_datagrams_of_each_client_come_back_to_that_client(forwarded):
    (port,) = forwarded(local(protocol="udp"))
    clients = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
    for number, client in enumerate(clients):
        client.settimeout(10)
        client.sendto(b"client %d" % number, ("127.0.0.1", port))
    assert [client.recv(100) for client in clients] == [b"CLIENT 0", b"CLIENT 1"]
    for client in clients:
        client.close()


def test_a_datagram_the_namespace_cannot_route_is_dropped_and_forwarding_goes_on():
    # A namespace whose loopback is down: a socket in it can reach nothing (connect: network is unreachable).
    with subprocess.Popen(["unshare", "--net", "sleep", "60"]) as unroutable:
        try:
            listeners = bind_published_ports([local(protocol="udp"), local()])
            udp_port, tcp_port = (listener.binding.host_port for listener in listeners)
            forwarder = forward_ports(listeners, unroutable.pid)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
                client.sendto(b"dropped", ("127.0.0.1", udp_port))
            # The datagram was ready before the first connection: the forwarder has taken it by the second.
            for _ in range(2):
                with socket.create_connection(("127.0.0.1", tcp_port), timeout=10) as connection:
                    assert read_to_end(connection) == b""  # accepted, then ended: nothing to reach in there
            forwarder.stop()
        finally:
            unroutable.kill()


def test_a_connection_no_thread_can_be_made_for_is_ended_and_forwarding_goes_on(forwarded):
    (port,) = forwarded(local())
    previous = threading.stack_size(1 << 50)  # more than any address space: no new thread can get its stack
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            assert read_to_end(connection) == b""
    finally:
        threading.stack_size(previous)
    assert exchange(port, b"hello") == b"HELLO"


def test_stop_closes_the_listener_and_cuts_open_connections(servers):
    listeners = bind_published_ports([local()])
    port = listeners[0].binding.host_port
    forwarder = forward_ports(listeners, servers)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(b"never finished")
        forwarder.stop()
        assert read_to_end(connection) == b""
    assert not listening(port)


def test_a_busy_port_is_refused_and_no_other_binding_stays_bound():
    with socket.create_server(("127.0.0.1", 0)) as busy:
        busy_port = busy.getsockname()[1]
        with socket.socket() as reserved:  # a port known to be free, to see it stays free
            reserved.bind(("127.0.0.1", 0))
            free_port = reserved.getsockname()[1]
        with pytest.raises(ConflictError, match=f"cannot publish port 80/tcp on 127.0.0.1:{busy_port}: address already in use"):
            bind_published_ports([local(81, host_port=free_port), local(80, host_port=busy_port)])
    with socket.create_server(("127.0.0.1", free_port)):
        pass


def test_forwarding_to_a_process_that_has_gone_closes_the_listeners():
    gone = subprocess.Popen(["true"])
    gone.wait()
    listeners = bind_published_ports([local()])
    port = listeners[0].binding.host_port
    assert forward_ports(listeners, gone.pid) is None
    assert not listening(port)


def test_a_namespace_the_thread_cannot_join_fails_the_start_and_closes_the_listeners():
    listeners = bind_published_ports([local()])
    port = listeners[0].binding.host_port
    not_a_namespace = os.open("/dev/null", os.O_RDONLY)
    with pytest.raises(ContainerSetupError, match="cannot forward published ports into the container: setns: Invalid argument"):
        PortForwarder(listeners, not_a_namespace).start()
    assert not listening(port)
