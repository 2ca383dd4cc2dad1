"""``ADD https://...``: fetching a URL into the build, verified by ``--checksum``.

The body is streamed into a temporary file under the storage root while its
sha256 is computed; with ``--checksum=sha256:<hex>`` a different body fails
the step and stores nothing. The file is named after the last component of
the URL's path, gets mode 0600 (Docker's rule) and the ``Last-Modified``
time when the server sends one.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import tempfile
import urllib.parse
from dataclasses import dataclass

from dockpy.errors import BuildError, IntegrityError, InvalidInputError

DOWNLOAD_MODE = 0o600
CHUNK = 1 << 20
TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Download:
    """A fetched URL: the temporary file holding it, its digest, name and time."""

    url: str
    path: str
    digest: str
    filename: str
    mtime: float


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def fetch(url: str, scratch_dir: str, checksum: str | None, location: str) -> Download:
    """Download ``url``; IntegrityError if ``checksum`` (``sha256:<hex>``) does not match.

    ``location`` (``Dockerfile:7``) starts every error message, as for any step.
    """
    expected = _parse_checksum(checksum)
    fd, path = tempfile.mkstemp(prefix="build-download-", dir=scratch_dir)
    try:
        with os.fdopen(fd, "wb") as out, _open(url, location) as response:
            digest = _copy_hashing(response, out)
            last_modified = response.headers.get("Last-Modified")
        if expected is not None and digest != expected:
            raise IntegrityError(f"{location}: ADD {url}: checksum mismatch: expected {expected}, got {digest}")
    except BaseException:
        os.unlink(path)
        raise
    name = posixpath.basename(urllib.parse.urlsplit(url).path) or "index.html"
    return Download(url, path, digest, name, _http_time(last_modified))


def _open(url: str, location: str):
    import urllib.error  # here: with http.client, ssl and email, they cost every build that fetches nothing
    import urllib.request

    try:
        return urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS)
    except urllib.error.HTTPError as error:
        raise BuildError(f"{location}: ADD {url}: the server answered {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise BuildError(f"{location}: ADD {url}: {getattr(reason, 'strerror', None) or reason}") from None


def _copy_hashing(response, out) -> str:
    digest = hashlib.sha256()
    while chunk := response.read(CHUNK):
        digest.update(chunk)
        out.write(chunk)
    return "sha256:" + digest.hexdigest()


def _parse_checksum(checksum: str | None) -> str | None:
    if checksum is None:
        return None
    algorithm, _, hex_digest = checksum.partition(":")
    if algorithm != "sha256" or len(hex_digest) != 64 or any(c not in "0123456789abcdef" for c in hex_digest):
        raise InvalidInputError(f"invalid --checksum {checksum!r}: want sha256:<64 hex digits>")
    return checksum


def _http_time(value: str | None) -> float:
    import email.utils

    if value:
        try:
            return email.utils.parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            pass
    return 0.0
