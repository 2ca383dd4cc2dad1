"""OCI types: JSON round trips under OCI names, canonical bytes, and untrusted input."""

import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockpy.errors import InvalidInputError
from dockpy.image import oci
from dockpy.image.oci import (
    ContainerConfig, Descriptor, Healthcheck, HistoryEntry, ImageConfig, Index, Manifest, Platform, RootFS,
    decode, encode,
)
from dockpy.layers.digests import DiffID, Digest

DIGEST = Digest.of_bytes(b"layer")
CONFIG = ImageConfig(
    architecture="amd64",
    os="linux",
    created="2024-05-01T12:00:00Z",
    author="dev <dev@example.com>",
    rootfs=RootFS((DiffID.of_bytes(b"tar"),)),
    config=ContainerConfig(
        user="nobody", exposed_ports=("443/tcp", "80/tcp"), env=("PATH=/bin", "A=<&>"), entrypoint=("/bin/sh", "-c"),
        cmd=("echo hi",), volumes=("/data",), working_dir="/srv", labels={"b": "2", "a": "1"}, stop_signal="SIGTERM",
        healthcheck=Healthcheck(test=("CMD", "true"), interval=30_000_000_000, retries=3),
        on_build=("RUN make",), shell=("/bin/bash", "-c"),
    ),
    history=(HistoryEntry(created="2024-05-01T12:00:00Z", created_by="ADD rootfs.tar /"),
             HistoryEntry(created_by="ENV A=1", empty_layer=True)),
)


def test_image_config_round_trips_through_json():
    assert decode(ImageConfig, encode(CONFIG), "config") == CONFIG


def test_image_config_uses_oci_and_docker_field_names():
    document = json.loads(encode(CONFIG))
    assert set(document) == {"architecture", "os", "created", "author", "rootfs", "config", "history"}
    assert document["rootfs"] == {"type": "layers", "diff_ids": [str(CONFIG.rootfs.diff_ids[0])]}
    assert document["config"]["ExposedPorts"] == {"443/tcp": {}, "80/tcp": {}}
    assert document["config"]["Volumes"] == {"/data": {}}
    assert document["config"]["WorkingDir"] == "/srv"
    assert document["config"]["Healthcheck"] == {"Test": ["CMD", "true"], "Interval": 30_000_000_000, "Retries": 3}
    assert document["history"][1] == {"created_by": "ENV A=1", "empty_layer": True}


def test_encoding_is_canonical_sorted_compact_and_escaped_like_go():
    text = encode(CONFIG).decode()
    assert '"A=\\u003c\\u0026\\u003e"' in text
    assert text.index('"architecture"') < text.index('"author"') < text.index('"config"') < text.index('"os"')
    assert '":' in text and '": ' not in text and '", ' not in text and "\n" not in text


def test_the_same_value_always_encodes_to_the_same_digest():
    rebuilt = ImageConfig.from_json(json.loads(json.dumps(CONFIG.to_json(), sort_keys=False, indent=4)))
    assert Digest.of_bytes(encode(rebuilt)) == Digest.of_bytes(encode(CONFIG))


def test_empty_and_false_fields_are_omitted_but_required_lists_are_kept():
    config = ImageConfig(architecture="arm64", os="linux", rootfs=RootFS(()), history=(HistoryEntry(),))
    assert json.loads(encode(config)) == {
        "architecture": "arm64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}, "history": [{}],
    }
    manifest = Manifest(Descriptor(oci.OCI_CONFIG, DIGEST, 0))
    assert json.loads(encode(manifest))["layers"] == []
    assert json.loads(encode(manifest))["config"]["size"] == 0


def test_manifest_round_trips_and_defaults_to_oci_media_type():
    manifest = Manifest(
        Descriptor(oci.OCI_CONFIG, DIGEST, 7),
        (Descriptor(oci.OCI_LAYER_ZSTD, DIGEST, 9, annotations={"k": "v"}),),
        annotations={"org.opencontainers.image.created": "now"},
    )
    document = json.loads(encode(manifest))
    assert document["schemaVersion"] == 2
    assert document["mediaType"] == oci.OCI_MANIFEST
    assert document["layers"][0]["mediaType"] == oci.OCI_LAYER_ZSTD
    assert decode(Manifest, encode(manifest), "manifest") == manifest


def test_docker_schema2_manifests_are_read():
    document = {
        "schemaVersion": 2,
        "mediaType": oci.DOCKER_MANIFEST,
        "config": {"mediaType": oci.DOCKER_CONFIG, "digest": DIGEST, "size": 1},
        "layers": [{"mediaType": oci.DOCKER_LAYER_GZIP, "digest": DIGEST, "size": 2}],
    }
    manifest = Manifest.from_json(document)
    assert manifest.layers[0].media_type == oci.DOCKER_LAYER_GZIP


