"""Pull through a real registry into another root: digests kept, platforms chosen, failures leave no trace."""

import io
import json

import pytest

from dockpy.errors import IntegrityError, NotFoundError
from dockpy.image.oci import OCI_INDEX, Descriptor, ImageConfig, Platform, RootFS
from dockpy.image.registry import blob_sources
from dockpy.image.registry.client import RegistryClient
from dockpy.image.registry.pull import parse_platform, pull_image
from dockpy.image.registry.push import push_image
from dockpy.image.registry import remote as remote_module
from dockpy.image.registry.remote import RemoteImage
from dockpy.layers.compression import Compression, store_layer_from_tar
from dockpy.layers.digests import DiffID
from tests.image.conftest import layer_tar, put_test_image
from tests.image.registry.conftest import StartedSizes, two_layer_image

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


def test_the_largest_layer_comes_down_first(registry_address, image_store, other_store, monkeypatch):
    image = put_test_image(image_store, {"small": b"s"}, {"big": bytes(200_000)}, {"middle": bytes(50_000)})
    image_store.add_revision("app:1", image, operation="build")
    remote = RemoteImage.parse(f"{registry_address}/team/pulled-sizes:1")
    monkeypatch.setattr(remote_module, "PARALLEL_TRANSFERS", 1)
    progress = StartedSizes()
    with RegistryClient(registry_address, tls_verify=False) as client:
        push_image(image_store, client, "app:1", remote)
        pull_image(other_store, client, remote, progress=progress)
    layer_sizes = progress.sizes[1:]  # after the config
    assert layer_sizes == sorted(layer_sizes, reverse=True) == sorted(layer.size for layer in image.layers)[::-1]


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


def image_lying_about_its_diff_id(store, compression):
    """An image whose one layer is intact (its digest matches) but whose config names another diff_id."""
    layer = store_layer_from_tar(store.content, io.BytesIO(layer_tar({"etc/motd": b"real content\n"})), compression)
    config = ImageConfig(architecture="amd64", os="linux", rootfs=RootFS((DiffID.of_bytes(b"some other tar"),)))
    image = store.put_image(config, [Descriptor(layer.media_type, layer.digest, layer.size)])
    store.add_revision("liar:1", image, operation="build")
    return image


@pytest.mark.parametrize("compression", [Compression.GZIP, Compression.NONE])
def test_a_layer_that_contradicts_its_config_is_refused_and_nothing_is_stored(
        registry_address, fault_proxy, image_store, other_store, compression):
    image = image_lying_about_its_diff_id(image_store, compression)
    remote = RemoteImage.parse(f"{fault_proxy.address}/team/liar:{compression.value}")
    with RegistryClient(fault_proxy.address, tls_verify=False) as client:
        push_image(image_store, client, "liar:1", remote)
        fault_proxy.requests.clear()
        with pytest.raises(IntegrityError, match="but the image config says sha256:"):
            pull_image(other_store, client, remote)
    layer_downloads = [path for method, path in fault_proxy.requests if path.endswith(image.layers[0].digest)]
    assert layer_downloads == [f"/v2/team/liar/blobs/{image.layers[0].digest}"]  # refused at once, not retried
    assert other_store.images() == []
    assert list(other_store.content.walk()) == []
    assert list(other_store.root.tmp.iterdir()) == []


def test_pulled_layers_are_remembered_as_mount_sources(registry_address, image_store, other_store):
    image = two_layer_image(image_store)
    with RegistryClient(registry_address, tls_verify=False) as client:
        push_image(image_store, client, "app:1", RemoteImage.parse(f"{registry_address}/team/source:1"))
        pull_image(other_store, client, RemoteImage.parse(f"{registry_address}/team/source:1"))
    known = blob_sources.known_repositories(other_store.db, registry_address, [image.layers[0].digest])
    assert known == {image.layers[0].digest: ["team/source"]}
