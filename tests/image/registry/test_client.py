"""The registry client against a real docker-registry, and a proxy that breaks things."""

import io
import json
import ssl
import time

import pytest

from dockpy.errors import IntegrityError, InvalidInputError, NotFoundError, RegistryError
from dockpy.image.registry.auth import Credentials
from dockpy.image.registry import client as client_module
from dockpy.image.registry.client import RegistryClient
from dockpy.layers.content import ContentStore
from dockpy.layers.digests import Digest
from tests.image.registry.raw_server import ok

pytestmark = pytest.mark.usefixtures("no_stored_credentials")

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def push_bytes(client, repository, data, **kwargs):
    digest = Digest.of_bytes(data)
    outcome = client.push_blob(repository, digest, len(data), lambda: io.BytesIO(data), **kwargs)
    return digest, outcome


def manifest_for(config: bytes, layer: bytes) -> bytes:
    return json.dumps({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": Digest.of_bytes(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": Digest.of_bytes(layer), "size": len(layer)}],
    }).encode()


def test_a_pushed_blob_comes_back_with_the_same_digest(registry_address, storage_root):
    with RegistryClient(registry_address, tls_verify=False) as client:
        digest, outcome = push_bytes(client, "roundtrip/blob", b"layer bytes" * 1000)
        assert outcome == "uploaded"
        assert client.has_blob("roundtrip/blob", digest)
        info = client.fetch_blob("roundtrip/blob", digest, 11000, ContentStore(storage_root))
    assert info.digest == digest
    assert ContentStore(storage_root).read_bytes(digest) == b"layer bytes" * 1000


def test_pushing_a_blob_the_registry_has_uploads_nothing(registry_address, fault_proxy):
    with RegistryClient(fault_proxy.address, tls_verify=False) as client:
        push_bytes(client, "again/blob", b"same content")
        fault_proxy.requests.clear()
        _, outcome = push_bytes(client, "again/blob", b"same content")
    assert outcome == "exists"
    assert [method for method, _ in fault_proxy.requests] == ["HEAD"]


def test_large_blobs_go_up_in_chunks(registry_address, fault_proxy, storage_root):
    data = bytes(range(256)) * 4096  # 1 MiB
    with RegistryClient(fault_proxy.address, tls_verify=False, chunk_size=300_000) as client:
        digest, _ = push_bytes(client, "chunked/blob", data)
        client.fetch_blob("chunked/blob", digest, len(data), ContentStore(storage_root))
    patches = [path for method, path in fault_proxy.requests if method == "PATCH"]
    assert len(patches) == 4
    assert ContentStore(storage_root).read_bytes(digest) == data


def test_a_blob_goes_up_in_one_put_whatever_its_size(registry_address, fault_proxy):
    with RegistryClient(fault_proxy.address, tls_verify=False) as client:
        push_bytes(client, "whole/blob", bytes(range(256)) * 4096)
    uploads = [method for method, path in fault_proxy.requests if "/blobs/uploads/" in path]
    assert uploads == ["POST", "PUT"]


def test_the_environment_sets_a_chunk_size_for_proxies_that_cap_request_bodies(
        registry_address, fault_proxy, storage_root, monkeypatch):
    monkeypatch.setenv("DOCKPY_UPLOAD_CHUNK_MIB", "1")
    data = bytes(range(256)) * 4096 * 3  # 3 MiB
    with RegistryClient(fault_proxy.address, tls_verify=False) as client:
        digest, _ = push_bytes(client, "env-chunked/blob", data)
        client.fetch_blob("env-chunked/blob", digest, len(data), ContentStore(storage_root))
    assert len([path for method, path in fault_proxy.requests if method == "PATCH"]) == 3
    assert ContentStore(storage_root).read_bytes(digest) == data


@pytest.mark.parametrize("value", ["0", "64M", "-1"])
def test_a_chunk_size_that_is_not_a_positive_number_of_mib_is_refused(value, monkeypatch):
    monkeypatch.setenv("DOCKPY_UPLOAD_CHUNK_MIB", value)
    with pytest.raises(InvalidInputError, match="DOCKPY_UPLOAD_CHUNK_MIB"):
        RegistryClient("registry.example")


def test_a_blob_is_mounted_from_another_repository_instead_of_uploaded(registry_address):
    with RegistryClient(registry_address, tls_verify=False) as client:
        digest, _ = push_bytes(client, "source/repo", b"shared layer")
        _, outcome = push_bytes(client, "target/repo", b"shared layer", mount_from="source/repo")
        assert outcome == "mounted"
        assert client.has_blob("target/repo", digest)


def test_manifests_round_trip_by_tag_and_by_digest(registry_address):
    config, layer = b'{"architecture":"amd64","os":"linux"}', b"layer"
    with RegistryClient(registry_address, tls_verify=False) as client:
        push_bytes(client, "app/manifest", config)
        push_bytes(client, "app/manifest", layer)
        manifest = manifest_for(config, layer)
        digest = client.push_manifest("app/manifest", "v1", manifest, OCI_MANIFEST)
        by_tag = client.fetch_manifest("app/manifest", "v1")
        by_digest = client.fetch_manifest("app/manifest", digest)
        assert "v1" in client.list_tags("app/manifest")
    assert by_tag.data == manifest and by_tag.digest == digest and by_tag.media_type == OCI_MANIFEST
    assert by_digest.data == manifest


