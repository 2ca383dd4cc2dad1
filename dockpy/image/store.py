"""The image store: images as manifests and configs in the content store, plus their tags.

Vocabulary: an *image* is a manifest (its digest names it) and the config it
points at; the image *id* is the config digest, so two manifests (say, one
gzip and one zstd) can share an id. Tags and revisions are ``refs.Refs``,
which ``ImageStore`` extends with the blobs.

Scenario, importing a rootfs (see ``rootfs_archive``)::

    with store.writing():                       # gc waits until we are done
        layer = store_layer_from_tar(store.content, tar, compression)
        image = store.put_image(config, [layer_descriptor])  # config + manifest blobs, images row
        store.add_revision("app:1", image, operation="import")

Each method that changes the catalog is one transaction, and blobs are
durable before any row names them; see ``lease`` for why writers hold
``writing()``.
"""

from __future__ import annotations

import time
from collections import namedtuple
from collections.abc import Sequence

from dockpy.errors import IntegrityError
from dockpy.image import catalog
from dockpy.image.catalog import ImageRow
from dockpy.image.layer_history import encode_history, layer_history
from dockpy.image.oci import OCI_CONFIG, Descriptor, ImageConfig, Manifest, decode, encode, parse_timestamp
from dockpy.image.refs import Refs
from dockpy.layers.content import ContentStore
from dockpy.layers.digests import Digest
from dockpy.root import StorageRoot


class Image(namedtuple("Image", "manifest_digest manifest config")):
    """A manifest (``Manifest``, named by its ``Digest``) with its ``ImageConfig``, as read from the content store.

    A namedtuple, not a dataclass: ``commit``, ``inspect`` and ``run`` read
    images, and importing ``dataclasses`` would cost each of them ~10 ms.
    """

    __slots__ = ()

    @property
    def id(self) -> Digest:
        return self.manifest.config.digest

    @property
    def layers(self) -> tuple[Descriptor, ...]:
        return self.manifest.layers

    @property
    def size(self) -> int:
        """Bytes the image occupies as stored: config plus layer blobs."""
        return self.manifest.config.size + sum(layer.size for layer in self.manifest.layers)


class ImageStore(Refs):
    """Images (blobs and catalog rows) and tag histories of one storage root."""

    def __init__(self, root: StorageRoot | None = None, database=None):
        super().__init__(root, database)
        self.content = ContentStore(self.root)

    def put_image(self, config: ImageConfig, layers: Sequence[Descriptor], annotations: dict | None = None) -> Image:
        """Store ``config`` and a manifest of ``layers`` (blobs already stored); record the image."""
        with self.writing():
            self._check_layers_stored(layers)
            return self._record(self.put_image_blobs(config, layers, annotations))

    def put_image_blobs(self, config: ImageConfig, layers: Sequence[Descriptor], annotations: dict | None = None) -> Image:
        """Store ``config`` and a manifest of ``layers``, but record nothing: ``record_image`` does.

        The layers' blobs need not be stored yet (``commit`` writes these while
        its layer is fsynced); hold ``writing()`` until the image is recorded.
        """
        if len(layers) != len(config.rootfs.diff_ids):
            raise IntegrityError(f"{len(layers)} layers for {len(config.rootfs.diff_ids)} diff ids in the config")
        config_blob = self.content.put_bytes(encode(config))
        manifest = Manifest(Descriptor(OCI_CONFIG, config_blob.digest, config_blob.size), tuple(layers),
                            annotations=annotations)
        manifest_blob = self.content.put_bytes(encode(manifest))
        return Image(manifest_blob.digest, manifest, config)

    def record_image(self, image: Image) -> Image:
        """Record an image whose blobs are all stored, after checking its layers are."""
        with self.writing():
            self._check_layers_stored(image.layers)
            return self._record(image)

    def register_manifest(self, manifest_digest: Digest) -> Image:
        """Record a manifest already in the content store (loaded or pulled), after checking it."""
        return self.record_image(self.read_image(manifest_digest))

    def read_image(self, manifest_digest: Digest) -> Image:
        """Read and verify a manifest and its config from the content store."""
        manifest = decode(Manifest, self.content.read_bytes(manifest_digest), f"manifest {manifest_digest}")
        config = decode(ImageConfig, self.content.read_bytes(manifest.config.digest), f"config {manifest.config.digest}")
        return Image(manifest_digest, manifest, config)

    def _check_layers_stored(self, layers: Sequence[Descriptor]) -> None:
        for layer in layers:
            if self.content.info(layer.digest).size != layer.size:
                raise IntegrityError(f"layer {layer.digest}: stored size differs from {layer.size}")

    def _record(self, image: Image) -> Image:
        history = encode_history(layer_history(image.manifest, image.config))
        row = ImageRow(image.manifest_digest, image.id, image.size, parse_timestamp(image.config.created), time.time(),
                       history)
        with catalog.write_transaction(self.db, f"record image {image.id.short}"):
            catalog.insert_image(self.db, row)
        return image

    def resolve(self, reference: str) -> Image:
        """The image a reference names (see ``reference``); raises ``NotFoundError``."""
        return self.read_image(self.find(reference))

