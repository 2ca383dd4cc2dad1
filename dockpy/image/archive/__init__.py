"""Image archives: ``dockpy save`` and ``dockpy load``.

Two formats, one module each: ``oci_layout`` (the OCI image layout, as a tar
or a directory) and ``docker_archive`` (``docker save``'s layout). Loading
goes ``members`` (the archive's files, names checked) → ``contents`` (blobs
staged and verified in a ``image.staging`` store) → a format's reader →
``verification`` → publish and tag (``load``). Saving goes ``save`` → a
``layer_conversion`` when the format or ``--compression`` needs other layers
→ a format's writer → ``writers`` (a tar or a directory).
"""

from dockpy.image.archive.load import LoadedImage, load_archive
from dockpy.image.archive.save import ArchiveFormat, save_images
from dockpy.image.archive.writers import DirectoryArchiveWriter, TarArchiveWriter

__all__ = ["ArchiveFormat", "DirectoryArchiveWriter", "LoadedImage", "TarArchiveWriter", "load_archive", "save_images"]
