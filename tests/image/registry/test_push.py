"""Push to a real registry: what goes over the wire, and the peers reading what dockpy pushed."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from dockpy.errors import RegistryError
from dockpy.image.registry import blob_sources
from dockpy.image.registry.auth import Credentials
from dockpy.image.registry.client import RegistryClient
from dockpy.image.registry.pull import pull_image
from dockpy.image.registry.push import push_image
from dockpy.image.registry import remote as remote_module
from dockpy.image.registry.remote import RemoteImage
from dockpy.layers.compression import Compression
from dockpy.layers.digests import Digest
from tests.image.conftest import put_test_image
from tests.image.registry.conftest import StartedSizes, two_layer_image
from tests.peer_isolation import with_private_var_lib

pytestmark = pytest.mark.usefixtures("no_stored_credentials")


def test_pushing_again_is_one_head_request_of_the_manifest(registry_address, fault_proxy, image_store):
    image = two_layer_image(image_store)
    remote = RemoteImage.parse(f"{fault_proxy.address}/team/again:1")
    with RegistryClient(fault_proxy.address, tls_verify=False) as client:
        push_image(image_store, client, "app:1", remote)
        fault_proxy.requests.clear()
        pushed = push_image(image_store, client, "app:1", remote)
    assert pushed == image.manifest_digest
    assert fault_proxy.requests == [("HEAD", "/v2/team/again/manifests/1")]


def test_the_largest_blob_goes_up_first(registry_address, image_store, monkeypatch):
    image = put_test_image(image_store, {"small": b"s"}, {"big": bytes(200_000)}, {"middle": bytes(50_000)})
    image_store.add_revision("app:1", image, operation="build")
    monkeypatch.setattr(remote_module, "PARALLEL_TRANSFERS", 1)
    progress = StartedSizes()
    with RegistryClient(registry_address, tls_verify=False) as client:
        push_image(image_store, client, "app:1", RemoteImage.parse(f"{registry_address}/team/sizes:1"),
                   progress=progress)
    assert progress.sizes == sorted(progress.sizes, reverse=True)
    assert progress.sizes[0] == max(layer.size for layer in image.layers)


def test_a_push_behind_bearer_auth_fetches_one_token(registry_address, fault_proxy, image_store):
    two_layer_image(image_store)
    fault_proxy.require_token = True
    credentials = Credentials(fault_proxy.username, fault_proxy.password)
    with RegistryClient(fault_proxy.address, tls_verify=False, credentials=credentials) as client:
        push_image(image_store, client, "app:1", RemoteImage.parse(f"{fault_proxy.address}/team/token:1"))
    assert fault_proxy.tokens_issued == 1  # pull,push scope: the HEADs and the uploads share it


def test_a_tag_holding_another_manifest_gets_the_blobs_checked_and_the_manifest_put(
        registry_address, fault_proxy, image_store):
    image = two_layer_image(image_store)
    other = put_test_image(image_store, {"etc/": None, "etc/motd": b"other\n"})
    image_store.add_revision("other:1", other, operation="build")
    remote = RemoteImage.parse(f"{fault_proxy.address}/team/moved:1")
    with RegistryClient(fault_proxy.address, tls_verify=False) as client:
        push_image(image_store, client, "other:1", remote)
        fault_proxy.requests.clear()
        pushed = push_image(image_store, client, "app:1", remote)
        assert client.manifest_digest("team/moved", "1") == pushed == image.manifest_digest
    blob_heads = [path for method, path in fault_proxy.requests if method == "HEAD" and "/blobs/" in path]
    assert len(blob_heads) == 3  # config and both layers
    assert ("PUT", "/v2/team/moved/manifests/1") in fault_proxy.requests


def test_a_registry_that_does_not_name_the_manifest_digest_gets_the_full_push(serve, image_store):
    """A HEAD answered without Docker-Content-Digest proves nothing: every blob is checked and the manifest put."""
    two_layer_image(image_store)

    def answer(method, path, headers, body):
        status = "201 Created" if method in ("PUT", "POST") else "200 OK"
        location = "Location: /v2/team/quiet/blobs/uploads/1\r\n" if method == "POST" else ""
        return f"HTTP/1.1 {status}\r\n{location}Content-Length: 0\r\n\r\n".encode(), False

    server = serve(answer)
    with RegistryClient(server.address, tls_verify=False) as client:
        push_image(image_store, client, "app:1", RemoteImage.parse(f"{server.address}/team/quiet:1"))
    methods = [(method, path.split("/")[4]) for method, path, _, _ in server.requests if path != "/v2/"]
    assert methods.count(("HEAD", "blobs")) == 3
    assert ("PUT", "manifests") in methods


@pytest.mark.skipif(shutil.which("skopeo") is None, reason="skopeo is not installed")
def test_skopeo_reads_what_dockpy_pushed(registry_address, image_store, tmp_path):
    image = two_layer_image(image_store)
    with RegistryClient(registry_address, tls_verify=False) as client:
        push_image(image_store, client, "app:1", RemoteImage.parse(f"{registry_address}/team/skopeo:1"))
    inspected = subprocess.run(
        with_private_var_lib(["skopeo", "inspect", "--tls-verify=false", "--raw",
                              f"docker://{registry_address}/team/skopeo:1"]),
        capture_output=True, check=True)
    assert Digest.of_bytes(inspected.stdout) == image.manifest_digest
    subprocess.run(with_private_var_lib(["skopeo", "copy", "--src-tls-verify=false",
                                         f"docker://{registry_address}/team/skopeo:1", f"oci:{tmp_path / 'layout'}:app"]),
                   capture_output=True, check=True)
    assert (tmp_path / "layout" / "blobs" / "sha256" / image.id.hex).exists()


def blob_uploads(requests) -> list[tuple[str, str]]:
    """The requests that carry blob content (monolithic PUT or PATCH of an upload session)."""
    return [(method, path) for method, path in requests if "/blobs/uploads/" in path and method in ("PUT", "PATCH")]


def test_a_push_to_another_repository_mounts_the_blobs_instead_of_uploading(registry_address, fault_proxy, image_store):
    image = two_layer_image(image_store)
    with RegistryClient(fault_proxy.address, tls_verify=False) as client:
        push_image(image_store, client, "app:1", RemoteImage.parse(f"{fault_proxy.address}/team/first:1"))
        fault_proxy.requests.clear()
        push_image(image_store, client, "app:1", RemoteImage.parse(f"{fault_proxy.address}/team/second:1"))
        assert all(client.has_blob("team/second", layer.digest) for layer in image.layers)
    mounts = [path for method, path in fault_proxy.requests if method == "POST" and "mount=" in path]
    assert len(mounts) == 3  # config and both layers
    assert all("from=team%2Ffirst" in path for path in mounts)
    assert blob_uploads(fault_proxy.requests) == []


def test_a_pulled_image_pushed_to_another_repository_is_mounted_from_where_it_came(
        registry_address, fault_proxy, image_store, other_store):
    two_layer_image(image_store)
    with RegistryClient(fault_proxy.address, tls_verify=False) as client:
        push_image(image_store, client, "app:1", RemoteImage.parse(f"{fault_proxy.address}/team/origin:1"))
        pull_image(other_store, client, RemoteImage.parse(f"{fault_proxy.address}/team/origin:1"))
        fault_proxy.requests.clear()
        push_image(other_store, client, f"{fault_proxy.address}/team/origin:1",
                   RemoteImage.parse(f"{fault_proxy.address}/team/copy:1"))
    assert blob_uploads(fault_proxy.requests) == []


def test_a_stale_mount_source_falls_back_to_uploading(registry_address, image_store):
    image = two_layer_image(image_store)
    blob_sources.remember(image_store.db, registry_address, "team/never-pushed", [image.layers[0].digest])
    with RegistryClient(registry_address, tls_verify=False) as client:
        push_image(image_store, client, "app:1", RemoteImage.parse(f"{registry_address}/team/fallback:1"))
        assert client.has_blob("team/fallback", image.layers[0].digest)


@pytest.mark.skipif(shutil.which("skopeo") is None, reason="skopeo is not installed")
def test_push_with_gzip_converts_the_layers_and_keeps_the_image(registry_address, image_store, other_store):
    image = two_layer_image(image_store)
    stored_before = set(image_store.content.walk())
    remote = RemoteImage.parse(f"{registry_address}/team/gzipped:1")
    with RegistryClient(registry_address, tls_verify=False) as client:
        pushed = push_image(image_store, client, "app:1", remote, compression=Compression.GZIP)
        pulled = pull_image(other_store, client, remote)
    inspected = json.loads(subprocess.run(
        with_private_var_lib(["skopeo", "inspect", "--tls-verify=false", "--raw",
                              f"docker://{registry_address}/team/gzipped:1"]),
        capture_output=True, check=True).stdout)
    assert [layer["mediaType"] for layer in inspected["layers"]] == ["application/vnd.oci.image.layer.v1.tar+gzip"] * 2
    assert pushed == pulled.manifest_digest != image.manifest_digest
    assert pulled.id == image.id
    assert pulled.config.rootfs.diff_ids == image.config.rootfs.diff_ids
    assert set(image_store.content.walk()) == stored_before


def test_cli_push_takes_a_compression(registry_address, image_store, dockpy):
    two_layer_image(image_store)
    image_store.tag("app:1", f"{registry_address}/team/cli-zstd:1")
    pushed = dockpy("push", "-q", "--compression", "zstd", "--tls-verify=false", f"{registry_address}/team/cli-zstd:1")
    assert pushed.returncode == 0, pushed.stderr
    with RegistryClient(registry_address, tls_verify=False) as client:
        manifest = json.loads(client.fetch_manifest("team/cli-zstd", "1").data)
    assert {layer["mediaType"] for layer in manifest["layers"]} == {"application/vnd.oci.image.layer.v1.tar+zstd"}


def test_a_blob_corrupted_in_the_store_fails_the_push_and_is_not_published(registry_address, image_store):
    image = two_layer_image(image_store)
    layer = Path(image_store.content.path(image.layers[0].digest))
    data = bytearray(layer.read_bytes())
    data[-1] ^= 0xFF
    layer.chmod(0o644)
    layer.write_bytes(bytes(data))
    with RegistryClient(registry_address, tls_verify=False) as client:
        with pytest.raises(RegistryError, match="DIGEST_INVALID"):
            push_image(image_store, client, "app:1", RemoteImage.parse(f"{registry_address}/team/corrupt:1"))
        assert not client.has_blob("team/corrupt", image.layers[0].digest)
