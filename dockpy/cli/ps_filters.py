"""``dockpy ps -f KEY=VALUE``: which containers a listing keeps, with Docker's keys and matching.

| key | keeps a container ... |
|---|---|
| ``id``, ``name`` | whose id or name equals the value or matches it as a regular expression (``web``, ``^web$``; a name also as ``/NAME``, as Docker stores it) |
| ``label`` | with that label (``KEY``) or label value (``KEY=VALUE``); every label filter must hold |
| ``status`` | in that state: ``created``, ``running``, ``exited`` (Docker's ``restarting``, ``removing``, ``paused``, ``dead`` are accepted and match none) |
| ``exited`` | that ran and exited with that code |
| ``ancestor`` | made from the image a reference names now (name, ``name:tag``, id prefix, digest), or from an image built on it |
| ``before``, ``since`` | made before or after the container named |
| ``isolation`` | run with that isolation (``namespace``, ``kvm``; ``default`` is ``namespace``) |
| ``volume`` | with a ``-v`` mount whose source or destination is the value |
| ``network`` | on the network (``none``, ``host``) the value equals or matches as a regular expression |
| ``publish``, ``expose`` | publishing (running) or exposing a container port: ``80``, ``80/udp``, ``8000-8080/tcp`` |

Each key is tested by a function of the record built once per listing (a
name is looked up once, not once per row); only the keys given read more
than the record (config.json for labels, isolation, volumes, network and
ports; ports.json for published ports).
"""

from __future__ import annotations

from collections.abc import Callable

from dockpy.cli.filters import image_config_document, invalid_value, matches_labels, matches_pattern, parse_filters
from dockpy.errors import InvalidReferenceError, NotFoundError
from dockpy.runtime.containers import EXITED

# Docker's container states; dockpy's containers are only ever created, running or exited.
STATES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")
ISOLATIONS = {"default": "namespace", "namespace": "namespace", "kvm": "kvm"}

Test = Callable[[object], bool]


def container_filter(store, texts: list[str]) -> tuple[Test, bool]:
    """The test ``ps -f`` flags make of a ``ContainerStore``'s records, and whether they list stopped
    containers without ``-a`` (a ``status`` filter does, as in Docker)."""
    filters = parse_filters(texts, FILTER_TESTS)
    tests = [FILTER_TESTS[key](store, values) for key, values in filters.items()]
    return (lambda record: all(test(record) for test in tests)), "status" in filters


def by_id(store, values: list[str]) -> Test:
    return lambda record: any(matches_pattern(value, record.id) for value in values)


def by_name(store, values: list[str]) -> Test:
    return lambda record: any(
        matches_pattern(value, record.name) or matches_pattern(value, "/" + record.name) for value in values
    )


def by_label(store, values: list[str]) -> Test:
    return lambda record: matches_labels(values, store.labels_of(record))


def by_status(store, values: list[str]) -> Test:
    for value in values:
        if value not in STATES:
            raise invalid_value("status", value)
    return lambda record: record.state in values


def by_exit_code(store, values: list[str]) -> Test:
    codes = {_exit_code(value) for value in values}
    return lambda record: record.state == EXITED and record.started is not None and record.exit_code in codes


def _exit_code(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise invalid_value("exited", value) from None


def by_ancestor(store, values: list[str]) -> Test:
    """Containers of the images the references name now, or of images built on one of them: those whose
    layers start with all of its layers, as Docker's containerd image store finds an image's children.

    Each reference is resolved once; one that names no image matches nothing (Docker only logs a warning).
    """
    image_ids = {_image_id(store, value) for value in values} - {None}
    layers: dict[str, tuple] = {}

    def layers_of(image_id: str) -> tuple:
        if image_id not in layers:
            layers[image_id] = tuple(image_config_document(store.root, image_id)["rootfs"]["diff_ids"])
        return layers[image_id]

    def descends(record) -> bool:
        if record.image_id in image_ids:
            return True
        if not record.image_id:  # run --rootfs
            return False
        return any(_starts_with(layers_of(record.image_id), layers_of(image_id)) for image_id in image_ids)

    return descends


def _starts_with(layers: tuple, base: tuple) -> bool:
    """Whether ``layers`` are ``base``'s and maybe more (an image without layers is nobody's base)."""
    return bool(base) and layers[: len(base)] == base


def _image_id(store, reference: str) -> str | None:
    from dockpy.image import catalog
    from dockpy.image.lookup import find_manifest

    connection = catalog.ensure_catalog(store.database)
    try:
        return catalog.image_row(connection, find_manifest(connection, reference)).image_id
    except (NotFoundError, InvalidReferenceError):
        return None


def created_before(store, values: list[str]) -> Test:
    times = [store.get(value).created for value in values]
    return lambda record: all(record.created < time for time in times)


def created_since(store, values: list[str]) -> Test:
    times = [store.get(value).created for value in values]
    return lambda record: all(record.created > time for time in times)


def by_isolation(store, values: list[str]) -> Test:
    for value in values:
        if value not in ISOLATIONS:
            raise invalid_value("isolation", value)
    wanted = {ISOLATIONS[value] for value in values}
    return lambda record: store.config_of(record).get("isolation", "namespace") in wanted


def by_volume(store, values: list[str]) -> Test:
    from dockpy.runtime.inspection import user_volumes

    def mounts_one(record) -> bool:
        volumes = user_volumes(store.spec_of(record), store.paths(record.id))
        return any(value in (volume.source, volume.destination) for volume in volumes for value in values)

    return mounts_one


def by_network(store, values: list[str]) -> Test:
    return lambda record: any(matches_pattern(value, store.spec_of(record).network) for value in values)


def by_published_port(store, values: list[str]) -> Test:
    """A running container publishing one of the container ports (Docker keys a container's ports so)."""
    wanted = port_keys("publish", values)
    return lambda record: any(binding.key in wanted for binding in store.published_ports(record))


def by_exposed_port(store, values: list[str]) -> Test:
    """A container exposing one of the ports: its image's ExposedPorts, and the ports ``-p`` publishes, as in Docker."""
    from dockpy.runtime.ports import bindings_from_json

    wanted = port_keys("expose", values)

    def exposes_one(record) -> bool:
        config = store.config_of(record)
        published = {binding.key for binding in bindings_from_json(config.get("ports") or [])}
        return not wanted.isdisjoint(published.union(config["image_config"].get("ExposedPorts") or {}))

    return exposes_one


def port_keys(key: str, values: list[str]) -> set[str]:
    """``80``, ``80/udp``, ``8000-8080/tcp`` -> Docker's names of those ports: ``80/tcp``..."""
    from dockpy.image.exposed_ports import exposed_port_keys

    keys = set()
    for value in values:
        try:
            keys.update(exposed_port_keys(value))
        except ValueError:
            raise invalid_value(key, value) from None
    return keys


# Each key Docker's ps takes that dockpy supports, with the function making its test.
FILTER_TESTS: dict[str, Callable[[object, list[str]], Test]] = {
    "id": by_id, "name": by_name, "label": by_label, "status": by_status, "exited": by_exit_code,
    "ancestor": by_ancestor, "before": created_before, "since": created_since, "isolation": by_isolation,
    "volume": by_volume, "network": by_network, "publish": by_published_port, "expose": by_exposed_port,
}
