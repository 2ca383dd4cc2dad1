"""A small HTTP/1.1 client holding exactly what the registry client needs.

Why not httpx (used before): importing it costs about 100 ms and creating its
SSL context about 50 ms, which was most of a push of an image the registry
already has (four small requests on loopback; skopeo does it all in 50 ms). This
module imports ``socket`` alone, and ``ssl`` only when a URL is https. It
also moves blob bodies without Python work per chunk: an upload of a stored
blob is handed to the kernel with ``sendfile`` (plain http), and a download
is read with ``readinto`` into the caller's buffer.

What it does: keep-alive connections (kept per host and shared by threads),
Content-Length and chunked response bodies, redirects for GET and HEAD (a
registry may send blob downloads to a CDN; credentials are not sent to
another host), timeouts, TLS with or without certificate checks, http
proxies from the environment (``proxies``; TLS goes through a CONNECT
tunnel). What it leaves out, as registries do not need it:
Content-Encoding (never asked for), HTTP/2, request bodies of unknown length.
"""

from __future__ import annotations

import os
import socket
import threading
from urllib.parse import urljoin, urlsplit

from dockpy.image.registry.proxies import Proxy, ProxySettings

MAX_HEAD_LINE = 65536
MAX_HEADERS = 200
MAX_REDIRECTS = 10
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Idle keep-alive connections kept per host: one per parallel transfer is enough.
IDLE_CONNECTIONS_PER_HOST = 8
# A file body goes to the kernel in slices this big, so progress can be reported between them.
SENDFILE_SLICE = 8 << 20
TLS_READ_CHUNK = 1 << 20


class TransportError(Exception):
    """The exchange failed below HTTP: refused, reset, timed out, or the peer broke the protocol."""


class FileBody:
    """``count`` bytes of an open file from ``offset``, sent with ``sendfile``.

    Positional (``offset``), never the file's own position, so the same body
    can be sent again when a request is retried. ``on_sent`` hears each slice.
    """

    def __init__(self, file, offset: int, count: int, on_sent=None):
        self.file, self.offset, self.count, self.on_sent = file, offset, count, on_sent

    def __len__(self) -> int:
        return self.count


class Response:
    """Status, headers (lower-case names) and a body, read once (``readinto``, ``read``, ``content``).

    ``close`` (or reading the body to its end) gives the connection back for
    the next request; a body abandoned half-way closes it instead.
    """

    def __init__(self, client: "HttpClient", connection: "_Connection", method: str, url: str):
        self.url = url
        self._client, self._connection = client, connection
        self.status_code, self.reason, self.headers, self._keep_alive = _read_head(connection.file)
        self._body = _body_reader(connection.file, method, self.status_code, self.headers)
        self._keep_alive = self._keep_alive and not isinstance(self._body, _BodyUntilClose)
        self._done = False
        self._content: bytes | None = None

    def readinto(self, buffer) -> int:
        """Body bytes into ``buffer``; 0 at the end (which frees the connection)."""
        if not len(buffer):
            return 0
        try:
            count = self._body.readinto(buffer)
        except TransportError:
            self._abandon()
            raise
        except OSError as error:
            self._abandon()
            raise TransportError(f"reading the response from {self.url}: {_describe(error)}") from error
        if count == 0:
            self._release()
        return count

    def read(self, size: int = -1) -> bytes | bytearray:
        """Like a file's ``read``: up to ``size`` bytes (all that is left if negative), empty at the end."""
        if size < 0:
            return self.content
        buffer = bytearray(size)
        del buffer[self.readinto(buffer):]  # shrinks in place: the bytes are not copied again
        return buffer

    @property
    def content(self) -> bytes:
        """The whole body, read on first use."""
        if self._content is None:
            chunks, buffer = [], bytearray(64 << 10)
            while count := self.readinto(buffer):
                chunks.append(bytes(buffer[:count]))
            self._content = b"".join(chunks)
        return self._content

    def json(self):
        import json

        return json.loads(self.content)

    def close(self) -> None:
        """Done with the response: a fully read body frees the connection, any other closes it."""
        if not self._done:
            if self._body.finished:
                self._release()
            else:
                self._abandon()

    def __enter__(self) -> "Response":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _release(self) -> None:
        if not self._done:
            self._done = True
            self._client._give_back(self._connection, reusable=self._keep_alive)

    def _abandon(self) -> None:
        if not self._done:
            self._done = True
            self._client._give_back(self._connection, reusable=False)