def test_a_missing_manifest_is_not_found(registry_address):
    with RegistryClient(registry_address, tls_verify=False) as client:
        with pytest.raises(NotFoundError, match="not found in registry"):
            client.fetch_manifest("nothing/here", "latest")


def test_a_download_dropped_halfway_is_retried(registry_address, fault_proxy, storage_root):
    data = b"x" * 200_000
    with RegistryClient(fault_proxy.address, tls_verify=False) as client:
        digest, _ = push_bytes(client, "flaky/blob", data)
        fault_proxy.drop_blob_downloads = 2
        client.fetch_blob("flaky/blob", digest, len(data), ContentStore(storage_root))
    assert ContentStore(storage_root).read_bytes(digest) == data


def test_a_retried_download_reports_each_byte_once(registry_address, fault_proxy, storage_root):
    data = b"x" * 200_000
    reported = []
    with RegistryClient(fault_proxy.address, tls_verify=False) as client:
        digest, _ = push_bytes(client, "flaky/progress", data)
        fault_proxy.drop_blob_downloads = 2
        client.fetch_blob("flaky/progress", digest, len(data), ContentStore(storage_root), on_bytes=reported.append)
    assert any(count < 0 for count in reported), "the dropped attempts' bytes are taken back"
    assert sum(reported) == len(data)


def test_a_corrupt_blob_is_refused_and_nothing_is_stored(registry_address, fault_proxy, storage_root):
    with RegistryClient(fault_proxy.address, tls_verify=False, attempts=2) as client:
        digest, _ = push_bytes(client, "corrupt/blob", b"precious content")
        fault_proxy.corrupt_blob_downloads = True
        store = ContentStore(storage_root)
        with pytest.raises(IntegrityError, match="bad content"):
            client.fetch_blob("corrupt/blob", digest, 16, store)
    assert list(store.walk()) == []
    assert list(store.stale_ingests()) == []


def test_service_unavailable_is_retried_with_backoff(registry_address, fault_proxy):
    config, layer = b"{}", b"retried layer"
    with RegistryClient(fault_proxy.address, tls_verify=False) as client:
        push_bytes(client, "busy/app", config)
        push_bytes(client, "busy/app", layer)
        client.push_manifest("busy/app", "v1", manifest_for(config, layer), OCI_MANIFEST)
        fault_proxy.fail_with_503 = 2
        assert client.list_tags("busy/app") == ["v1"]
    assert fault_proxy.fail_with_503 == 0


def test_persistent_failure_gives_up_with_a_clear_error(registry_address, fault_proxy, storage_root):
    with RegistryClient(fault_proxy.address, tls_verify=False, attempts=2) as client:
        fault_proxy.fail_with_503 = 10
        with pytest.raises(RegistryError, match="gave up after 2 attempts"):
            client.fetch_blob("down/blob", Digest.of_bytes(b"z"), 1, ContentStore(storage_root))


def test_bearer_token_auth_fetches_a_token_with_the_credentials(registry_address, fault_proxy, storage_root):
    fault_proxy.require_token = True
    credentials = Credentials(fault_proxy.username, fault_proxy.password)
    with RegistryClient(fault_proxy.address, tls_verify=False, credentials=credentials) as client:
        digest, _ = push_bytes(client, "private/app", b"secret layer")
        client.fetch_blob("private/app", digest, 12, ContentStore(storage_root))
    assert fault_proxy.tokens_issued >= 1


def test_wrong_credentials_are_one_clear_error(registry_address, fault_proxy):
    fault_proxy.require_token = True
    with RegistryClient(fault_proxy.address, tls_verify=False, credentials=Credentials("ci", "wrong")) as client:
        with pytest.raises(RegistryError, match="refused the credentials") as raised:
            client.has_blob("private/app", Digest.of_bytes(b"a"))
    assert "dockpy login" in raised.value.hint


def test_login_checks_and_saves_the_credentials(registry_address, fault_proxy, dockpy, no_stored_credentials):
    fault_proxy.require_token = True
    env = {"XDG_CONFIG_HOME": str(no_stored_credentials / "xdg"), "DOCKER_CONFIG": str(no_stored_credentials / "docker")}
    wrong = dockpy("login", "-u", "ci", "-p", "nope", "--tls-verify=false", fault_proxy.address, env=env)
    assert wrong.returncode == 125
    assert wrong.stderr.startswith("dockpy: error: registry") and "refused the credentials" in wrong.stderr
    right = dockpy("login", "-u", "ci", "--password-stdin", "--tls-verify=false", fault_proxy.address,
                   input=b"s3cret\n", env=env)
    assert right.returncode == 0, right.stderr
    assert "Login Succeeded" in right.stdout
    with RegistryClient(fault_proxy.address, tls_verify=False) as client:  # picks up the saved credentials
        client.has_blob("private/app", Digest.of_bytes(b"a"))
    assert dockpy("logout", fault_proxy.address, env=env).stdout.startswith("Removed login credentials")


