"""``dockpy build --output``: the built stage's filesystem written out, as BuildKit's local and tar exporters.

A CI job builds its artifacts in a Dockerfile (often a last ``FROM scratch``
stage holding only them) and wants the files, not an image. The value of
``-o``/``--output`` is parsed as docker buildx parses it:

* ``PATH`` (one field not starting ``type=``): ``type=local,dest=PATH``, the files written into the directory PATH;
* ``-``: ``type=tar,dest=-``, one tar on standard output;
* ``type=local|tar[,dest=...]`` in full (a tar without ``dest`` goes to standard output).

The filesystem is the image's layers flattened with whiteouts honoured (what
``dockpy export IMAGE`` writes), so nothing of a container's runtime
(``/etc/hosts``, ``/etc/resolv.conf``) is in it. A directory is written through
the same applier as layers, which never follows a symlink out of the target:
an artifact that is a symlink to ``/etc`` cannot make dockpy write there.
Files already in the directory stay unless the image has the same path, which
replaces them (BuildKit's behaviour). A tar file appears only when complete.
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass

from dockpy.errors import InvalidInputError, StoreError

STANDARD_OUTPUT = "-"
EXPORTER_TYPES = ("local", "tar")
# Exporters BuildKit has that write an image somewhere: dockpy's image goes to its store (-t) only.
_IMAGE_EXPORTER_TYPES = ("image", "registry", "oci", "docker", "cacheonly")


@dataclass(frozen=True)
class BuildOutput:
    """Where ``--output`` sends the built filesystem: ``kind`` is ``local`` (a directory) or ``tar``."""

    kind: str
    dest: str

    @property
    def to_standard_output(self) -> bool:
        return self.kind == "tar" and self.dest == STANDARD_OUTPUT

    @property
    def description(self) -> str:
        """Where the files go, for the progress line: ``client directory out``, ``tar file a.tar``."""
        if self.to_standard_output:
            return "a tar on standard output"
        return f"client directory {self.dest}" if self.kind == "local" else f"tar file {self.dest}"


def parse_output(value: str) -> BuildOutput:
    """The ``--output`` value ``value``, as docker buildx reads it; anything else is an ``InvalidInputError``."""
    if not value:
        raise InvalidInputError("invalid --output '': want PATH, '-' or type=local|tar,dest=...")
    if "," not in value and not value.startswith("type="):  # one field, a path even with "=" in it
        return BuildOutput("tar", STANDARD_OUTPUT) if value == STANDARD_OUTPUT else BuildOutput("local", value)
    fields = _output_fields(value)
    kind = fields.pop("type", None)
    dest = fields.pop("dest", None)
    _check_type(value, kind)
    if fields:
        raise InvalidInputError(f"invalid --output {value!r}: unknown key {sorted(fields)[0]!r}",
                                hint="dockpy's local and tar exporters take type and dest only.")
    if kind == "tar":
        return BuildOutput("tar", dest or STANDARD_OUTPUT)
    if not dest:
        raise InvalidInputError(f"invalid --output {value!r}: type=local needs dest=DIR")
    return BuildOutput("local", dest)


def _output_fields(value: str) -> dict[str, str]:
    """The ``key=value`` fields of a comma-separated ``--output``; a field without ``=`` is an error."""
    fields = {}
    for field in value.split(","):
        key, equals, text = field.partition("=")
        if not equals or not key:
            raise InvalidInputError(f"invalid --output {value!r}: field {field!r} is not KEY=VALUE")
        fields[key.strip().lower()] = text
    return fields


def _check_type(value: str, kind: str | None) -> None:
    if kind is None:
        raise InvalidInputError(f"invalid --output {value!r}: type=local or type=tar is required")
    if kind in _IMAGE_EXPORTER_TYPES:
        raise InvalidInputError(f"--output type={kind} is not supported: dockpy writes images to its store only",
                                hint="Use -t NAME to tag the image, or type=local/type=tar for its files.")
    if kind not in EXPORTER_TYPES:
        raise InvalidInputError(f"invalid --output {value!r}: type must be local or tar, not {kind!r}")


def check_output_destination(output: BuildOutput) -> None:
    """Refuse, before anything is built, a destination the result could not be written to."""
    if output.to_standard_output:
        if sys.stdout.isatty():
            raise InvalidInputError("refusing to write a tar to a terminal",
                                    hint="Redirect standard output, or use --output type=tar,dest=FILE.")
        return
    wanted_directory = output.kind == "local"
    if os.path.lexists(output.dest) and os.path.isdir(output.dest) != wanted_directory:
        what = "a directory" if wanted_directory else "a file"
        raise InvalidInputError(f"--output {output.kind} destination {output.dest} exists and is not {what}")


def export_build_output(store, image_id: str, output: BuildOutput) -> None:
    """Write the filesystem of the image ``image_id`` in ``store`` where ``output`` says."""
    from dockpy.image.rootfs_archive import atomic_output, export_rootfs

    if output.kind == "local":
        _export_to_directory(store, image_id, output.dest)
    elif output.to_standard_output:
        sys.stdout.flush()
        export_rootfs(store, image_id, sys.stdout.buffer)
    else:
        with atomic_output(output.dest) as out:
            export_rootfs(store, image_id, out)


def _export_to_directory(store, image_id: str, dest: str) -> None:
    """The flattened tar, spooled under the root's tmp (it may be large), applied into ``dest``.

    Applying the flattened tar rather than the layers one by one matters: a
    layer's whiteout must remove what a lower layer made, never a file the user
    already had in ``dest``.
    """
    from dockpy.image.rootfs_archive import export_rootfs
    from dockpy.layers.tarapply import apply_layer

    _make_directory(dest)
    with tempfile.TemporaryFile(dir=store.root.tmp) as spool:
        export_rootfs(store, image_id, spool)
        spool.seek(0)
        apply_layer(spool, dest, whiteout_mode="delete")


def _make_directory(dest: str) -> None:
    try:
        os.makedirs(dest, exist_ok=True)
    except OSError as error:
        raise StoreError(f"create --output directory {dest}: {error.strerror}") from error

