"""A real registry (Debian's docker-registry) on 127.0.0.1, and a proxy to break it.

The registry runs once per test session on a free port with its storage in a
temporary directory. ``FaultProxy`` sits in front of it and can demand Bearer
tokens (issuing them from its own token endpoint), drop connections in the
middle of blobs, corrupt a byte, or answer 503 — the failures a client meets
in the field, made on purpose.
"""

from __future__ import annotations

import base64
import http.server
import secrets
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import httpx
import pytest

from dockpy.image.registry.remote import TransferProgress
from dockpy.image.store import ImageStore
from dockpy.root import StorageRoot
from tests.image.conftest import put_test_image
from tests.image.registry.raw_server import RawServer


class FaultProxy:
    """An HTTP proxy in front of the registry whose misbehaviour the test chooses.

    Attributes a test sets: ``require_token`` (Bearer auth with ``username``/``password``
    checked at ``/token``), ``drop_blob_downloads`` (the next N blob GETs stop halfway),
    ``corrupt_blob_downloads`` (flip one byte of every blob GET), ``fail_with_503`` (the
    next N requests get 503). ``requests`` records (method, path) of what passed through.
    """

    def __init__(self, upstream: str):
        self.upstream = upstream
        self.require_token = False
        self.username, self.password = "ci", "s3cret"
        self.drop_blob_downloads = 0
        self.corrupt_blob_downloads = False
        self.fail_with_503 = 0
        self.requests: list[tuple[str, str]] = []
        self.tokens_issued = 0
        self._tokens: set[str] = set()
        self._upstream_client = httpx.Client(timeout=30)
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.address = f"127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._upstream_client.close()

    def _handler_class(self):
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                self._handle()

            do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

            def _handle(self):
                proxy.requests.append((self.command, self.path))
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.startswith("/token"):
                    return self._issue_token()
                if proxy.fail_with_503 > 0:
                    proxy.fail_with_503 -= 1
                    return self._reply(503, b'{"errors":[{"code":"UNAVAILABLE","message":"try again"}]}')
                if proxy.require_token and not self._has_token():
                    challenge = (f'Bearer realm="http://{proxy.address}/token",service="test-registry",'
                                 f'scope="repository:x:pull"')
                    return self._reply(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"token needed"}]}',
                                       {"WWW-Authenticate": challenge})
                self._forward(body)

            def _has_token(self) -> bool:
                value = self.headers.get("Authorization", "")
                return value.startswith("Bearer ") and value[7:] in proxy._tokens

            def _issue_token(self):
                expected = base64.b64encode(f"{proxy.username}:{proxy.password}".encode()).decode()
                if self.headers.get("Authorization") != f"Basic {expected}":
                    return self._reply(401, b'{"details":"bad credentials"}')
                token = secrets.token_hex(16)
                proxy._tokens.add(token)
                proxy.tokens_issued += 1
                return self._reply(200, f'{{"token":"{token}","expires_in":300}}'.encode())

            def _forward(self, body: bytes):
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "authorization")}
                upstream = proxy._upstream_client.request(self.command, f"http://{proxy.upstream}{self.path}",
                                                          headers=headers, content=body)
                content = upstream.content
                is_blob_get = self.command == "GET" and "/blobs/sha256:" in self.path and upstream.status_code == 200
                response_headers = {k: v for k, v in upstream.headers.items()
                                    if k.lower() not in ("content-length", "transfer-encoding", "connection")}
                if "location" in response_headers:
                    response_headers["location"] = response_headers["location"].replace(proxy.upstream, proxy.address)
                if is_blob_get and proxy.corrupt_blob_downloads:
                    content = bytes([content[0] ^ 0xFF]) + content[1:]
                if is_blob_get and proxy.drop_blob_downloads > 0:
                    proxy.drop_blob_downloads -= 1
                    self.send_response(200)
                    for key, value in response_headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(content)))
                    self.end_headers()
                    self.wfile.write(content[: len(content) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self._reply(upstream.status_code, content, response_headers)

            def _reply(self, status: int, content: bytes, headers: dict | None = None):
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(content)

        return Handler


@pytest.fixture
def fault_proxy(registry_address):
    proxy = FaultProxy(registry_address)
    yield proxy
    proxy.close()


@pytest.fixture
def no_stored_credentials(tmp_path, monkeypatch) -> Path:
    """Point credential lookups at empty temporary config dirs."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    return tmp_path


@pytest.fixture
def other_store(tmp_path):
    with ImageStore(StorageRoot(tmp_path / "other-root").create()) as store:
        yield store


class StartedSizes(TransferProgress):
    """Progress that keeps the size of each blob as its transfer starts, in that order."""

    def __init__(self):
        self.sizes: list[int] = []

    def started(self, digest, size: int) -> None:
        self.sizes.append(size)


def two_layer_image(store):
    image = put_test_image(store, {"etc/": None, "etc/motd": b"hello\n"}, {"app/": None, "app/run": b"#!/bin/sh\n"})
    store.add_revision("app:1", image, operation="build")
    return image


@pytest.fixture
def serve():
    """Start ``RawServer``s (``serve(answer, tls=certificate)``); all are closed after the test."""
    servers = []

    def start(answer, tls: tuple[Path, Path] | None = None) -> RawServer:
        servers.append(RawServer(answer, tls))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture(scope="session")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key (no CA trusts it)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed (Debian package openssl)")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key
