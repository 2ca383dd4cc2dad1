"""COPY and ADD: what they read, where it lands, and the copy itself.

Docker's placement rules, applied per source:

- a directory source copies its *contents* into the destination directory;
- a file source lands *at* the destination, or *inside* it when the
  destination ends with ``/``, is an existing directory in the image, or
  there are several sources (then the ``/`` is required);
- a relative destination is relative to WORKDIR; missing parents are made;
- ``--parents`` keeps each source's path (from the context root) below the
  destination; ``--exclude`` leaves paths out; heredoc sources
  (``COPY <<EOF /file``) are files made of the heredoc's text;
- ADD also fetches URLs (verified by ``--checksum``) and unpacks local tar
  archives (plain, gzip, bzip2, xz, zstd) into the destination, through the
  layer applier's checks (no ``..``, no links out, no writes through symlinks).

``resolve_sources`` runs before the cache lookup (its digest is part of the
key); ``perform_copy`` runs only on a miss, inside the mounted step rootfs.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass, field

from dockpy.build.config_steps import Expander
from dockpy.build.context import BuildContext, ContextSource, SourceEntry, digest_sources
from dockpy.build.filecopy import Ownership, copy_entries, make_directories, make_parents, write_file
from dockpy.build.hashing import FileDigestCache
from dockpy.build.instructions import CopyLike
from dockpy.build.owners import chown_ids
from dockpy.build.remote import DOWNLOAD_MODE, Download, fetch, is_url
from dockpy.build.rootpath import clean_absolute, resolve_in_root
from dockpy.build.state import StageState
from dockpy.dockerfile.expand import ShellLexer
from dockpy.errors import ExpansionError
from dockpy.layers.compression import open_tar_stream
from dockpy.layers.tarapply import apply_layer

HEREDOC_FILE_MODE = 0o644
_ARCHIVE_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd")
_TAR_MAGIC_OFFSET = 257


@dataclass(frozen=True)
class CopySpec:
    """A COPY or ADD after expansion; ``destination`` is absolute, ``written_destination`` as expanded."""

    command: CopyLike
    sources: tuple[str, ...]
    destination: str
    written_destination: str
    into_directory: bool
    chown: str | None
    chmod: int | None
    from_: str | None
    excludes: tuple[str, ...]

    @property
    def is_add(self) -> bool:
        return self.command.keyword == "ADD"


@dataclass(frozen=True)
class TreeItem:
    """A file or directory read from the context or from another image's rootfs."""

    source: ContextSource
    entries: list[SourceEntry]


@dataclass(frozen=True)
class FileItem:
    """A file made from bytes or a download: a heredoc, or ``ADD <url>``."""

    name: str
    mode: int
    mtime_ns: int
    data: bytes | None = None
    download: Download | None = None


@dataclass
class ResolvedSources:
    items: list[TreeItem | FileItem] = field(default_factory=list)
    digest: str | None = None
    files: dict[str, str] = field(default_factory=dict)


def expand_copy(command: CopyLike, state: StageState, expander: Expander) -> CopySpec:
    scope = state.variables.expansion_scope()
    word = lambda text: expander.word(text, scope, command.source)  # noqa: E731
    sources = tuple(source if source.startswith("<<") else word(source) for source in command.sources)
    raw_destination = word(command.destination)
    into_directory = raw_destination.endswith("/") or raw_destination in (".", "") or len(sources) > 1
    if len(sources) > 1 and not raw_destination.endswith("/"):
        raise command.source.error(f"When using {command.keyword} with more than one source file, "
                                   "the destination must be a directory and end with a /")
    chmod = word(command.chmod) if command.chmod else None
    if chmod is not None and not (chmod and all(c in "01234567" for c in chmod)):
        raise command.source.error(f"invalid --chmod={chmod}: want an octal mode like 0644")
    return CopySpec(
        command, sources, clean_absolute(raw_destination, state.working_dir), raw_destination, into_directory,
        word(command.chown) if command.chown else None, int(chmod, 8) if chmod else None,
        word(command.from_) if command.from_ else None, command.excludes,
    )


