"""What pull and push share: where an image lives, how progress is told, parallel transfers.

Kept free of the image model (no ``oci``, no ``dataclasses``) and of
``threading`` until blobs move: a push of an image the registry already has
is a few small requests, and the command costs mostly its imports.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterable

from dockpy.errors import InvalidInputError
from dockpy.image.reference import DEFAULT_DOMAIN, parse_name_reference

# Parallel blob transfers; more gains little on one link and costs memory on small CI machines.
PARALLEL_TRANSFERS = 4
# Docker Hub's API host; other registries are addressed by their own name.
DOCKER_HUB_ENDPOINT = "registry-1.docker.io"


class TransferProgress:
    """What a transfer reports, one blob at a time; the CLI renders it as bars or lines. This one tells nobody."""

    def started(self, digest, size: int) -> None:
        pass

    def advanced(self, digest, count: int) -> None:
        """``count`` more bytes moved; negative when a retried transfer starts over."""

    def finished(self, digest, outcome: str) -> None:
        pass


class RemoteImage(namedtuple("RemoteImage", "registry repository reference local_name")):
    """Where an image lives: ``registry`` (host[:port]), ``repository`` in it, and a tag or digest.

    ``local_name`` is the reference as parsed, the name the image has in the store.
    """

    __slots__ = ()

    @classmethod
    def parse(cls, text: str) -> "RemoteImage":
        parsed = parse_name_reference(text)
        if parsed.revision is not None:
            raise InvalidInputError(f"{text}: a registry has no revisions; push or pull a tag or a digest")
        domain, _, repository = parsed.repository.partition("/")
        registry = DOCKER_HUB_ENDPOINT if domain == DEFAULT_DOMAIN else domain
        return cls(registry, repository, str(parsed.digest or parsed.tag_or_default), parsed)

    @property
    def by_digest(self) -> bool:
        return self.reference.startswith("sha256:")


def in_parallel(work: Callable, items: Iterable, *, meanwhile: Callable[[], None] | None = None) -> None:
    """Run ``work`` on every item, a few at a time, in the order given, and ``meanwhile()`` on this
    thread while they run; the first failure is raised after all finish.

    ``meanwhile`` is for work that would otherwise wait for the transfers
    (a push records where its blobs go while the registry takes them).
    Plain threads, not ``concurrent.futures``: that import (and its logging)
    costs more than a push of existing blobs takes otherwise.
    """
    import threading

    pending = list(items)
    failures: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                if not pending:
                    return
                item = pending.pop(0)
            try:
                work(item)
            except BaseException as error:  # noqa: BLE001 - handed to the caller below
                failures.append(error)

    threads = [threading.Thread(target=worker, name="transfer") for _ in range(min(PARALLEL_TRANSFERS, len(pending)))]
    for thread in threads:
        thread.start()
    try:
        if meanwhile is not None:
            meanwhile()
    finally:
        for thread in threads:
            thread.join()
    if failures:
        raise failures[0]