def test_a_loopback_registry_speaking_tls_is_reached_over_https(serve, certificate):
    server = serve(lambda *request: (ok(b"{}", "Docker-Distribution-Api-Version: registry/2.0\r\n"), False), tls=certificate)
    with RegistryClient(server.address, tls_verify=False) as client:
        client.check()
    assert [(method, path) for method, path, _, _ in server.requests] == [("GET", "/v2/")]


def test_a_loopback_registry_speaking_http_costs_no_tls(serve, monkeypatch):
    def no_tls(*args, **kwargs):
        raise AssertionError("an SSL context was made for a plain-http registry")

    monkeypatch.setattr(ssl, "create_default_context", no_tls)
    server = serve(lambda *request: (ok(b"{}"), False))
    with RegistryClient(server.address, tls_verify=True) as client:
        client.check()


def requests_seen(server) -> list[tuple[str, str]]:
    return [(method, path) for method, path, _, _ in server.requests]


def test_the_first_head_to_a_plain_http_registry_is_its_own_probe(serve):
    server = serve(lambda *request: (ok(), False))
    with RegistryClient(server.address, tls_verify=False) as client:
        assert client.has_blob("team/app", Digest.of_bytes(b"a"))
        assert client.has_blob("team/app", Digest.of_bytes(b"b"))
    assert requests_seen(server) == [("HEAD", f"/v2/team/app/blobs/{Digest.of_bytes(b'a')}"),
                                     ("HEAD", f"/v2/team/app/blobs/{Digest.of_bytes(b'b')}")]


def test_a_first_request_that_changes_the_registry_is_preceded_by_the_probe(serve):
    created = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
    server = serve(lambda method, *request: (created if method == "PUT" else ok(b"{}"), False))
    with RegistryClient(server.address, tls_verify=False) as client:
        client.push_manifest("team/app", "1", manifest_for(b"config", b"layer"), OCI_MANIFEST)
    assert requests_seen(server) == [("GET", "/v2/"), ("PUT", "/v2/team/app/manifests/1")]


def test_a_loopback_port_answering_plain_http_with_400_is_asked_in_https(serve):
    """What a TLS port says to plain http (Go's, word for word); the client turns to https, which this port lacks."""
    tls_port_reply = b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"
    server = serve(lambda *request: (tls_port_reply, True))
    with RegistryClient(server.address, tls_verify=False, attempts=1) as client:
        with pytest.raises(RegistryError, match=f"HEAD https://{server.address}/"):
            client.has_blob("team/app", Digest.of_bytes(b"a"))
    assert requests_seen(server) == [("HEAD", f"/v2/team/app/blobs/{Digest.of_bytes(b'a')}")]


def test_a_first_request_answered_late_is_sent_again_once_get_v2_shows_plain_http(serve, monkeypatch):
    """A slow first answer (a pull-through cache fetching the manifest) is not taken for a TLS port's silence."""
    monkeypatch.setattr(client_module, "PROBE_TIMEOUT", 0.2)
    answered = []

    def answer(method, path, headers, body):
        if path != "/v2/" and not answered:
            answered.append(path)
            time.sleep(0.6)  # past the probe's patience: the client has hung up by now
        return ok(), False

    server = serve(answer)
    with RegistryClient(server.address, tls_verify=False) as client:
        assert client.has_blob("team/app", Digest.of_bytes(b"a"))
    blob = f"/v2/team/app/blobs/{Digest.of_bytes(b'a')}"
    assert requests_seen(server) == [("HEAD", blob), ("GET", "/v2/"), ("HEAD", blob)]


def test_a_loopback_port_silent_to_plain_http_is_asked_in_https(serve, monkeypatch):
    monkeypatch.setattr(client_module, "PROBE_TIMEOUT", 0.2)

    def silent(*request):
        time.sleep(0.6)
        return ok(), True

    server = serve(silent)
    with RegistryClient(server.address, tls_verify=False, attempts=1) as client:
        with pytest.raises(RegistryError, match=f"HEAD https://{server.address}/"):
            client.has_blob("team/app", Digest.of_bytes(b"a"))
    assert requests_seen(server) == [("HEAD", f"/v2/team/app/blobs/{Digest.of_bytes(b'a')}"), ("GET", "/v2/")]


def test_a_registry_name_that_does_not_resolve_fails_at_once_without_retries(monkeypatch):
    """A misspelt registry is not a transient failure: one lookup, one error line naming the host."""
    import socket

    lookups = []

    def unknown_name(host, *args, **kwargs):
        lookups.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", unknown_name)
    with RegistryClient("registry.invalid:5000") as client, pytest.raises(RegistryError) as raised:
        client.fetch_manifest("app", "latest")
    assert "connect to registry.invalid:5000: Name or service not known" in str(raised.value)
    assert "gave up" not in str(raised.value)
    assert len(lookups) == 1