class HttpClient:
    """Requests to any host; thread-safe (each request holds its own connection)."""

    def __init__(self, *, tls_verify: bool = True, timeout: float = 60.0, user_agent: str = "dockpy"):
        self._tls_verify = tls_verify
        self._timeout = timeout
        self._user_agent = user_agent
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._lock = threading.Lock()
        self._tls_context = None
        self._proxies = ProxySettings()

    def __enter__(self) -> "HttpClient":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()

    def request(self, method: str, url: str, *, headers: dict | None = None, body: bytes | FileBody = b"",
                timeout: float | None = None) -> Response:
        """Send one request (following GET/HEAD redirects); the caller reads and closes the response."""
        headers = dict(headers or {})
        for _ in range(MAX_REDIRECTS):
            response = self._exchange(method, url, headers, body, timeout)
            location = response.headers.get("location")
            if response.status_code not in REDIRECT_STATUSES or not location or method not in ("GET", "HEAD"):
                return response
            response.read()
            target = urljoin(url, location)
            if urlsplit(target).netloc != urlsplit(url).netloc:
                headers.pop("Authorization", None)
            url = target
        raise TransportError(f"{method} {url}: more than {MAX_REDIRECTS} redirects")

    def _exchange(self, method, url, headers, body, timeout) -> Response:
        """One request on a kept connection; a kept one the server has since closed is replaced once."""
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
        while True:
            connection = self._connection(key, timeout)
            try:
                connection.send(self._request_head(method, parts, headers, body, connection.proxy), body)
                return Response(self, connection, method, url)
            except (OSError, TransportError) as error:
                connection.close()
                if not connection.reused:
                    raise TransportError(f"{method} {url}: {_describe(error)}") from error

    def _request_head(self, method: str, parts, headers: dict, body, proxy: Proxy | None) -> bytes:
        """Request line and headers; through a proxy (plain http only) the target is the whole URL."""
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}", f"User-Agent: {self._user_agent}"]
        if proxy is not None:
            lines[0] = f"{method} {parts.scheme}://{parts.netloc}{target} HTTP/1.1"
            if proxy.authorization:
                lines.append(f"Proxy-Authorization: {proxy.authorization}")
        if method not in ("GET", "HEAD") or len(body):
            lines.append(f"Content-Length: {len(body)}")
        lines.extend(f"{name}: {value}" for name, value in headers.items() if name.lower() != "content-length")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _connection(self, key: tuple[str, str, int], timeout: float | None) -> "_Connection":
        with self._lock:
            idle = self._idle.get(key)
            connection = idle.pop() if idle else None
        if connection is None:
            connection = self._connect(key)
        connection.sock.settimeout(timeout or self._timeout)
        return connection

    def _connect(self, key: tuple[str, str, int]) -> "_Connection":
        scheme, host, port = key
        proxy = self._proxies.for_url(scheme, host)
        via = f" via proxy {proxy.host}:{proxy.port}" if proxy else ""
        try:
            sock = _open_socket(*((proxy.host, proxy.port) if proxy else (host, port)), self._timeout)
        except OSError as error:
            raise TransportError(f"connect to {host}:{port}{via}: {_describe(error)}") from error
        try:
            if scheme == "https":
                if proxy is not None:
                    _open_tunnel(sock, host, port, proxy)
                sock = self._tls().wrap_socket(sock, server_hostname=host)
        except (OSError, TransportError) as error:
            sock.close()
            raise TransportError(f"connect to {host}:{port}{via}: {_describe(error)}") from error
        return _Connection(sock, key, tls=scheme == "https", proxy=proxy if scheme == "http" else None)

    def _tls(self):
        """The SSL context, made on first use: plain-http registries never pay for it."""
        if self._tls_context is None:
            import ssl

            context = ssl.create_default_context()
            if not self._tls_verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            self._tls_context = context
        return self._tls_context

    def _give_back(self, connection: "_Connection", *, reusable: bool) -> None:
        if reusable:
            connection.reused = True
            with self._lock:
                idle = self._idle.setdefault(connection.key, [])
                if len(idle) < IDLE_CONNECTIONS_PER_HOST:
                    idle.append(connection)
                    return
        connection.close()


