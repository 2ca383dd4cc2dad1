"""A socket server answering HTTP requests with exactly the bytes a test chooses, over plain TCP or TLS."""

from __future__ import annotations

import socket
import ssl
import threading


class _ThreadedListener:
    """Listens on a free loopback port; each accepted connection is handled on its own thread."""

    def __init__(self):
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._handle, args=(connection,), daemon=True).start()

    def _handle(self, connection: socket.socket) -> None:
        """Serve one accepted connection: each kind of server says how."""


class RawServer(_ThreadedListener):
    """Answers each request with ``answer(method, path, headers, body)`` -> (raw response bytes, close after?).

    With ``tls`` (certificate and key files) it speaks TLS; a client that
    sends plain HTTP or refuses the certificate just sees the connection close.
    """

    def __init__(self, answer, tls=None):
        self.answer = answer
        self._tls = None
        if tls is not None:
            self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._tls.load_cert_chain(*tls)
        self.requests: list[tuple[str, str, dict, bytes]] = []
        super().__init__()

    def url(self, path: str) -> str:
        return f"http://{self.address}{path}"

    def _handle(self, connection: socket.socket) -> None:
        if self._tls is not None:
            try:
                connection = self._tls.wrap_socket(connection, server_side=True)
            except (ssl.SSLError, OSError):
                connection.close()
                return
        with connection, connection.makefile("rb") as reader:
            try:
                while request := self._read_request(reader):
                    self.requests.append(request)
                    response, close = self.answer(*request)
                    connection.sendall(response)
                    if close:
                        return
            except ConnectionError:
                return  # a client that hung up, or left a response unread (which resets the connection)
            except (UnicodeDecodeError, ValueError):
                return  # not HTTP (a TLS handshake, say): hung up on, as a plain-http server does

    @staticmethod
    def _read_request(reader):
        line = reader.readline()
        if not line:
            return None
        method, path, _ = line.decode().split(" ", 2)
        headers = {}
        while (header := reader.readline()) not in (b"\r\n", b""):
            name, _, value = header.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        return method, path, headers, reader.read(int(headers.get("content-length", 0)))


def ok(body: bytes = b"", extra: str = "") -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body


class TunnelProxy(_ThreadedListener):
    """An HTTP proxy that only tunnels (CONNECT), always to ``upstream``.

    ``targets`` records what each CONNECT asked for, ``headers`` its headers (lower-case names).
    """

    def __init__(self, upstream: str):
        self.upstream = upstream
        self.targets: list[str] = []
        self.headers: list[dict[str, str]] = []
        super().__init__()

    def _handle(self, client: socket.socket) -> None:
        with client, client.makefile("rb", buffering=0) as reader:
            self.targets.append(reader.readline().decode().split()[1])
            headers = {}
            while (line := reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            self.headers.append(headers)
            host, _, port = self.upstream.rpartition(":")
            with socket.create_connection((host, int(port))) as upstream:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                threading.Thread(target=_relay, args=(upstream, client), daemon=True).start()
                _relay(client, upstream)


def _relay(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
