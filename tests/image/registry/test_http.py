"""The registry's HTTP client (http.client, pooled) against a raw socket server whose every byte the test chooses."""

import os
import socket
import subprocess
import sys
import time

import pytest

from dockpy.image.registry.http import FileBody, HttpClient, TransportError
from tests.image.registry.raw_server import TunnelProxy, ok


def test_a_chunked_body_is_read_whole(serve):
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n"
    server = serve(lambda *request: (chunked, False))
    with HttpClient() as client, client.request("GET", server.url("/")) as response:
        assert response.content == b"hello, world"


def test_a_body_without_length_ends_with_the_connection(serve):
    server = serve(lambda *request: (b"HTTP/1.0 200 OK\r\n\r\nuntil the end", True))
    with HttpClient() as client:
        with client.request("GET", server.url("/")) as response:
            assert response.content == b"until the end"
        with client.request("GET", server.url("/")) as response:
            assert response.content == b"until the end"
    assert server.connections == 2


def test_a_read_body_leaves_the_connection_for_the_next_request(serve):
    server = serve(lambda *request: (ok(b"{}"), False))
    with HttpClient() as client:
        for _ in range(3):
            with client.request("GET", server.url("/v2/")) as response:
                assert response.json() == {}
    assert server.connections == 1


def test_a_kept_connection_the_server_closed_is_replaced(serve):
    server = serve(lambda *request: (ok(b"fine"), True))  # closes without saying so
    with HttpClient() as client:
        for _ in range(2):
            with client.request("GET", server.url("/")) as response:
                assert response.content == b"fine"
    assert server.connections == 2


def test_an_empty_body_closed_unread_leaves_the_connection_for_the_next_request(serve):
    server = serve(lambda *request: (ok(b"", "Docker-Content-Digest: sha256:1\r\n"), False))
    with HttpClient() as client:
        for _ in range(2):
            client.request("HEAD", server.url("/v2/x/blobs/sha256:1")).close()
    assert server.connections == 1


def test_a_body_abandoned_half_way_closes_the_connection(serve):
    server = serve(lambda *request: (ok(b"x" * 100_000), False))
    with HttpClient() as client:
        for _ in range(2):
            with client.request("GET", server.url("/")) as response:
                assert len(response.read(10)) == 10
    assert server.connections == 2


def test_repeated_headers_are_joined(serve):
    server = serve(lambda *request: (ok(b"", "Link: <a>\r\nlink: <b>\r\n"), False))
    with HttpClient() as client, client.request("GET", server.url("/")) as response:
        assert response.headers["link"] == "<a>, <b>"


def test_a_request_that_timed_out_on_a_kept_connection_is_not_sent_again(serve):
    def answer(method, *request):
        if method == "PUT":
            time.sleep(0.5)  # still working on it when the client gives up
        return ok(b"done"), False

    server = serve(answer)
    with HttpClient() as client:
        with client.request("GET", server.url("/v2/")) as response:
            assert response.content == b"done"  # read to its end: the connection is kept for the PUT
        with pytest.raises(TransportError, match="timed out"):
            client.request("PUT", server.url("/v2/x/manifests/1"), body=b"{}", timeout=0.1)
    assert [request[0] for request in server.requests] == ["GET", "PUT"]


def test_a_redirect_to_another_host_drops_the_credentials(serve):
    cdn = serve(lambda *request: (ok(b"blob"), False))
    registry = serve(lambda *request: (f"HTTP/1.1 307 Temporary Redirect\r\nLocation: {cdn.url('/signed')}\r\n"
                                       f"Content-Length: 0\r\n\r\n".encode(), False))
    with HttpClient() as client:
        with client.request("GET", registry.url("/v2/x/blobs/sha256:1"), headers={"Authorization": "Bearer t"}) as response:
            assert response.content == b"blob"
    assert registry.requests[0][2]["authorization"] == "Bearer t"
    assert "authorization" not in cdn.requests[0][2]


def test_a_file_body_sends_the_slice_it_names(serve, tmp_path):
    server = serve(lambda *request: (ok(), False))
    path = tmp_path / "blob"
    path.write_bytes(b"0123456789")
    sent = []
    with HttpClient() as client, open(path, "rb") as file:
        client.request("PUT", server.url("/upload"), body=FileBody(file, 2, 5, sent.append)).close()
    assert server.requests[0][3] == b"23456"
    assert sent == [5]


def test_a_file_body_over_tls_sends_the_slice_it_names_wherever_the_file_stands(serve, certificate, tmp_path):
    server = serve(lambda *request: (ok(), False), tls=certificate)
    path = tmp_path / "blob"
    path.write_bytes(b"0123456789")
    with HttpClient(tls_verify=False) as client, open(path, "rb") as file:
        file.seek(7)  # a send-based copy must not start where an earlier attempt left the file
        client.request("PUT", f"https://{server.address}/upload", body=FileBody(file, 0, 5)).close()
    assert server.requests[0][3] == b"01234"


