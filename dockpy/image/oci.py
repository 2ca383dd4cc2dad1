"""The OCI image types: descriptor, manifest, index, image config, platform.

Python attributes are snake_case; the JSON field names are the OCI spec's
(and Docker's, for the ``config`` section: ``Env``, ``WorkingDir`` ...).
``to_json()``/``from_json()`` come from ``jsonmodel``; ``encode(model)`` gives
the canonical bytes that are stored and hashed. Docker's schema2 media types
are accepted when reading, since ``docker save`` and Docker Hub still write
them; dockpy writes OCI.

The image id is the digest of the config blob *as stored*: a config read
from elsewhere is never re-encoded, so its id is the one its author computed.
"""

from __future__ import annotations

from dockpy.errors import InvalidInputError
from dockpy.image.jsonmodel import REQUIRED, JsonModel, decode, encode, oci_field
from dockpy.image.timestamps import format_timestamp, parse_timestamp
from dockpy.layers.digests import DiffID, Digest

__all__ = [
    "ContainerConfig", "Descriptor", "Healthcheck", "HistoryEntry", "ImageConfig", "Index", "Manifest",
    "Platform", "RootFS", "decode", "encode", "format_timestamp", "parse_timestamp",
]

# Media types (OCI image spec, media-types.md; Docker's from the schema2 spec).
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = OCI_LAYER + "+gzip"
OCI_LAYER_ZSTD = OCI_LAYER + "+zstd"
OCI_NONDISTRIBUTABLE_LAYERS = tuple(
    "application/vnd.oci.image.layer.nondistributable.v1.tar" + suffix for suffix in ("", "+gzip", "+zstd")
)
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
CONFIG_TYPES = frozenset({OCI_CONFIG, DOCKER_CONFIG})
LAYER_TYPES = frozenset(
    {OCI_LAYER, OCI_LAYER_GZIP, OCI_LAYER_ZSTD, DOCKER_LAYER_GZIP, DOCKER_FOREIGN_LAYER, *OCI_NONDISTRIBUTABLE_LAYERS}
)
SCHEMA_VERSION = 2

# platform.machine() -> GOARCH (and variant), the names OCI platforms use.
_GO_ARCHITECTURES = {
    "x86_64": ("amd64", None), "amd64": ("amd64", None), "aarch64": ("arm64", None), "arm64": ("arm64", None),
    "armv7l": ("arm", "v7"), "armv6l": ("arm", "v6"), "i386": ("386", None), "i686": ("386", None),
    "ppc64le": ("ppc64le", None), "s390x": ("s390x", None), "riscv64": ("riscv64", None),
}


class Platform(JsonModel):
    """An OS and CPU an image runs on, with GOARCH names (``amd64``, ``arm64`` and a variant)."""

    architecture: str = oci_field("architecture", REQUIRED)
    os: str = oci_field("os", REQUIRED)
    os_version: str | None = oci_field("os.version")
    os_features: tuple[str, ...] | None = oci_field("os.features")
    variant: str | None = oci_field("variant")

    @classmethod
    def host(cls) -> "Platform":
        import platform

        machine = platform.machine()
        architecture, variant = _GO_ARCHITECTURES.get(machine, (machine, None))
        return cls(architecture=architecture, os="linux", variant=variant)


class Descriptor(JsonModel):
    """A pointer to a blob: what it is, its digest and its size."""

    media_type: str = oci_field("mediaType", REQUIRED)
    digest: Digest = oci_field("digest", REQUIRED)
    size: int = oci_field("size", REQUIRED, always=True)
    urls: tuple[str, ...] | None = oci_field("urls")
    annotations: dict[str, str] | None = oci_field("annotations")
    platform: Platform | None = oci_field("platform")
    artifact_type: str | None = oci_field("artifactType")

    def check(self, where: str) -> None:
        if self.size < 0:
            raise InvalidInputError(f"{where}: negative size {self.size}")


class Manifest(JsonModel):
    """An image manifest: one config blob and the layer blobs, bottom first."""

    config: Descriptor = oci_field("config", REQUIRED)
    layers: tuple[Descriptor, ...] = oci_field("layers", (), always=True)
    schema_version: int = oci_field("schemaVersion", SCHEMA_VERSION, always=True)
    media_type: str | None = oci_field("mediaType", OCI_MANIFEST)
    artifact_type: str | None = oci_field("artifactType")
    subject: Descriptor | None = oci_field("subject")
    annotations: dict[str, str] | None = oci_field("annotations")

    def check(self, where: str) -> None:
        _check_schema(self.schema_version, self.media_type, MANIFEST_TYPES, where)
        if self.config.media_type not in CONFIG_TYPES:
            raise InvalidInputError(f"{where}: not an image: config media type {self.config.media_type!r}")
        for index, layer in enumerate(self.layers):
            if layer.media_type not in LAYER_TYPES:
                raise InvalidInputError(f"{where}.layers[{index}]: unsupported layer media type {layer.media_type!r}")


