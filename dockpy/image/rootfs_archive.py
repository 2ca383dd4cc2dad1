"""Root filesystem tars in and out: ``dockpy import`` and ``dockpy export``.

``import`` makes a one-layer image of a rootfs tar, like ``docker import``:
the tar (plain, gzip or zstd) is checked entry by entry as it streams into
the content store (``store_layer_from_tar`` refuses what the layer applier
would refuse, and a truncated tar), so a bad tar stores nothing. The config
has no ``config`` section (no Env, no Cmd), and one history entry commented
``Imported from <source>``, as Docker writes. With ``SOURCE_DATE_EPOCH`` set,
that is the creation time, so importing the same tar gives the same image id.

``export`` flattens an image's layers (and, for a container, its changes as
one more layer) into one plain rootfs tar: each layer is applied in
``delete`` mode (whiteouts remove, nothing of them remains) into a scratch
directory under ``<root>/tmp``, which is then written as one deterministic
tar. The output file appears only when complete.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from dockpy.errors import StoreError
from dockpy.image.leftovers import EXPORT_SCRATCH_PREFIX
from dockpy.image.oci import Descriptor, HistoryEntry, ImageConfig, Platform, RootFS, format_timestamp
from dockpy.image.refs import Revision
from dockpy.image.store import Image, ImageStore
from dockpy.layers.compression import Compression, open_layer, store_layer_from_tar
from dockpy.layers.tarapply import apply_layer
from dockpy.layers.tarwriter import source_date_epoch_from_environment, write_layer_tar


def import_rootfs(
    store: ImageStore,
    tar_stream: BinaryIO,
    name_tag: str | None = None,
    *,
    source: str = "-",
    compression: Compression = Compression.ZSTD,
    author: str | None = None,
    message: str = "",
) -> tuple[Image, Revision | None]:
    """Store ``tar_stream`` as a one-layer image, and make it the next revision of ``name_tag`` if given."""
    if name_tag is not None:
        from dockpy.image.reference import parse_tag_reference

        parse_tag_reference(name_tag)  # a bad name fails before the tar is read
    with store.writing():
        layer = store_layer_from_tar(store.content, tar_stream, compression)
        image = store.put_image(_imported_config(layer.diff_id, source, message),
                                [Descriptor(layer.media_type, layer.digest, layer.size)])
        if name_tag is None:
            return image, None
        revision = store.add_revision(name_tag, image, operation="import", author=author,
                                      message=message or f"import {source}")
    return image, revision


def export_rootfs(store: ImageStore, reference: str, out: BinaryIO,
                  top_layer: Callable[[BinaryIO], None] | None = None) -> Image:
    """Write the flattened root filesystem of the image ``reference`` names to ``out`` as a tar.

    ``top_layer`` writes one more layer tar (a container's changes), applied
    over the image's layers like them.
    """
    image = store.resolve(reference)
    with store.writing(), _scratch_directory(store) as rootfs:
        for layer in image.layers:
            with open_layer(store.content, layer.digest) as tar:
                apply_layer(tar, rootfs, whiteout_mode="delete")
        if top_layer is not None:
            _apply_written_layer(top_layer, rootfs, store)
        write_layer_tar(rootfs, out)
    return image


def _apply_written_layer(write: Callable[[BinaryIO], None], rootfs: Path, store: ImageStore) -> None:
    """The layer tar ``write`` makes, spooled to a file under the root's tmp (it may be large), applied to ``rootfs``."""
    with tempfile.TemporaryFile(dir=store.root.tmp) as spool:
        write(spool)
        spool.seek(0)
        apply_layer(spool, rootfs, whiteout_mode="delete")


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A file that appears at ``path`` only if the block completes; nothing is left otherwise.

    A path that is already something other than a regular file (``/dev/null``,
    a FIFO a reader waits on) is written in place: renaming over it would
    replace the device or pipe with a plain file.
    """
    path = Path(path)
    if _is_special_file(path):
        try:
            with open(path, "wb") as out:
                yield out
        except OSError as error:
            raise StoreError(f"write {path}: {error.strerror}") from error
        return
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    except OSError as error:
        raise StoreError(f"create {path}: {error.strerror}") from error
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
        os.rename(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _is_special_file(path: Path) -> bool:
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _imported_config(diff_id, source: str, message: str) -> ImageConfig:
    epoch = source_date_epoch_from_environment()
    created = format_timestamp(epoch)
    platform = Platform.host()
    return ImageConfig(
        architecture=platform.architecture, os=platform.os, variant=platform.variant, created=created,
        rootfs=RootFS((diff_id,)),
        history=(HistoryEntry(created=created, comment=message or f"Imported from {source}"),),
    )


@contextlib.contextmanager
def _scratch_directory(store: ImageStore) -> Iterator[Path]:
    try:
        scratch = tempfile.TemporaryDirectory(prefix=EXPORT_SCRATCH_PREFIX, dir=store.root.tmp)
    except OSError as error:
        raise StoreError(f"create a scratch directory in {store.root.tmp}: {error.strerror}") from error
    with scratch as path:
        yield Path(path)
