"""Tags and their revision histories: the part of the image store that lives in the database.

A *tag* is ``NAME:TAG``. It has a *history* of *revisions* numbered 1, 2,
3 ... and points at the newest one. ``tag``, ``rollback``, ``import`` and the
builder append a revision; nothing rewrites one, so every earlier image stays
reachable (and safe from gc) until the tag itself is removed. A rollback is a
revision like any other: rolling back twice returns to where you started.

``Refs`` needs only the catalog, never a blob, so ``dockpy images`` and
``dockpy log`` start without loading the JSON model or the content store;
``store.ImageStore`` extends it with images' blobs.
"""

from __future__ import annotations

import os
import pwd
from collections import namedtuple

from dockpy.errors import ConflictError, InvalidReferenceError, NotFoundError
from dockpy.image import catalog
from dockpy.image.catalog import Revision
from dockpy.image.layer_history import LayerHistory, decode_history
from dockpy.image.lease import write_lease
from dockpy.image.lookup import find_manifest
from dockpy.image.reference import (
    ImageReference, familiar_name, parse_name_reference, parse_reference, parse_tag_reference,
)
from dockpy.image.timestamps import format_timestamp
from dockpy.layers.digests import Digest
from dockpy.root import StorageRoot

AUTHOR_ENV = "DOCKPY_AUTHOR"


_ImageSummaryFields = namedtuple(
    "ImageSummary", "repository tag revision image_id manifest_digest created size"
)


class ImageSummary(_ImageSummaryFields):
    """One line of ``dockpy images``: a tag's current image, or an untagged image (no repository)."""

    __slots__ = ()

    def to_json(self) -> dict:
        return {
            "Repository": self.repository, "Tag": self.tag, "Revision": self.revision, "Id": self.image_id,
            "Digest": self.manifest_digest,
            "Created": format_timestamp(self.created) if self.created is not None else None, "Size": self.size,
        }


class Removal(namedtuple("Removal", "untagged manifests")):
    """What ``remove_image`` did: the tags it removed, and the manifests that may now be garbage."""

    __slots__ = ()


def default_author() -> str:
    """``$DOCKPY_AUTHOR``, else the login name, recorded on every revision."""
    configured = os.environ.get(AUTHOR_ENV)
    if configured:
        return configured
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return f"uid {os.getuid()}"


