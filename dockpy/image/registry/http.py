"""The registry client's HTTP layer: the standard library's ``http.client``, with a pool and redirects.

``http.client`` parses responses (status, headers, Content-Length, chunked
and connection-delimited bodies) and keeps connections open; this module adds
only what the registry client needs around it: connections kept per host and
shared by the transfer threads, redirects for GET and HEAD (a registry may
send blob downloads to a CDN; credentials are not sent to another host),
proxies from the environment (``proxies``; TLS through a CONNECT tunnel), and
one error type, ``TransportError``, for every failure below HTTP so the
caller can retry.

Why not httpx (used first): importing it cost about 100 ms and its SSL
context about 50 ms, most of a push of an image the registry already has.
Why not a parser of our own (used next): a response parser facing registries
that may be broken or hostile is what the standard library already does
well; ``http.client`` costs about 20 ms of imports (``email.parser`` for the
headers, ``ssl``). The SSL context is made only when a URL is https
(loading the CA certificates is its cost), an upload of a stored blob is
handed to the kernel with ``sendfile``, and a download is read with
``readinto`` into the caller's buffer. Not supported, as registries do not
need it: HTTP/2, Content-Encoding, request bodies of unknown length.
"""

from __future__ import annotations

import _thread
import http.client
import os
import socket
import ssl
from urllib.parse import urljoin, urlsplit

from dockpy.image.registry.proxies import Proxy, ProxySettings

MAX_REDIRECTS = 10
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Idle keep-alive connections kept per host: one per parallel transfer is enough.
IDLE_CONNECTIONS_PER_HOST = 8
# A file body goes to the kernel in slices this big, so progress can be reported between them.
SENDFILE_SLICE = 8 << 20
TLS_SEND_CHUNK = 1 << 20


class TransportError(Exception):
    """The exchange failed below HTTP: refused, reset, timed out, or the peer broke the protocol."""


class TransportTimeout(TransportError):
    """The peer did not connect or answer in time (it may still be working on the request)."""


class UnknownHost(TransportError):
    """The host name does not resolve at all (not a temporary resolver failure): trying again cannot help."""


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

    def __init__(self, client: "HttpClient", connection: "_Connection", raw: http.client.HTTPResponse, url: str):
        self.url = url
        self.status_code, self.reason = raw.status, raw.reason
        self.headers = _lower_case_headers(raw.headers)
        self._client, self._connection, self._raw = client, connection, raw
        self._done = False
        self._content: bytes | None = None

    def readinto(self, buffer) -> int:
        """Body bytes into ``buffer``; 0 at the end (which frees the connection)."""
        if not len(buffer):
            return 0
        try:
            count = self._raw.readinto(buffer)
        except (OSError, http.client.HTTPException) as error:
            self._abandon()
            raise TransportError(f"reading the response from {self.url}: {_describe(error)}") from error
        if count == 0:
            self._end_of_body()
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
        if self._raw.length == 0:  # nothing (left) to read: a HEAD, a 204, a body read to its end
            self._raw.close()
        if self._raw.isclosed():
            self._release()
        else:
            self._abandon()

    def __enter__(self) -> "Response":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _end_of_body(self) -> None:
        """The body ended; a Content-Length not reached means the server hung up early.

        (``http.client`` returns 0 from ``readinto`` in that case rather than
        raising, for compatibility; the bytes still owed are in ``length``.)
        """
        missing = self._raw.length
        if missing:
            self._abandon()
            raise TransportError(f"reading the response from {self.url}: "
                                 f"the connection closed {missing} bytes before the end of the body")
        self._release()

    def _release(self) -> None:
        if not self._done:
            self._done = True
            self._client._give_back(self._connection, reusable=not self._raw.will_close)

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
        self._lock = _thread.allocate_lock()
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
                connection.http.close()

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
        """One request on a kept connection; a kept one the server has since closed is replaced.

        Only a connection error is taken for that (the request was not
        answered, so sending it again is safe); a timeout may have been
        a request the registry is still working on.
        """
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
        while True:
            connection, reused = self._connection(key, timeout or self._timeout)
            try:
                connection.send(method, parts, self._headers(headers, body, connection.forward_proxy), body)
                return Response(self, connection, connection.http.getresponse(), url)
            except (OSError, http.client.HTTPException, TransportError) as error:
                connection.http.close()
                if not (reused and isinstance(error, ConnectionError)):
                    raise _transport_error(f"{method} {url}", error) from error

    def _headers(self, headers: dict, body, forward_proxy: Proxy | None) -> dict:
        """The caller's headers, plus ours; a body's length is always ours to state."""
        sent = {"User-Agent": self._user_agent}
        if forward_proxy is not None and forward_proxy.authorization:
            sent["Proxy-Authorization"] = forward_proxy.authorization
        sent.update((name, value) for name, value in headers.items() if name.lower() != "content-length")
        return sent

    def _connection(self, key: tuple[str, str, int], timeout: float) -> tuple["_Connection", bool]:
        """An idle kept connection to ``key`` (reused: True), or a newly opened one."""
        with self._lock:
            idle = self._idle.get(key)
            connection = idle.pop() if idle else None
        if connection is None:
            return self._open(key, timeout), False
        connection.set_timeout(timeout)
        return connection, True

    def _open(self, key: tuple[str, str, int], timeout: float) -> "_Connection":
        """Connect now rather than on the first request, so a failure says it was the connection that failed."""
        scheme, host, port = key
        proxy = self._proxies.for_url(scheme, host)
        connection = self._http_connection(scheme, host, port, proxy, timeout)
        try:
            connection.connect()
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            via = f" via proxy {proxy.host}:{proxy.port}" if proxy else ""
            raise _transport_error(f"connect to {host}:{port}{via}", error) from error
        return _Connection(connection, key, forward_proxy=proxy if scheme == "http" else None)

    def _http_connection(self, scheme: str, host: str, port: int, proxy: Proxy | None, timeout: float):
        """A proxy, if any, is the peer; TLS goes through a CONNECT tunnel it opens to the registry."""
        peer = (proxy.host, proxy.port) if proxy else (host, port)
        if scheme != "https":
            connection = http.client.HTTPConnection(*peer, timeout=timeout)
            connection._create_connection = _connect_by_ascii_name  # TLS encodes the name for SNI anyway
            return connection
        connection = http.client.HTTPSConnection(*peer, timeout=timeout, context=self._tls())
        if proxy is not None:
            connection.set_tunnel(host, port, headers=proxy.tunnel_headers())
        return connection

    def _tls(self):
        """The SSL context, made on first use: plain-http registries never pay for loading the CA certificates."""
        if self._tls_context is None:
            context = ssl.create_default_context()
            if not self._tls_verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            self._tls_context = context
        return self._tls_context

    def _give_back(self, connection: "_Connection", *, reusable: bool) -> None:
        if reusable:
            with self._lock:
                idle = self._idle.setdefault(connection.key, [])
                if len(idle) < IDLE_CONNECTIONS_PER_HOST:
                    idle.append(connection)
                    return
        connection.http.close()


