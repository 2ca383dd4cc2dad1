"""Publishing a container's ports without touching the host's network: a userspace forwarder.

No bridge, no veth, no iptables or nft rule: the process that owns the
container (``dockpy run`` in the foreground, the monitor for ``-d`` and
``start``) listens on each host address and port, and carries every
connection (TCP) or datagram (UDP) to the same port on the container's
loopback, docker-proxy's and rootlesskit's builtin driver's way.

The host side is bound first (``bind_published_ports``), in the host's
namespace and before the container starts, so a busy port fails the start
cleanly. The forwarder's thread then joins the container's network namespace
(``setns`` moves only the calling thread): every socket it creates, and those
its relay threads create, is the container's, while the listening sockets
stay the host's. Nothing outlives the container: ``stop`` closes the
listeners and cuts open connections before the owner records the exit.
"""

from __future__ import annotations

import os
import selectors
import socket
import threading
import time

from dockpy import linux
from dockpy.errors import ConflictError, ContainerSetupError
from dockpy.runtime.ports import ANY_ADDRESS, PortBinding

# Where the forwarder reaches a published port: the container's own loopback.
CONTAINER_ADDRESS = "127.0.0.1"
LISTEN_BACKLOG = 128
RELAY_BUFFER = 65536
# A UDP client's session (its socket in the container) is dropped after this long without traffic
# (docker-proxy's UDPConnTrackTimeout).
UDP_IDLE_SECONDS = 90.0


class Listener:
    """One bound host socket and the binding it carries out, with the address and port it really got."""

    __slots__ = ("binding", "socket")

    def __init__(self, binding: PortBinding, sock: socket.socket):
        self.binding = binding
        self.socket = sock


def bind_published_ports(bindings) -> list[Listener]:
    """Bind every host side now (raises ``ConflictError`` naming the first that fails; none stays bound)."""
    listeners: list[Listener] = []
    try:
        for binding in bindings:
            listeners.append(_bind(binding))
    except BaseException:
        close_listeners(listeners)
        raise
    return listeners


def close_listeners(listeners) -> None:
    for listener in listeners:
        listener.socket.close()


def _bind(binding: PortBinding) -> Listener:
    address = binding.host_ip or ANY_ADDRESS
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    tcp = binding.protocol == "tcp"
    sock = socket.socket(family, socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM)
    try:
        if tcp:  # a port whose last connections linger in TIME_WAIT is free again (docker-proxy does the same)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, binding.host_port))
        if tcp:
            sock.listen(LISTEN_BACKLOG)
    except OSError as error:
        sock.close()
        raise ConflictError(
            f"cannot publish port {binding.key} on {binding._replace(host_ip=address).host_address}: {error.strerror.lower()}",
            hint="Choose another host port, or stop what listens there.",
        ) from None
    return Listener(binding._replace(host_ip=address, host_port=sock.getsockname()[1]), sock)


def forward_ports(listeners: list[Listener], pid: int) -> PortForwarder | None:
    """Forward into the network namespace of process ``pid`` (the container's PID 1), from now until ``stop``.

    None if that process has already exited (its namespace is gone): there
    is nothing to forward to, and the listeners are closed at once.
    """
    try:
        namespace = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        close_listeners(listeners)
        return None
    return PortForwarder(listeners, namespace).start()


