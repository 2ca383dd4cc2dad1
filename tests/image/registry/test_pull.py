"""Pull through a real registry into another root: digests kept, platforms chosen, failures leave no trace."""

import json

import pytest

from dockpy.errors import NotFoundError
from dockpy.image.oci import OCI_INDEX, Platform
from dockpy.image.registry.client import RegistryClient
from dockpy.image.registry.pull import parse_platform, pull_image
from dockpy.image.registry.push import push_image
from dockpy.image.registry.remote import RemoteImage
from tests.image.conftest import put_test_image
from tests.image.registry.conftest import two_layer_image

pytestmark = pytest.mark.usefixtures("no_stored_credentials")


def test_push_then_pull_into_another_root_keeps_every_digest(registry_address, image_store, other_store):
    image = two_layer_image(image_store)
    remote = RemoteImage.parse(f"{registry_address}/team/app:1")
    with RegistryClient(registry_address, tls_verify=False) as client:
        pushed = push_image(image_store, client, "app:1", remote)
        pulled = pull_image(other_store, client, remote)
    assert pushed == image.manifest_digest == pulled.manifest_digest
    assert pulled.id == image.id
    assert [revision.operation for revision in other_store.log(f"{registry_address}/team/app:1")] == ["pull"]
    for layer in image.layers:
        assert other_store.content.read_bytes(layer.digest) == image_store.content.read_bytes(layer.digest)


def test_pull_by_digest_adds_no_tag(registry_address, image_store, other_store):
    image = two_layer_image(image_store)
    with RegistryClient(registry_address, tls_verify=False) as client:
        push_image(image_store, client, "app:1", RemoteImage.parse(f"{registry_address}/team/bydigest:1"))
        pulled = pull_image(other_store, client, RemoteImage.parse(f"{registry_address}/team/bydigest@{image.manifest_digest}"))
    assert pulled.manifest_digest == image.manifest_digest
    assert [(summary.tag, summary.manifest_digest) for summary in other_store.images()] == [(None, image.manifest_digest)]


def test_an_index_resolves_to_the_hosts_platform(registry_address, image_store, other_store):
    image = two_layer_image(image_store)
    other = put_test_image(image_store, {"s390x-only": b"another platform"})
    image_store.add_revision("other:1", other, operation="build")
    with RegistryClient(registry_address, tls_verify=False) as client:
        push_image(image_store, client, "app:1", RemoteImage.parse(f"{registry_address}/team/multi:host"))
        push_image(image_store, client, "other:1", RemoteImage.parse(f"{registry_address}/team/multi:s390x"))
        host = Platform.host()
        index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": other.manifest_digest,
             "size": image_store.content.info(other.manifest_digest).size,
             "platform": {"os": "linux", "architecture": "s390x"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": image.manifest_digest,
             "size": image_store.content.info(image.manifest_digest).size,
             "platform": {"os": host.os, "architecture": host.architecture}},
        ]}).encode()
        client.push_manifest("team/multi", "latest", index, OCI_INDEX)
        pulled = pull_image(other_store, client, RemoteImage.parse(f"{registry_address}/team/multi:latest"))
        assert pulled.manifest_digest == image.manifest_digest
        with pytest.raises(NotFoundError, match="no image for linux/arm64") as raised:
            pull_image(other_store, client, RemoteImage.parse(f"{registry_address}/team/multi:latest"),
                       platform=parse_platform("linux/arm64"))
    assert "linux/s390x" in raised.value.hint


def test_a_failed_pull_leaves_no_tag(registry_address, fault_proxy, image_store, other_store):
    two_layer_image(image_store)
    with RegistryClient(fault_proxy.address, tls_verify=False, attempts=2) as client:
        push_image(image_store, client, "app:1", RemoteImage.parse(f"{fault_proxy.address}/team/broken:1"))
        fault_proxy.corrupt_blob_downloads = True
        with pytest.raises(Exception):
            pull_image(other_store, client, RemoteImage.parse(f"{fault_proxy.address}/team/broken:1"))
    assert other_store.images() == []


def test_cli_push_and_pull_as_a_user_would(registry_address, image_store, dockpy, tmp_path):
    two_layer_image(image_store)
    image_store.tag("app:1", f"{registry_address}/team/cli:1")
    pushed = dockpy("push", "--tls-verify=false", f"{registry_address}/team/cli:1")
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout.startswith("1: digest: sha256:")
    pulled = dockpy("--root", str(tmp_path / "fresh"), "pull", "--tls-verify=false", f"{registry_address}/team/cli:1")
    assert pulled.returncode == 0, pulled.stderr
    assert pushed.stdout.split()[-1] in pulled.stdout
    missing = dockpy("--root", str(tmp_path / "fresh"), "pull", "--tls-verify=false", f"{registry_address}/team/none:1")
    assert missing.returncode == 125
    assert missing.stderr.startswith("dockpy: error: manifest team/none:1 not found")