class _Connection:
    """One ``http.client`` connection, its pool key, and the proxy plain-http requests name in full."""

    def __init__(self, connection: http.client.HTTPConnection, key: tuple[str, str, int], *,
                 forward_proxy: Proxy | None):
        self.http, self.key, self.forward_proxy = connection, key, forward_proxy

    def set_timeout(self, timeout: float) -> None:
        self.http.timeout = timeout
        if self.http.sock is not None:
            self.http.sock.settimeout(timeout)

    def send(self, method: str, parts, headers: dict, body: bytes | FileBody) -> None:
        """Request line and headers, then the body: bytes as they are, a file by the kernel."""
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if self.forward_proxy is not None:
            target = f"{parts.scheme}://{parts.netloc}{target}"  # http.client takes Host from a full URL
        self.http.putrequest(method, target, skip_accept_encoding=True)
        for name, value in headers.items():
            self.http.putheader(name, value)
        if method not in ("GET", "HEAD") or len(body):
            self.http.putheader("Content-Length", str(len(body)))
        if isinstance(body, FileBody):
            self.http.endheaders()
            self._send_file(body)
        else:
            self.http.endheaders(body or None)

    def _send_file(self, body: FileBody) -> None:
        """Slice by slice: ``sendfile`` on plain http (the kernel copies), 1 MiB reads and sends over TLS."""
        offset, end = body.offset, body.offset + body.count
        send_slice = self._send_encrypted if isinstance(self.http, http.client.HTTPSConnection) else self._send_plain
        while offset < end:
            count = min(SENDFILE_SLICE, end - offset)
            sent = send_slice(body.file, offset, count)
            if sent != count:
                raise TransportError(f"the file to upload ended {end - offset - sent} bytes early")
            offset += sent
            if body.on_sent:
                body.on_sent(sent)


    def _send_plain(self, file, offset: int, count: int) -> int:
        return self.http.sock.sendfile(file, offset, count)

    def _send_encrypted(self, file, offset: int, count: int) -> int:
        """What ``sendfile`` falls back to on a TLS socket, but in 1 MiB reads instead of its 8 KiB ones."""
        sent = 0
        while sent < count:
            data = os.pread(file.fileno(), min(TLS_SEND_CHUNK, count - sent), offset + sent)
            if not data:
                break
            self.http.sock.sendall(data)
            sent += len(data)
        return sent


def _connect_by_ascii_name(address: tuple[str, int], *args) -> socket.socket:
    """``socket.create_connection``, with an ASCII host name handed over as bytes.

    A ``str`` name goes through the IDNA codec first, even ``127.0.0.1``,
    and importing it (``encodings.idna``, ``stringprep``, ``unicodedata``)
    costs a command about 2 ms, as much as the exchange with a local
    registry. An ASCII name the codec only checks for over-long labels,
    which the resolver refuses as well.
    """
    host, port = address
    return socket.create_connection((host.encode("ascii") if host.isascii() else host, port), *args)


def _lower_case_headers(message) -> dict[str, str]:
    """A plain dict of the response headers, repeated ones joined with ", " as HTTP allows."""
    headers: dict[str, str] = {}
    for name, value in message.items():
        name = name.lower()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


def _transport_error(what: str, error: BaseException) -> TransportError:
    """``what`` failed because of ``error``: a ``TransportTimeout`` when it timed out, ``UnknownHost`` when the
    name does not resolve."""
    if isinstance(error, socket.gaierror) and error.errno == socket.EAI_NONAME:
        return UnknownHost(f"{what}: {_describe(error)}")
    return (TransportTimeout if isinstance(error, TimeoutError) else TransportError)(f"{what}: {_describe(error)}")


def _describe(error: BaseException) -> str:
    """One line for an ``http.client`` or socket failure, in the words a user can act on."""
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, http.client.BadStatusLine) and not isinstance(error, ConnectionError):
        return f"not an HTTP response: {error.line[:80]!r}"
    if isinstance(error, http.client.IncompleteRead):
        missing = f"{error.expected} bytes before" if error.expected else "before"
        return f"the connection closed {missing} the end of the body"
    return getattr(error, "strerror", None) or str(error) or type(error).__name__
