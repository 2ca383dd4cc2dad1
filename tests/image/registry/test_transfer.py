"""Whole images through a real registry: push, pull into another root, and the peers reading them."""

import json
import shutil
import subprocess

import pytest

from dockpy.errors import InvalidInputError, NotFoundError
from dockpy.image.oci import OCI_INDEX, Platform
from dockpy.image.registry.client import RegistryClient
from dockpy.image.registry.transfer import RemoteImage, parse_platform, pull_image, push_image
from dockpy.image.store import ImageStore
from dockpy.layers.digests import Digest
from dockpy.root import StorageRoot
from tests.image.conftest import put_test_image

pytestmark = pytest.mark.usefixtures("no_stored_credentials")


@pytest.fixture
def other_store(tmp_path):
    with ImageStore(StorageRoot(tmp_path / "other-root").create()) as store:
        yield store


def two_layer_image(store):
    image = put_test_image(store, {"etc/": None, "etc/motd": b"hello\n"}, {"app/": None, "app/run": b"#!/bin/sh\n"})
    store.add_revision("app:1", image, operation="build")
    return image


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


def test_pushing_again_uploads_no_blob(registry_address, fault_proxy, image_store):
    two_layer_image(image_store)
    remote = RemoteImage.parse(f"{fault_proxy.address}/team/again:1")
    with RegistryClient(fault_proxy.address, tls_verify=False) as client:
        push_image(image_store, client, "app:1", remote)
        fault_proxy.requests.clear()
        push_image(image_store, client, "app:1", remote)
    methods = sorted({method for method, _ in fault_proxy.requests})
    assert methods == ["HEAD", "PUT"]  # HEAD per blob, PUT of the manifest only


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


def test_a_revision_reference_cannot_be_pushed():
    with pytest.raises(InvalidInputError, match="no revisions"):
        RemoteImage.parse("localhost:5000/app:1@2")


def test_remote_names_map_to_registry_and_repository():
    remote = RemoteImage.parse("localhost:5000/team/app")
    assert (remote.registry, remote.repository, remote.reference) == ("localhost:5000", "team/app", "latest")
    hub = RemoteImage.parse("busybox:1.36")
    assert (hub.registry, hub.repository, hub.reference) == ("registry-1.docker.io", "library/busybox", "1.36")


@pytest.mark.skipif(shutil.which("skopeo") is None, reason="skopeo is not installed")
def test_skopeo_reads_what_dockpy_pushed(registry_address, image_store, tmp_path):
    image = two_layer_image(image_store)
    with RegistryClient(registry_address, tls_verify=False) as client:
        push_image(image_store, client, "app:1", RemoteImage.parse(f"{registry_address}/team/skopeo:1"))
    inspected = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", "--raw", f"docker://{registry_address}/team/skopeo:1"],
        capture_output=True, check=True)
    assert Digest.of_bytes(inspected.stdout) == image.manifest_digest
    subprocess.run(["skopeo", "copy", "--src-tls-verify=false", f"docker://{registry_address}/team/skopeo:1",
                    f"oci:{tmp_path / 'layout'}:app"], capture_output=True, check=True)
    assert (tmp_path / "layout" / "blobs" / "sha256" / image.id.hex).exists()


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
