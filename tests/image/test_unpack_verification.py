"""Unpacking checks each layer against the diff_id its image config promises."""

import pytest

from dockpy.errors import IntegrityError
from dockpy.image.oci import OCI_LAYER, Descriptor, HistoryEntry, ImageConfig, RootFS, format_timestamp
from dockpy.image.unpack import unpack_image
from dockpy.layers.digests import DiffID, chain_ids
from dockpy.layers.snapshots import Snapshotter
from tests.conftest import requires_root
from tests.image.conftest import layer_tar, put_test_image


@requires_root
def test_an_honest_image_unpacks(image_store):
    image = put_test_image(image_store, {"etc/": None, "etc/motd": b"hi\n"})
    directories = unpack_image(image_store, image, Snapshotter(image_store.root))
    assert (directories[0] / "etc/motd").read_bytes() == b"hi\n"


@requires_root
def test_a_layer_lying_about_its_diff_id_is_refused_and_plants_nothing(image_store):
    honest = layer_tar({"bin/": None, "bin/tool": b"the real tool"})
    hostile = layer_tar({"bin/": None, "bin/tool": b"a trojan"})
    blob = image_store.content.put_bytes(hostile)
    config = ImageConfig(
        architecture="amd64", os="linux", created=format_timestamp(),
        rootfs=RootFS((DiffID.of_bytes(honest),)), history=(HistoryEntry(created_by="lie"),),
    )
    image = image_store.put_image(config, [Descriptor(OCI_LAYER, blob.digest, blob.size)])
    snapshotter = Snapshotter(image_store.root)
    with pytest.raises(IntegrityError, match="unpacks to"):
        unpack_image(image_store, image, snapshotter)
    claimed_chain = chain_ids([DiffID.of_bytes(honest)])[0]
    assert all(info.name != claimed_chain for info in snapshotter.walk())
