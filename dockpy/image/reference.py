"""Image references: ``NAME[:TAG][@REV]``, ``NAME@sha256:...`` and image-id prefixes.

The name grammar is Docker's (distribution/reference): an optional registry
host with port (``localhost:5000/app``), then lowercase path components.
Names are normalized as Docker does, so ``busybox``, ``library/busybox`` and
``docker.io/library/busybox`` are one repository, stored under the full name
and shown in the familiar short form.

dockpy adds ``@N``: revision N of a tag's history (``app:latest@3``). A
digest after ``@`` (``app@sha256:...``) names a manifest. A bare hex string
may be an image-id prefix; the store tries it as a name first, as Docker does.
"""

from __future__ import annotations

import re
from collections import namedtuple

from dockpy.errors import InvalidReferenceError
from dockpy.layers.digests import Digest

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_MAX_LENGTH = 255
# Short ids below this length match too much to be useful (and look like names).
MIN_ID_PREFIX = 4

# The grammar's patterns are compiled on first use (``re`` caches them), not at import: every
# ``dockpy run`` imports this module, and compiling the domain pattern alone took it 1-3 ms.
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_FULL_ID = r"(?:sha256:)?[0-9a-f]{64}"
_ID_PREFIX = rf"(?:sha256:)?([0-9a-f]{{{MIN_ID_PREFIX},64}})"


# The records of this module, the catalog and ``refs`` are namedtuples rather than frozen
# dataclasses so that ``dockpy images`` and ``dockpy log`` start without importing dataclasses.
_ImageReferenceFields = namedtuple(
    "ImageReference", "repository tag revision digest id_prefix", defaults=(None, None, None, None)
)


class ImageReference(_ImageReferenceFields):
    """A repository name with an optional tag, revision number or manifest digest.

    ``repository`` is normalized (``docker.io/library/busybox``); ``str()``
    gives the familiar form (``busybox:latest@2``). ``id_prefix`` is the text
    as given when it could also be an image-id prefix (``abcd1234``).
    """

    __slots__ = ()

    @property
    def familiar_name(self) -> str:
        return familiar_name(self.repository)

    @property
    def tag_or_default(self) -> str:
        return self.tag or DEFAULT_TAG

    @property
    def name_tag(self) -> str:
        """``NAME:TAG`` (tag defaulted), the key of a revision history."""
        return f"{self.familiar_name}:{self.tag_or_default}"

    def __str__(self) -> str:
        text = self.familiar_name + (f":{self.tag}" if self.tag else "")
        if self.digest:
            return f"{text}@{self.digest}"
        return f"{text}@{self.revision}" if self.revision is not None else text


class ImageIdPrefix(namedtuple("ImageIdPrefix", "hex_prefix")):
    """An image id (config digest) or a unique prefix of its hex digits."""

    __slots__ = ()

    @property
    def is_full(self) -> bool:
        return len(self.hex_prefix) == 64

    def __str__(self) -> str:
        return self.hex_prefix


def parse_reference(text: str) -> ImageReference | ImageIdPrefix:
    """Parse any way a user names an image; raises ``InvalidReferenceError``."""
    if re.fullmatch(_FULL_ID, text):
        return ImageIdPrefix(text.removeprefix("sha256:"))
    if text.startswith("sha256:"):
        match = re.fullmatch(_ID_PREFIX, text)
        if not match:
            raise InvalidReferenceError(f"invalid image id {text!r}: want at least {MIN_ID_PREFIX} hex digits")
        return ImageIdPrefix(match.group(1))
    reference = parse_name_reference(text)
    if re.fullmatch(_ID_PREFIX, text):
        return ImageReference(reference.repository, id_prefix=text)
    return reference


def parse_name_reference(text: str) -> ImageReference:
    """Parse ``NAME[:TAG][@REV|@DIGEST]`` (no image ids); raises ``InvalidReferenceError``."""
    if not text:
        raise InvalidReferenceError("invalid reference format: empty name")
    remainder, at, suffix = text.partition("@")
    revision, digest = _parse_suffix(suffix, text) if at else (None, None)
    name, tag = _split_tag(remainder, text)
    if re.fullmatch(_FULL_ID, name):
        raise InvalidReferenceError(f"invalid repository name {text!r}: 64 hex digits are an image id, not a name")
    return ImageReference(normalize_name(name, text), tag, revision, digest)


def parse_tag_reference(text: str) -> ImageReference:
    """A ``NAME[:TAG]`` that can receive revisions (no ``@REV`` or digest), tag defaulted."""
    reference = parse_name_reference(text)
    if reference.revision is not None or reference.digest is not None:
        raise InvalidReferenceError(f"invalid tag {text!r}: a tag is NAME[:TAG], without '@'")
    return ImageReference(reference.repository, reference.tag_or_default)


def normalize_name(name: str, text: str | None = None) -> str:
    """``busybox`` -> ``docker.io/library/busybox``; checks the grammar."""
    text = text or name
    domain, path = _split_domain(name)
    # Docker Hub's host is the default for every name without one: no need to match it.
    if domain != DEFAULT_DOMAIN and not re.fullmatch(_DOMAIN, domain):
        raise InvalidReferenceError(f"invalid reference format {text!r}: bad registry host {domain!r}")
    if path.lower() != path:
        raise InvalidReferenceError(f"invalid reference format {text!r}: repository name must be lowercase")
    if not all(re.fullmatch(_PATH_COMPONENT, component) for component in path.split("/")):
        raise InvalidReferenceError(f"invalid reference format {text!r}")
    repository = f"{domain}/{path}"
    if len(repository) > NAME_MAX_LENGTH:
        raise InvalidReferenceError(f"invalid reference format {text!r}: name longer than {NAME_MAX_LENGTH}")
    return repository


def familiar_name(repository: str) -> str:
    """``docker.io/library/busybox`` -> ``busybox``; other registries keep their host."""
    if repository.startswith(DEFAULT_DOMAIN + "/"):
        return repository[len(DEFAULT_DOMAIN) + 1 :].removeprefix(OFFICIAL_PREFIX)
    return repository


def _split_domain(name: str) -> tuple[str, str]:
    """Docker's rule: the first component is a host if it has a '.' or ':', is localhost, or has capitals."""
    first, slash, rest = name.partition("/")
    if not slash or ("." not in first and ":" not in first and first != "localhost" and first == first.lower()):
        domain, path = DEFAULT_DOMAIN, name
    else:
        domain, path = first, rest
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = OFFICIAL_PREFIX + path
    return domain, path


def _split_tag(remainder: str, text: str) -> tuple[str, str | None]:
    colon = remainder.rfind(":")
    if colon <= remainder.rfind("/"):
        return remainder, None
    tag = remainder[colon + 1 :]
    if not re.fullmatch(_TAG, tag):
        raise InvalidReferenceError(f"invalid reference format {text!r}: bad tag {tag!r}")
    return remainder[:colon], tag


def _parse_suffix(suffix: str, text: str) -> tuple[int | None, Digest | None]:
    if suffix.isdecimal() and suffix.isascii():
        revision = int(suffix)
        if revision < 1:
            raise InvalidReferenceError(f"invalid reference {text!r}: revisions are numbered from 1")
        return revision, None
    if ":" in suffix:
        return None, Digest(suffix)
    raise InvalidReferenceError(f"invalid reference {text!r}: after '@' give a revision number or sha256:<digest>")