class Index(JsonModel):
    """An image index (or Docker manifest list): manifests, usually one per platform."""

    manifests: tuple[Descriptor, ...] = oci_field("manifests", (), always=True)
    schema_version: int = oci_field("schemaVersion", SCHEMA_VERSION, always=True)
    media_type: str | None = oci_field("mediaType", OCI_INDEX)
    artifact_type: str | None = oci_field("artifactType")
    subject: Descriptor | None = oci_field("subject")
    annotations: dict[str, str] | None = oci_field("annotations")

    def check(self, where: str) -> None:
        _check_schema(self.schema_version, self.media_type, INDEX_TYPES, where)


class Healthcheck(JsonModel):
    """HEALTHCHECK; durations are nanoseconds, as Go's time.Duration."""

    test: tuple[str, ...] | None = oci_field("Test")
    interval: int | None = oci_field("Interval")
    timeout: int | None = oci_field("Timeout")
    start_period: int | None = oci_field("StartPeriod")
    start_interval: int | None = oci_field("StartInterval")
    retries: int | None = oci_field("Retries")


class ContainerConfig(JsonModel):
    """The image config's ``config`` section: how to run a container of the image."""

    user: str | None = oci_field("User")
    exposed_ports: tuple[str, ...] | None = oci_field("ExposedPorts", as_set=True)
    env: tuple[str, ...] | None = oci_field("Env")
    entrypoint: tuple[str, ...] | None = oci_field("Entrypoint")
    cmd: tuple[str, ...] | None = oci_field("Cmd")
    volumes: tuple[str, ...] | None = oci_field("Volumes", as_set=True)
    working_dir: str | None = oci_field("WorkingDir")
    labels: dict[str, str] | None = oci_field("Labels")
    stop_signal: str | None = oci_field("StopSignal")
    args_escaped: bool = oci_field("ArgsEscaped", False)
    healthcheck: Healthcheck | None = oci_field("Healthcheck")
    on_build: tuple[str, ...] | None = oci_field("OnBuild")
    shell: tuple[str, ...] | None = oci_field("Shell")


class RootFS(JsonModel):
    """The layers' diff ids (digests of the *uncompressed* tars), bottom first."""

    diff_ids: tuple[DiffID, ...] = oci_field("diff_ids", (), always=True)
    type: str = oci_field("type", "layers", always=True)

    def check(self, where: str) -> None:
        if self.type != "layers":
            raise InvalidInputError(f"{where}.type: expected 'layers', got {self.type!r}")


class HistoryEntry(JsonModel):
    """How one layer (or one metadata-only step, ``empty_layer``) was made."""

    created: str | None = oci_field("created")
    created_by: str | None = oci_field("created_by")
    author: str | None = oci_field("author")
    comment: str | None = oci_field("comment")
    empty_layer: bool = oci_field("empty_layer", False)


class ImageConfig(JsonModel):
    """The image config blob; its digest is the image id."""

    architecture: str = oci_field("architecture", REQUIRED)
    os: str = oci_field("os", REQUIRED)
    rootfs: RootFS = oci_field("rootfs", REQUIRED)
    created: str | None = oci_field("created")
    author: str | None = oci_field("author")
    os_version: str | None = oci_field("os.version")
    os_features: tuple[str, ...] | None = oci_field("os.features")
    variant: str | None = oci_field("variant")
    config: ContainerConfig | None = oci_field("config")
    history: tuple[HistoryEntry, ...] | None = oci_field("history")

    @property
    def platform(self) -> Platform:
        return Platform(self.architecture, self.os, self.os_version, self.os_features, self.variant)

    def with_layer(self, diff_id: DiffID, entry: HistoryEntry) -> "ImageConfig":
        """This config with one more layer on top, recorded in the history."""
        rootfs = self.rootfs.replace(diff_ids=(*self.rootfs.diff_ids, diff_id))
        return self.replace(rootfs=rootfs, history=(*(self.history or ()), entry))


def _check_schema(schema_version: int, media_type: str | None, accepted: frozenset[str], where: str) -> None:
    if schema_version != SCHEMA_VERSION:
        raise InvalidInputError(f"{where}: unsupported schemaVersion {schema_version}")
    if media_type is not None and media_type not in accepted:
        raise InvalidInputError(f"{where}: unexpected mediaType {media_type!r}")
