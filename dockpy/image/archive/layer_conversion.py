"""An image's layers in the compression an archive needs, for ``save``.

A docker archive holds uncompressed tars; ``save --compression gzip`` wants
gzip (umoci 0.4.7 cannot read zstd). A layer in another compression is
decompressed from the store and compressed again into a scratch store, never
into the store itself: the image in the store is unchanged, the archive gets
a new manifest naming the new layer digests. The config stays byte for byte
(diff_ids describe the uncompressed tars, which do not change), so the image
id does too, and each converted layer's diff_id is checked against it.
"""

from __future__ import annotations

from dockpy.errors import IntegrityError
from dockpy.image.archive.archived import ArchivedImage
from dockpy.image.staging import StagingStore
from dockpy.image.oci import OCI_CONFIG, Descriptor, Manifest, encode
from dockpy.image.store import Image
from dockpy.layers.compression import Compression, open_layer, store_layer_from_tar
from dockpy.layers.digests import DiffID, Digest


class LayerConverter:
    """Converts images' layers to one compression (None: keep them as stored), each distinct layer once."""

    def __init__(self, scratch: StagingStore, compression: Compression | None):
        self._scratch = scratch
        self._compression = compression
        self._converted: dict[Digest, Descriptor] = {}

    def convert(self, image: Image, names: tuple[str, ...]) -> ArchivedImage:
        """``image`` as the archive gets it; a new manifest (in the scratch store) if any layer changed."""
        layers = tuple(self._layer(layer, diff_id) for layer, diff_id in zip(image.layers, image.config.rootfs.diff_ids))
        if layers == image.layers:
            return ArchivedImage(image.manifest_digest, image.manifest, names)
        manifest = Manifest(image.manifest.config.replace(media_type=OCI_CONFIG), layers,
                            annotations=image.manifest.annotations)
        blob = self._scratch.content.put_bytes(encode(manifest))
        return ArchivedImage(blob.digest, manifest, names)

    def _layer(self, layer: Descriptor, diff_id: DiffID) -> Descriptor:
        if self._compression is None or Compression.from_media_type(layer.media_type) is self._compression:
            return layer
        if layer.digest not in self._converted:
            self._converted[layer.digest] = self._recompress(layer, diff_id)
        return self._converted[layer.digest]

    def _recompress(self, layer: Descriptor, diff_id: DiffID) -> Descriptor:
        with open_layer(self._scratch.store, layer.digest) as tar:
            blob = store_layer_from_tar(self._scratch.content, tar, self._compression)
        if blob.diff_id != diff_id:
            raise IntegrityError(f"stored layer {layer.digest} decompresses to {blob.diff_id}, but its config says {diff_id}",
                                 hint="run 'dockpy fsck'")
        return Descriptor(blob.media_type, blob.digest, blob.size)