class PortForwarder:
    """Forwards each listener's traffic into the network namespace open as ``namespace`` (a file descriptor it owns)."""

    def __init__(self, listeners: list[Listener], namespace: int):
        self._listeners = listeners
        self._namespace = namespace
        self._selector = selectors.DefaultSelector()
        self._wake_read, self._wake_write = os.pipe2(os.O_CLOEXEC)
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()  # guards the two below: relay threads add and remove connections
        self._stopping = False
        self._udp_sessions: dict[tuple, _UdpSession] = {}
        self._thread = threading.Thread(target=self._serve, name="port-forwarder", daemon=True)
        self._entered = threading.Event()
        self._entry_error: OSError | None = None

    def start(self) -> PortForwarder:
        """Serve from now on; raises ``ContainerSetupError`` (all closed) if the thread cannot join the namespace."""
        self._selector.register(self._wake_read, selectors.EVENT_READ)
        for listener in self._listeners:
            self._selector.register(listener.socket, selectors.EVENT_READ, listener)
        self._thread.start()
        self._entered.wait()
        if self._entry_error is not None:
            self.stop()
            raise ContainerSetupError(f"cannot forward published ports into the container: {self._entry_error.strerror}")
        return self

    def stop(self) -> None:
        """Close every listener and cut every connection; returns once nothing listens any more."""
        os.write(self._wake_write, b"x")
        self._thread.join()
        close_listeners(self._listeners)
        with self._lock:
            self._stopping = True
            for connection in self._connections:
                _shut(connection)
        for session in self._udp_sessions.values():
            session.socket.close()
        self._selector.close()
        for fd in (self._wake_read, self._wake_write, self._namespace):
            os.close(fd)

    def _serve(self) -> None:
        """The selector loop, in the container's network namespace (the listeners were bound before)."""
        try:
            linux.setns(self._namespace, linux.CLONE_NEWNET)
        except OSError as error:
            self._entry_error = error
            return
        finally:
            self._entered.set()
        while True:
            for key, _ in self._selector.select(timeout=UDP_IDLE_SECONDS / 3):
                if key.fileobj == self._wake_read:
                    return
                self._handle(key.data)
            self._expire_udp_sessions()

    def _handle(self, source) -> None:
        if isinstance(source, _UdpSession):
            source.reply()
        elif source.binding.protocol == "tcp":
            self._accept(source)
        else:
            self._receive_datagram(source)

    # -- TCP ---------------------------------------------------------------------------------------

    def _accept(self, listener: Listener) -> None:
        try:
            client, _ = listener.socket.accept()
        except OSError:  # the client gave up before we took it (ECONNABORTED...)
            return
        self._track(client)
        try:
            threading.Thread(target=self._relay_connection, args=(client, listener.binding.container_port),
                             daemon=True).start()
        except RuntimeError:  # no thread to be had now: this client's connection ends, this thread serves on
            self._untrack(client)

    def _relay_connection(self, client: socket.socket, port: int) -> None:
        """Connect to the container's port (this thread is in its namespace) and copy both ways until both end."""
        try:
            upstream = socket.create_connection((CONTAINER_ADDRESS, port))
        except OSError:  # nothing listens in the container: the client sees the connection end
            self._untrack(client)
            return
        self._track(upstream)
        backward = threading.Thread(target=_copy, args=(upstream, client), daemon=True)
        backward.start()
        _copy(client, upstream)
        backward.join()
        self._untrack(client, upstream)

    def _track(self, sock: socket.socket) -> None:
        """Keep ``sock`` to cut it at ``stop``; one that comes after ``stop`` is cut at once."""
        with self._lock:
            self._connections.add(sock)
            if self._stopping:
                _shut(sock)

    def _untrack(self, *sockets: socket.socket) -> None:
        with self._lock:
            self._connections.difference_update(sockets)
        for sock in sockets:
            sock.close()

    # -- UDP ---------------------------------------------------------------------------------------

    def _receive_datagram(self, listener: Listener) -> None:
        try:
            data, client = listener.socket.recvfrom(RELAY_BUFFER)
        except OSError:
            return
        session = self._udp_sessions.get((listener.socket, client)) or self._open_udp_session(listener, client)
        if session is not None:
            session.send(data)

    def _open_udp_session(self, listener: Listener, client) -> _UdpSession | None:
        """A socket in the container (created by this thread, so in its namespace) for one client address.

        None if the container cannot take one now (no route to its loopback,
        no descriptor left): that datagram is dropped, as UDP may drop it,
        and this thread goes on serving every other client and port.
        """
        try:
            upstream = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        except OSError:
            return None
        try:
            upstream.connect((CONTAINER_ADDRESS, listener.binding.container_port))
        except OSError:
            upstream.close()
            return None
        session = self._udp_sessions[(listener.socket, client)] = _UdpSession(upstream, listener.socket, client)
        self._selector.register(upstream, selectors.EVENT_READ, session)
        return session

    def _expire_udp_sessions(self) -> None:
        idle_since = time.monotonic() - UDP_IDLE_SECONDS
        for key, session in list(self._udp_sessions.items()):
            if session.last_used < idle_since:
                self._selector.unregister(session.socket)
                session.socket.close()
                del self._udp_sessions[key]


class _UdpSession:
    """One client address of a published UDP port: datagrams go in through ``socket``, replies come back."""

    __slots__ = ("socket", "listener", "client", "last_used")

    def __init__(self, upstream: socket.socket, listener: socket.socket, client):
        self.socket = upstream
        self.listener = listener
        self.client = client
        self.last_used = time.monotonic()

    def send(self, data: bytes) -> None:
        self.last_used = time.monotonic()
        try:
            self.socket.send(data)
        except OSError:  # nothing listens (an earlier datagram's ICMP error): UDP drops it
            pass

    def reply(self) -> None:
        self.last_used = time.monotonic()
        try:
            self.listener.sendto(self.socket.recv(RELAY_BUFFER), self.client)
        except OSError:
            pass


def _copy(source: socket.socket, target: socket.socket) -> None:
    """Copy until ``source`` ends, then half-close ``target`` (its reader sees EOF, the other way stays open).

    A reset (or ``stop``) on either side ends both directions at once.
    """
    try:
        while data := source.recv(RELAY_BUFFER):
            target.sendall(data)
        target.shutdown(socket.SHUT_WR)
    except OSError:
        _shut(source)
        _shut(target)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