def test_index_with_platforms_round_trips():
    index = Index((Descriptor(oci.OCI_MANIFEST, DIGEST, 3, platform=Platform("arm", "linux", variant="v7")),))
    document = json.loads(encode(index))
    assert document["manifests"][0]["platform"] == {"architecture": "arm", "os": "linux", "variant": "v7"}
    assert decode(Index, encode(index), "index") == index


def test_platform_uses_dotted_os_fields():
    platform = Platform("amd64", "windows", os_version="10.0", os_features=("win32k",))
    assert platform.to_json() == {"architecture": "amd64", "os": "windows", "os.version": "10.0", "os.features": ["win32k"]}


def test_unknown_properties_are_ignored():
    document = {**CONFIG.to_json(), "container_config": {"Hostname": "x"}, "docker_version": "24"}
    assert ImageConfig.from_json(document) == CONFIG


def test_null_optional_fields_read_as_absent():
    document = {**CONFIG.to_json(), "config": {"Cmd": None, "Env": None}}
    assert ImageConfig.from_json(document).config == ContainerConfig()


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[" * 100_000, "not valid JSON"),
        (b"[]", "expected a JSON object"),
        (b'{"os": "linux", "rootfs": {"diff_ids": []}}', "missing 'architecture'"),
        (b'{"architecture": 1, "os": "linux", "rootfs": {}}', "architecture: expected a string"),
        (b'{"architecture": "a", "os": "l", "rootfs": {"type": "layers", "diff_ids": "x"}}', "diff_ids: expected a list"),
        (b'{"architecture": "a", "os": "l", "rootfs": {"type": "layers", "diff_ids": ["md5:1"]}}', r"diff_ids\[0\]: invalid digest"),
        (b'{"architecture": "a", "os": "l", "rootfs": {"type": "zfs"}}', "rootfs.type"),
        (b'{"architecture": "a", "os": "l", "rootfs": {}, "config": {"Env": [1]}}', r"Env\[0\]: expected a string"),
        (b'{"architecture": "a", "os": "l", "rootfs": {}, "config": {"ExposedPorts": ["80"]}}', "ExposedPorts: expected an object"),
        (b'{"architecture": "a", "os": "l", "rootfs": {}, "history": [{"empty_layer": "yes"}]}', "empty_layer: expected true or false"),
        (b'{"architecture": "a", "os": "l", "rootfs": {}, "config": {"Healthcheck": {"Retries": true}}}', "Retries: expected an integer"),
    ],
)
def test_malformed_configs_are_invalid_input_naming_the_field(data, message):
    with pytest.raises(InvalidInputError, match=message):
        decode(ImageConfig, data, "image config")


@pytest.mark.parametrize(
    "change, message",
    [
        ({"schemaVersion": 1}, "unsupported schemaVersion"),
        ({"mediaType": oci.OCI_INDEX}, "unexpected mediaType"),
        ({"config": {"mediaType": "application/x-artifact", "digest": DIGEST, "size": 1}}, "not an image"),
        ({"layers": [{"mediaType": "application/x-squashfs", "digest": DIGEST, "size": 1}]}, "unsupported layer media type"),
        ({"layers": [{"mediaType": oci.OCI_LAYER, "digest": DIGEST, "size": -1}]}, "negative size"),
        ({"layers": [{"mediaType": oci.OCI_LAYER, "digest": DIGEST}]}, "missing 'size'"),
    ],
)
def test_manifests_that_are_not_images_are_refused(change, message):
    document = {"schemaVersion": 2, "config": {"mediaType": oci.OCI_CONFIG, "digest": DIGEST, "size": 1}, **change}
    with pytest.raises(InvalidInputError, match=message):
        Manifest.from_json(document)


def test_with_layer_appends_a_diff_id_and_a_history_entry():
    diff_id = DiffID.of_bytes(b"more")
    grown = CONFIG.with_layer(diff_id, HistoryEntry(created_by="RUN make"))
    assert grown.rootfs.diff_ids == (*CONFIG.rootfs.diff_ids, diff_id)
    assert grown.history[-1].created_by == "RUN make"


_KEYS = ["architecture", "os", "rootfs", "config", "history", "layers", "manifests", "schemaVersion", "mediaType",
         "diff_ids", "type", "Env", "ExposedPorts", "Healthcheck", "digest", "size", "platform", "empty_layer", "x"]
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5)
    | st.just(str(DIGEST)),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(_KEYS), children, max_size=4),
    max_leaves=15,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(_KEYS), _JSON, max_size=6))
def test_any_json_object_either_parses_or_is_invalid_input(document):
    for model in (ImageConfig, Manifest, Index, Descriptor):
        try:
            model.from_json(document)
        except InvalidInputError:
            pass


def test_the_image_model_and_store_import_neither_typing_nor_dataclasses():
    code = "import sys, dockpy.image.oci, dockpy.image.store\nprint('typing' in sys.modules, 'dataclasses' in sys.modules)\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False False"