def _open_socket(host: str, port: int, timeout: float) -> socket.socket:
    # An ASCII name goes as bytes: a str would make socket import the idna codec (~2 ms) to encode it.
    address = host.encode("ascii") if host.isascii() else host
    sock = socket.create_connection((address, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _open_tunnel(sock: socket.socket, host: str, port: int, proxy: Proxy) -> None:
    """Ask the proxy for a TCP tunnel to ``host:port`` (CONNECT); TLS then runs through it."""
    lines = [f"CONNECT {host}:{port} HTTP/1.1", f"Host: {host}:{port}"]
    if proxy.authorization:
        lines.append(f"Proxy-Authorization: {proxy.authorization}")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    with sock.makefile("rb", buffering=0) as answer:  # unbuffered: not one byte of the TLS stream may be taken
        status, reason, _, _ = _read_head(answer)
    if status != 200:
        raise TransportError(f"proxy {proxy.host}:{proxy.port} refused a tunnel to {host}:{port}: {status} {reason}")


class _Connection:
    def __init__(self, sock, key: tuple[str, str, int], *, tls: bool, proxy: Proxy | None):
        self.sock, self.key, self.tls, self.proxy = sock, key, tls, proxy
        self.file = sock.makefile("rb")
        self.reused = False

    def send(self, head: bytes, body) -> None:
        if isinstance(body, FileBody):
            self.sock.sendall(head)
            self._send_file(body)
        else:
            self.sock.sendall(head + body)

    def _send_file(self, body: FileBody) -> None:
        offset, end = body.offset, body.offset + body.count
        while offset < end:
            count = min(SENDFILE_SLICE, end - offset)
            sent = self._send_file_slice(body.file, offset, count)
            if sent != count:
                raise TransportError(f"the file to upload ended {end - offset - sent} bytes early")
            offset += sent
            if body.on_sent:
                body.on_sent(sent)

    def _send_file_slice(self, file, offset: int, count: int) -> int:
        if not self.tls:
            return self.sock.sendfile(file, offset, count)
        sent = 0
        while sent < count and (data := os.pread(file.fileno(), min(TLS_READ_CHUNK, count - sent), offset + sent)):
            self.sock.sendall(data)
            sent += len(data)
        return sent

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def _read_head(file) -> tuple[int, str, dict[str, str], bool]:
    """Status line and headers, skipping interim (1xx) responses."""
    while True:
        status_line = file.readline(MAX_HEAD_LINE + 1)
        if not status_line:
            raise TransportError("the server closed the connection without answering")
        version, _, rest = status_line.decode("latin-1").rstrip("\r\n").partition(" ")
        code, _, reason = rest.partition(" ")
        if not version.startswith("HTTP/1.") or not code.isdigit():
            raise TransportError(f"not an HTTP response: {status_line[:80]!r}")
        headers = _read_headers(file)
        if not 100 <= int(code) < 200:
            break
    connection = headers.get("connection", "").lower()
    keep_alive = "close" not in connection and (version == "HTTP/1.1" or "keep-alive" in connection)
    return int(code), reason, headers, keep_alive


def _read_headers(file) -> dict[str, str]:
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS):
        line = file.readline(MAX_HEAD_LINE + 1)
        if line in (b"\r\n", b"\n", b""):
            return headers
        name, _, value = line.decode("latin-1").partition(":")
        name, value = name.strip().lower(), value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    raise TransportError(f"the response has more than {MAX_HEADERS} headers")


def _body_reader(file, method: str, status: int, headers: dict[str, str]):
    """How the body ends: no body, after a length, after the last chunk, or with the connection."""
    if method == "HEAD" or status in (204, 304):
        return _EMPTY_BODY
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return _ChunkedBody(file)
    length = headers.get("content-length")
    if length is not None:
        if not length.strip().isdigit():
            raise TransportError(f"invalid Content-Length {length!r}")
        return _LengthBody(file, int(length))
    return _BodyUntilClose(file)


class _LengthBody:
    def __init__(self, file, length: int):
        self._file, self._remaining = file, length

    @property
    def finished(self) -> bool:
        return self._remaining == 0

    def readinto(self, buffer) -> int:
        if self._remaining == 0:
            return 0
        view = memoryview(buffer)[: self._remaining]
        count = self._file.readinto(view)
        if count == 0:
            raise TransportError(f"the connection closed {self._remaining} bytes before the end of the body")
        self._remaining -= count
        return count


class _ChunkedBody:
    def __init__(self, file):
        self._file, self._left_in_chunk, self.finished = file, 0, False

    def readinto(self, buffer) -> int:
        if self.finished:
            return 0
        if self._left_in_chunk == 0:
            self._left_in_chunk = self._next_chunk_size()
            if self._left_in_chunk == 0:
                _read_headers(self._file)  # trailers, then the final blank line
                self.finished = True
                return 0
        view = memoryview(buffer)[: self._left_in_chunk]
        count = self._file.readinto(view)
        if count == 0:
            raise TransportError("the connection closed in the middle of a chunk")
        self._left_in_chunk -= count
        if self._left_in_chunk == 0:
            self._file.readline(MAX_HEAD_LINE)  # the CRLF after the chunk
        return count

    def _next_chunk_size(self) -> int:
        line = self._file.readline(MAX_HEAD_LINE + 1)
        try:
            return int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise TransportError(f"invalid chunk size line {line[:40]!r}") from None


class _BodyUntilClose:
    def __init__(self, file):
        self._file, self.finished = file, False

    def readinto(self, buffer) -> int:
        count = self._file.readinto(buffer)
        self.finished = count == 0
        return count


class _EmptyBody:
    finished = True

    def readinto(self, buffer) -> int:
        return 0


_EMPTY_BODY = _EmptyBody()


def _describe(error: BaseException) -> str:
    if isinstance(error, socket.timeout):
        return "timed out"
    return getattr(error, "strerror", None) or str(error) or type(error).__name__
