"""``dockpy diff IMAGE IMAGE``: the A/C/D changes from one image (or revision) to another.

Both images are unpacked into snapshots (``unpack``; layers already
unpacked, say by ``run`` or by the other image, are reused) and their merged
trees are compared with ``layers.changes.compare_trees``, so the rules are
exactly ``dockpy diff CONTAINER``'s, which are ``docker diff``'s: ``A`` for an
added path and everything under an added directory, ``D`` for the top-most
removed path only, ``C`` for a path whose type, mode, owner or device changed
(or, for non-directories, size or mtime) and for every directory with changes
below it.

This costs a walk of both merged trees. Comparing the layer tars' listings
would avoid unpacking, but would need a second implementation of the merge
and of the rules; unpacked snapshots are needed to run the images anyway.
"""

from __future__ import annotations

from dockpy.image.store import ImageStore
from dockpy.image.unpack import unpack_image
from dockpy.layers.changes import Change, compare_trees
from dockpy.layers.layerstack import LayerStack
from dockpy.layers.snapshots import Snapshotter


def diff_images(store: ImageStore, old_reference: str, new_reference: str) -> list[Change]:
    """The changes that turn ``old_reference``'s filesystem into ``new_reference``'s, sorted by path."""
    old_image, new_image = store.resolve(old_reference), store.resolve(new_reference)
    with store.writing(), Snapshotter(store.root) as snapshotter:
        old_layers = unpack_image(store, old_image, snapshotter)
        new_layers = unpack_image(store, new_image, snapshotter)
        return compare_trees(LayerStack(old_layers), LayerStack(new_layers))