def resolve_sources(spec: CopySpec, context: BuildContext, digests: FileDigestCache | None,
                    scratch_dir: str, scope: dict[str, str], escape: str) -> ResolvedSources:
    """Match the sources and, for the build context, digest them (``digests`` None: no digest)."""
    resolved = ResolvedSources()
    heredocs = iter(spec.command.heredocs)
    trees: list[tuple[ContextSource, list[SourceEntry]]] = []
    for source in spec.sources:
        if source.startswith("<<"):
            resolved.items.append(_heredoc_item(next(heredocs), scope, escape, spec))
        elif is_url(source) and spec.is_add:
            where = spec.command.source
            download = fetch(source, scratch_dir, spec.command.checksum, f"{where.filename}:{where.start_line}")
            mtime_ns = int(download.mtime * 1e9)
            resolved.items.append(FileItem(download.filename, DOWNLOAD_MODE, mtime_ns, download=download))
        else:
            for match in context.resolve(source, spec.command.source):
                entries = context.walk(match, spec.excludes)
                trees.append((match, entries))
                resolved.items.append(TreeItem(match, entries))
    if digests is not None:
        resolved.digest, resolved.files = digest_sources(trees, digests)
        extra = [f"{item.name}:{_item_digest(item)}" for item in resolved.items if isinstance(item, FileItem)]
        if extra:
            resolved.digest += "+" + ",".join(extra)
    return resolved


def _heredoc_item(heredoc, scope: dict[str, str], escape: str, spec: CopySpec) -> FileItem:
    content = heredoc.content
    if heredoc.chomp:
        content = "".join(line.lstrip("\t") for line in content.splitlines(keepends=True))
    if heredoc.expand:
        try:
            content = ShellLexer(escape, skip_quotes=True).expand_word(content, scope)
        except ExpansionError as error:
            raise spec.command.source.error(error.message) from None
    return FileItem(heredoc.name, HEREDOC_FILE_MODE, 0, data=content.encode("utf-8", "surrogateescape"))


def _item_digest(item: FileItem) -> str:
    if item.download is not None:
        return item.download.digest
    return hashlib.sha256(item.data or b"").hexdigest()


def perform_copy(spec: CopySpec, items: Sequence[TreeItem | FileItem], rootfs: str) -> None:
    """Copy ``items`` into the mounted step rootfs ``rootfs``."""
    uid, gid = chown_ids(spec.chown, rootfs) if spec.chown else (0, 0)
    ownership = Ownership(uid, gid, spec.chmod)
    for item in items:
        if isinstance(item, FileItem):
            _copy_file_item(spec, item, rootfs, ownership)
        elif item.source.is_dir:
            target = _parents_target(spec, item.source) if spec.command.parents else spec.destination
            make_directories(rootfs, target, ownership)
            copy_entries(item.entries, rootfs, target, ownership)
        elif spec.is_add and _is_archive(item.source.path):
            _extract_archive(item.source.path, make_directories(rootfs, spec.destination, ownership))
        else:
            target = _file_target(spec, posixpath.basename(item.source.relative), rootfs, item.source)
            make_parents(rootfs, target, ownership)
            copy_entries(item.entries, rootfs, target, ownership)


def _copy_file_item(spec: CopySpec, item: FileItem, rootfs: str, ownership: Ownership) -> None:
    target = _file_target(spec, item.name, rootfs, None)
    make_parents(rootfs, target, ownership)
    host_path = resolve_in_root(rootfs, target, follow_last=False)
    if item.download is not None:
        with open(item.download.path, "rb") as downloaded:
            data = downloaded.read()
    else:
        data = item.data or b""
    write_file(host_path, data, item.mode, ownership, item.mtime_ns)


def _file_target(spec: CopySpec, name: str, rootfs: str, source: ContextSource | None) -> str:
    if spec.command.parents and source is not None:
        return _parents_target(spec, source)
    if spec.into_directory or os.path.isdir(resolve_in_root(rootfs, spec.destination)):
        return posixpath.join(spec.destination, name)
    return spec.destination


def _parents_target(spec: CopySpec, source: ContextSource) -> str:
    relative = "" if source.relative == "." else source.relative
    return posixpath.normpath(posixpath.join(spec.destination, relative))


def _is_archive(path: str) -> bool:
    with open(path, "rb") as file:
        head = file.read(_TAR_MAGIC_OFFSET + 8)
    if any(head.startswith(magic) for magic in _ARCHIVE_MAGIC):
        return True
    return head[_TAR_MAGIC_OFFSET:_TAR_MAGIC_OFFSET + 5] == b"ustar"


def _extract_archive(path: str, directory: str) -> None:
    """Unpack a local archive with the layer applier's safety checks (whiteouts delete, as a plain tree)."""
    with open(path, "rb") as raw:
        head = raw.read(6)
        raw.seek(0)
        if head.startswith(b"BZh"):
            import bz2  # here: only ADD of such an archive needs it

            stream = bz2.BZ2File(raw)
        elif head.startswith(b"\xfd7zXZ\x00"):
            import lzma

            stream = lzma.LZMAFile(raw)
        else:
            stream = open_tar_stream(raw)
        try:
            apply_layer(stream, directory, whiteout_mode="delete")
        finally:
            stream.close()