def test_a_file_body_over_tls_larger_than_a_send_chunk_arrives_whole(serve, certificate, tmp_path):
    server = serve(lambda *request: (ok(), False), tls=certificate)
    data = os.urandom((5 << 20) // 2)
    path = tmp_path / "blob"
    path.write_bytes(b"head" + data)
    sent = []
    with HttpClient(tls_verify=False) as client, open(path, "rb") as file:
        client.request("PUT", f"https://{server.address}/upload", body=FileBody(file, 4, len(data), sent.append)).close()
    assert server.requests[0][3] == data
    assert sent == [len(data)]


def test_a_body_cut_short_is_a_transport_error(serve):
    server = serve(lambda *request: (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this", True))
    with HttpClient() as client, client.request("GET", server.url("/")) as response:
        with pytest.raises(TransportError, match="closed 91 bytes before the end"):
            response.content


def test_a_chunked_body_cut_short_is_a_transport_error(serve):
    server = serve(lambda *request: (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\nonly", True))
    with HttpClient() as client, client.request("GET", server.url("/")) as response:
        with pytest.raises(TransportError, match="closed before the end of the body"):
            response.content


def test_a_server_that_does_not_answer_in_time_is_a_transport_error():
    with socket.create_server(("127.0.0.1", 0)) as silent:  # the kernel accepts; nobody answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        with HttpClient() as client, pytest.raises(TransportError, match="timed out"):
            client.request("GET", url, timeout=0.2)


def test_a_refused_connection_is_a_transport_error():
    with socket.create_server(("127.0.0.1", 0)) as unused:
        port = unused.getsockname()[1]
    with HttpClient() as client, pytest.raises(TransportError, match=f"connect to 127.0.0.1:{port}"):
        client.request("GET", f"http://127.0.0.1:{port}/")


def test_a_reply_that_is_not_http_is_a_transport_error(serve):
    server = serve(lambda *request: (b"\x15\x03\x01\x00\x02\x02\x46", True))  # a TLS alert
    with HttpClient() as client, pytest.raises(TransportError, match="not an HTTP response"):
        client.request("GET", server.url("/"))


def test_tls_without_verification_accepts_a_self_signed_certificate(serve, certificate):
    server = serve(lambda *request: (ok(b"secret"), False), tls=certificate)
    with HttpClient(tls_verify=False) as client, client.request("GET", f"https://{server.address}/") as response:
        assert response.content == b"secret"


def test_tls_with_verification_refuses_an_unknown_certificate(serve, certificate):
    server = serve(lambda *request: (ok(b"secret"), False), tls=certificate)
    with HttpClient() as client, pytest.raises(TransportError, match="CERTIFICATE_VERIFY_FAILED"):
        client.request("GET", f"https://{server.address}/")


def test_plain_http_goes_through_the_proxy_with_the_whole_url(serve, monkeypatch):
    proxy = serve(lambda *request: (ok(b"{}"), False))
    monkeypatch.setenv("http_proxy", f"http://ci:secret@{proxy.address}")
    with HttpClient() as client, client.request("GET", "http://registry.example:5000/v2/") as response:
        assert response.content == b"{}"
    method, target, headers, _ = proxy.requests[0]
    assert (method, target, headers["host"]) == ("GET", "http://registry.example:5000/v2/", "registry.example:5000")
    assert headers["proxy-authorization"].startswith("Basic ")


def test_tls_goes_through_a_connect_tunnel(serve, certificate, monkeypatch):
    registry = serve(lambda *request: (ok(b"through the tunnel"), False), tls=certificate)
    tunnel = TunnelProxy(registry.address)
    monkeypatch.setenv("https_proxy", f"http://ci:secret@{tunnel.address}")
    try:
        with HttpClient(tls_verify=False) as client, client.request("GET", "https://registry.example/v2/") as response:
            assert response.content == b"through the tunnel"
    finally:
        tunnel.close()
    assert tunnel.targets == ["registry.example:443"]
    assert tunnel.headers[0]["proxy-authorization"].startswith("Basic ")
    assert "proxy-authorization" not in registry.requests[0][2]


def test_a_plain_http_connection_loads_no_idna_codec(serve):
    server = serve(lambda *request: (ok(b"{}"), False))
    script = ("import sys\nfrom dockpy.image.registry.http import HttpClient\n"
              f"HttpClient().request('GET', {server.url('/v2/')!r}).close()\n"
              "print('encodings.idna' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
    assert server.requests
