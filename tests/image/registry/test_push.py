"""Push to a real registry: what goes over the wire, and the peers reading what dockpy pushed."""

import shutil
import subprocess

import pytest

from dockpy.image.registry.client import RegistryClient
from dockpy.image.registry.push import push_image
from dockpy.image.registry.remote import RemoteImage
from dockpy.layers.digests import Digest
from tests.image.registry.conftest import two_layer_image

pytestmark = pytest.mark.usefixtures("no_stored_credentials")


def test_pushing_again_uploads_no_blob(registry_address, fault_proxy, image_store):
    two_layer_image(image_store)
    remote = RemoteImage.parse(f"{fault_proxy.address}/team/again:1")
    with RegistryClient(fault_proxy.address, tls_verify=False) as client:
        push_image(image_store, client, "app:1", remote)
        fault_proxy.requests.clear()
        push_image(image_store, client, "app:1", remote)
    methods = sorted({method for method, _ in fault_proxy.requests})
    assert methods == ["HEAD", "PUT"]  # HEAD per blob, PUT of the manifest only


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
