"""The build context: the directory COPY and ADD read from, as the build may see it.

- ``.dockerignore`` (or ``<Dockerfile>.dockerignore`` beside the Dockerfile,
  which wins, as in BuildKit) hides paths: a hidden path does not exist for
  the build.
- A source is a path relative to the context root (a leading ``/`` means the
  root too). ``*``, ``?`` and ``[...]`` match one path component, as Go's
  ``filepath.Match``; a pattern matching nothing is an error.
- Nothing outside the context is reachable: ``..`` that climbs out is
  refused, and so is a symlink (in the middle of a source path or as the
  source itself) that resolves outside. Symlinks inside a copied directory
  are copied as symlinks.
- ``digest_sources`` hashes the content and metadata of everything a COPY
  reads (never the mtimes), for the cache key; it re-hashes only files whose
  identity changed (``hashing.FileDigestCache``).
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import posixpath
import re
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from dockpy.build.hashing import FileDigestCache
from dockpy.build.instructions import Source
from dockpy.build.rootpath import resolve_in_root
from dockpy.dockerfile.dockerignore import IgnoreRules
from dockpy.errors import InvalidInputError, NotFoundError

_WILDCARD = re.compile(r"[*?\[]")
MAX_SYMLINK_HOPS = 40  # what Linux allows in one path lookup


@dataclass(frozen=True)
class ContextSource:
    """One matched source: ``relative`` to the context root (``.`` for the root), ``path`` on the host."""

    relative: str
    path: str
    is_dir: bool


@dataclass(frozen=True)
class SourceEntry:
    """One entry a COPY of a source reads: ``relative`` to the source (``""`` for the source itself)."""

    relative: str
    path: str
    st: os.stat_result


class BuildContext:
    """A context directory with its ignore rules."""

    def __init__(self, root: str | Path, ignore: IgnoreRules | None = None, *, image_root: bool = False):
        self.root = os.path.realpath(root)
        self.ignore = ignore or IgnoreRules()
        # An image's rootfs (COPY --from): absolute symlinks are legal there and mean "from the root".
        self.image_root = image_root

    @classmethod
    def open(cls, directory: str | Path, dockerfile: str | Path | None = None) -> "BuildContext":
        root = Path(directory)
        if not root.exists():
            raise NotFoundError(f"build context {directory} does not exist")
        if not root.is_dir():
            raise InvalidInputError(f"build context {directory} is not a directory")
        ignore_file = root / ".dockerignore"
        if dockerfile is not None and Path(f"{dockerfile}.dockerignore").is_file():
            ignore_file = Path(f"{dockerfile}.dockerignore")
        return cls(root, IgnoreRules.from_file(ignore_file))

    def resolve(self, pattern: str, source: Source) -> list[ContextSource]:
        """The sources ``pattern`` names, sorted; errors name the instruction's line."""
        cleaned = posixpath.normpath("/" + pattern).lstrip("/") or "."
        if _climbs_out(pattern):
            raise source.error(f"forbidden path outside the build context: {pattern}")
        if not _WILDCARD.search(cleaned):
            return [self._source(cleaned, pattern, source)]
        matches = sorted(self._glob(cleaned.split("/"), ""))
        if not matches:
            raise source.error(f"no source files were specified: {pattern!r} matches nothing in the build context")
        return [self._source(relative, pattern, source) for relative in matches]

    def _source(self, relative: str, pattern: str, source: Source) -> ContextSource:
        if relative != "." and self.ignore.excludes(relative):
            raise source.error(f"{pattern!r}: not found in the build context (excluded by .dockerignore)")
        path = self._resolve_inside(relative, pattern, source)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise source.error(f"{pattern!r}: not found in the build context") from None
        return ContextSource(relative, path, stat.S_ISDIR(st.st_mode))

    def _resolve_inside(self, relative: str, pattern: str, source: Source) -> str:
        """The host path of ``relative``, following symlinks as if the context root were ``/``."""
        if relative == ".":
            return self.root
        if self.image_root:
            return resolve_in_root(self.root, relative)
        resolved, pending, hops = self.root, relative.split("/"), 0
        while pending:
            part = pending.pop(0)
            if part in ("", "."):
                continue
            if part == "..":
                resolved = resolved if resolved == self.root else os.path.dirname(resolved)
                continue
            candidate = os.path.join(resolved, part)
            if not os.path.islink(candidate):
                resolved = candidate
                continue
            hops += 1
            if hops > MAX_SYMLINK_HOPS:
                raise source.error(f"{pattern!r}: too many levels of symbolic links")
            target = os.readlink(candidate)
            if target.startswith("/") or _climbs_out(posixpath.relpath(posixpath.join(
                    posixpath.dirname(os.path.relpath(candidate, self.root)), target))):
                raise source.error(f"forbidden path outside the build context: {pattern} (a symlink leads out)")
            pending = target.split("/") + pending
        return resolved

    def _glob(self, parts: list[str], prefix: str) -> Iterator[str]:
        head, rest = parts[0], parts[1:]
        directory = os.path.join(self.root, prefix) if prefix else self.root
        if _WILDCARD.search(head):
            names = [name for name in _listdir(directory) if _match_component(head, name)]
        else:
            names = [head] if os.path.lexists(os.path.join(directory, head)) else []
        for name in names:
            relative = f"{prefix}/{name}" if prefix else name
            if self.ignore.excludes(relative):
                continue
            if not rest:
                yield relative
            elif os.path.isdir(os.path.join(self.root, relative)):
                yield from self._glob(rest, relative)

    def walk(self, source: ContextSource, excludes: Sequence[str] = ()) -> list[SourceEntry]:
        """Everything a COPY of ``source`` reads, parents before children, names sorted."""
        exclude_rules = IgnoreRules.from_lines(excludes, source="--exclude") if excludes else None
        top = SourceEntry("", source.path, os.stat(source.path))
        if not source.is_dir:
            return [top]
        entries = [top]
        self._walk_directory(source, "", exclude_rules, entries)
        return entries

    def _walk_directory(self, source: ContextSource, below: str, excludes: IgnoreRules | None,
                        entries: list[SourceEntry]) -> None:
        directory = os.path.join(source.path, below) if below else source.path
        with os.scandir(directory) as scan:
            children = sorted(scan, key=lambda entry: entry.name)
        for child in children:
            relative = f"{below}/{child.name}" if below else child.name
            in_context = relative if source.relative == "." else f"{source.relative}/{relative}"
            is_dir = child.is_dir(follow_symlinks=False)
            if self._hidden(in_context, is_dir) or (excludes is not None and _excluded(excludes, relative, is_dir)):
                continue
            entries.append(SourceEntry(relative, child.path, child.stat(follow_symlinks=False)))
            if is_dir:
                self._walk_directory(source, relative, excludes, entries)

    def _hidden(self, in_context: str, is_dir: bool) -> bool:
        return self.ignore.excludes(in_context) and not (is_dir and self.ignore.may_include_below(in_context))