class Refs:
    """The tags, revisions and recorded images of one storage root."""

    def __init__(self, root: StorageRoot | None = None, database=None):
        """``database``: the caller's open connection to the root's database, used and left open (``commit``
        shares the container store's: one connection fewer, and one directory sync fewer at its end)."""
        self.root = root or StorageRoot.default()
        self._database = database
        self._connection = None

    @property
    def db(self):
        if self._connection is None:
            self._connection = (catalog.ensure_catalog(self._database) if self._database is not None
                                else catalog.open_catalog(self.root))
        return self._connection

    def close(self) -> None:
        if self._connection is not None and self._connection is not self._database:
            self._connection.close()
        self._connection = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def writing(self):
        """Context manager: hold while creating blobs a later call will reference (see ``lease``)."""
        return write_lease(self.root)

    def find(self, reference: str) -> Digest:
        """The manifest digest a reference names, from the catalog alone (see ``lookup``)."""
        return find_manifest(self.db, reference)

    def history(self, reference: str) -> list[LayerHistory]:
        """``docker history``'s rows for the image ``reference`` names, newest first, from the catalog."""
        row = catalog.image_row(self.db, self.find(reference))
        return decode_history(row.layer_history, row.image_id)

    def images(self, reference: str | None = None, *, earlier_revisions: bool = False) -> list[ImageSummary]:
        """Every tag's current image, then images no revision names (``<none>``).

        ``earlier_revisions`` adds, also as ``<none>``, the images only tags'
        earlier revisions name (``images -a``). ``reference`` (``NAME`` or
        ``NAME:TAG``) keeps only that repository or tag, as ``docker images NAME``.
        """
        wanted = None if reference is None else parse_name_reference(reference)
        with catalog.read_snapshot(self.db, "list images"):
            tagged = [_summary_of_current(row) for row in catalog.current_revisions(self.db)]
            if wanted is not None:  # a name lists tags only: no untagged image is looked for
                return [s for s in tagged if s.repository == wanted.familiar_name and wanted.tag in (None, s.tag)]
            untagged = catalog.images_in_no_revision(self.db)
            if earlier_revisions:
                untagged += catalog.images_only_in_earlier_revisions(self.db)
        return tagged + [_summary_of_untagged(row) for row in untagged]

    def tags_of(self, image_id: Digest) -> list[str]:
        """The tags whose current revision is ``image_id``, as ``NAME:TAG``."""
        return [r.name_tag for r in catalog.current_tags_of_image(self.db, image_id)]

    # -- tag histories --------------------------------------------------------------------------

    def add_revision(self, name_tag: str, image, *, operation: str, author: str | None = None,
                     message: str = "") -> Revision:
        """Point ``NAME[:TAG]`` at ``image`` as its next revision.

        If the tag already points at that manifest nothing is added and the
        current revision is returned, so re-tagging is idempotent.
        """
        target = parse_tag_reference(name_tag)
        manifest_digest = Digest(getattr(image, "manifest_digest", image))  # an ``Image`` or a manifest digest
        with self.writing(), catalog.write_transaction(self.db, f"tag {target.name_tag}"):
            if catalog.image_row(self.db, manifest_digest) is None:
                raise NotFoundError(f"no such image: manifest {manifest_digest}")
            return self._append_revision(target, manifest_digest, operation, author, message)

    def _append_revision(self, target: ImageReference, manifest_digest: Digest, operation: str,
                         author: str | None, message: str) -> Revision:
        current = catalog.revision(self.db, target.repository, target.tag, None)
        if current is not None and current.manifest_digest == manifest_digest:
            return current
        number = catalog.insert_revision(self.db, target.repository, target.tag, manifest_digest,
                                         author or default_author(), message, operation)
        return catalog.revision(self.db, target.repository, target.tag, number)

    def log(self, name_tag: str) -> list[Revision]:
        """The tag's revisions, newest first; raises ``NotFoundError`` for an unknown tag."""
        target = parse_tag_reference(name_tag)
        history = catalog.revisions_of(self.db, target.repository, target.tag)
        if not history:
            raise NotFoundError(f"no such tag: {target.name_tag}")
        return history

    def rollback(self, name_tag: str, to: int | None = None, *, author: str | None = None,
                 message: str = "") -> Revision:
        """Point the tag again at revision ``to`` (default: the one before the current), as a new revision.

        Rolling back twice with the default undoes the first rollback.
        Returns the current revision unchanged if it already has that image.
        """
        target = parse_tag_reference(name_tag)
        with self.writing(), catalog.write_transaction(self.db, f"roll back {target.name_tag}"):
            current = catalog.revision(self.db, target.repository, target.tag, None)
            if current is None:
                raise NotFoundError(f"no such tag: {target.name_tag}")
            number = current.number - 1 if to is None else to
            if number < 1:
                raise NotFoundError(f"{target.name_tag} has only one revision: there is nothing to roll back to")
            chosen = catalog.revision(self.db, target.repository, target.tag, number)
            if chosen is None:
                raise NotFoundError(f"{target.name_tag} has no revision {number} (revisions 1 to {current.number})")
            return self._append_revision(target, chosen.manifest_digest, "rollback", author,
                                         message or f"rollback to revision {number}")

    def tag(self, source: str, target: str, *, author: str | None = None, message: str = "") -> Revision:
        """Make ``target`` (``NAME[:TAG]``) point at the image ``source`` names, as a new revision."""
        with self.writing():
            manifest_digest = self.find(source)
            return self.add_revision(target, manifest_digest, operation="tag", author=author,
                                     message=message or f"tag {source}")

    def untag(self, name_tag: str) -> set[Digest]:
        """Remove ``NAME[:TAG]`` with its whole history; returns the manifests its revisions named."""
        target = parse_tag_reference(name_tag)
        with catalog.write_transaction(self.db, f"untag {target.name_tag}"):
            manifests = catalog.delete_tag(self.db, target.repository, target.tag)
        if not manifests:
            raise NotFoundError(f"no such tag: {target.name_tag}")
        return manifests

    def remove_image(self, reference: str, *, force: bool = False) -> Removal:
        """``rmi``: untag a tag, or every tag currently on an image; see docs/images.md for the rules.

        Only catalog rows change here; ``gc.collect_garbage(only_images=removal.manifests)``
        then deletes what nothing else reaches.
        """
        parsed = parse_reference(reference)
        if isinstance(parsed, ImageReference) and parsed.revision is not None:
            raise InvalidReferenceError(
                f"cannot remove one revision ({reference}); revisions are history",
                hint=f"'dockpy rmi {parsed.name_tag}' removes the tag with its history",
            )
        with catalog.write_transaction(self.db, f"remove {reference}"):
            if isinstance(parsed, ImageReference) and parsed.digest is None:
                current = catalog.revision(self.db, parsed.repository, parsed.tag_or_default, None)
                if current is not None:
                    return self._remove_tag(current, force)
            return self._remove_by_id(self.find(reference), reference, force)

    def _remove_tag(self, current: Revision, force: bool) -> Removal:
        others = [r for r in catalog.current_tags_of_image(self.db, current.image_id) if r != current]
        if not others and not force:
            _refuse_if_held(self.db, current.image_id, current.name_tag)
        manifests = catalog.delete_tag(self.db, current.repository, current.tag)
        return Removal((current.name_tag,), frozenset(manifests))

    def _remove_by_id(self, manifest_digest: Digest, reference: str, force: bool) -> Removal:
        image_id = catalog.image_row(self.db, manifest_digest).image_id
        tags = catalog.current_tags_of_image(self.db, image_id)
        if not force:
            if len(tags) > 1:
                names = ", ".join(r.name_tag for r in tags)
                raise ConflictError(f"image {image_id.short} is tagged {names}", hint="remove one tag, or use -f for all")
            _refuse_if_held(self.db, image_id, reference)
        if not tags:
            return Removal((), self._untagged_manifests(image_id))
        manifests = set().union(*(catalog.delete_tag(self.db, r.repository, r.tag) for r in tags))
        return Removal(tuple(r.name_tag for r in tags), frozenset(manifests))

    def _untagged_manifests(self, image_id: Digest) -> frozenset[Digest]:
        """An image no tag points at now: garbage for ``rmi``, unless a tag's history keeps it."""
        keepers = catalog.tags_with_image_in_history(self.db, image_id)
        if keepers:
            raise ConflictError(f"image {image_id.short} is in the history of {', '.join(keepers)}",
                                hint="history is kept until its tag is removed ('dockpy rmi NAME:TAG')")
        return frozenset(catalog.manifests_of_image(self.db, image_id))

    # -- holds from other packages (containers, build cache) -------------------------------------

    def hold(self, holder: str, *, image_id: Digest | None = None, blob: Digest | None = None) -> None:
        """Keep an image (by id) or a blob alive for ``holder`` (``container:<id>``, ``cache:<key>``)."""
        kind, target = ("image", image_id) if image_id is not None else ("blob", blob)
        with self.writing(), catalog.write_transaction(self.db, f"hold {target} for {holder}"):
            catalog.add_root(self.db, holder, kind, Digest(target))

    def release(self, holder: str) -> None:
        with catalog.write_transaction(self.db, f"release {holder}"):
            catalog.remove_roots(self.db, holder)


def _refuse_if_held(db, image_id: Digest, what: str) -> None:
    holders = [h for h in catalog.holders_of_image(db, image_id) if h.startswith("container:")]
    if holders:
        raise ConflictError(
            f"unable to remove {what}: {holders[0].removeprefix('container:')} is using its image {image_id.short}",
            hint="remove the container first, or use -f",
        )


def _summary_of_untagged(row: catalog.ImageRow) -> ImageSummary:
    return ImageSummary(None, None, None, row.image_id, row.manifest_digest, row.created, row.size)


def _summary_of_current(row) -> ImageSummary:
    return ImageSummary(familiar_name(row["repository"]), row["tag"], row["number"], Digest(row["image_id"]),
                        Digest(row["manifest_digest"]), row["created"], row["size"])