def digest_sources(sources: Sequence[tuple[ContextSource, list[SourceEntry]]],
                   cache: FileDigestCache) -> tuple[str, dict[str, str]]:
    """One digest of what the sources hold, and the digest of each file (for explaining misses).

    Covers each entry's path, type, permission bits, symlink target and
    content; not owners (COPY sets its own) and not times.
    """
    overall = hashlib.sha256()
    files: dict[str, str] = {}
    for source, entries in sources:
        for entry in entries:
            shown = posixpath.join(source.relative, entry.relative) if entry.relative else source.relative
            detail = _entry_detail(entry, cache)
            if stat.S_ISREG(entry.st.st_mode):
                files[shown] = detail
            overall.update(f"{shown}\0{stat.S_IFMT(entry.st.st_mode):o}\0{stat.S_IMODE(entry.st.st_mode):o}\0"
                           f"{detail}\n".encode("utf-8", "surrogateescape"))
    return "sha256:" + overall.hexdigest(), files


def _entry_detail(entry: SourceEntry, cache: FileDigestCache) -> str:
    mode = entry.st.st_mode
    if stat.S_ISREG(mode):
        return cache.digest(entry.path, entry.st)
    if stat.S_ISLNK(mode):
        return os.readlink(entry.path)
    if stat.S_ISDIR(mode):
        return ""
    raise InvalidInputError(f"{entry.path}: only files, directories and symlinks can be copied from the context")


def _excluded(rules: IgnoreRules, relative: str, is_dir: bool) -> bool:
    return rules.excludes(relative) and not (is_dir and rules.may_include_below(relative))


def _climbs_out(pattern: str) -> bool:
    depth = 0
    for part in pattern.strip("/").split("/"):
        depth += -1 if part == ".." else (0 if part in ("", ".") else 1)
        if depth < 0:
            return True
    return False


def _match_component(pattern: str, name: str) -> bool:
    # Go's filepath.Match writes a negated class [^...]; fnmatch wants [!...].
    return fnmatch.fnmatchcase(name, pattern.replace("[^", "[!"))


def _listdir(directory: str) -> list[str]:
    try:
        return sorted(os.listdir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return []
