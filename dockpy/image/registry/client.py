"""An OCI distribution-spec client: blobs and manifests of one registry.

Every request goes through ``_request``, the one place that adds
authentication (answering 401 challenges, see ``auth``), retries transient
failures (connection resets, 429 and 5xx) with exponential backoff, and turns
HTTP failures into dockpy errors carrying the registry's own message.

Blobs are streamed straight into the content store, whose writer verifies the
digest and size before anything becomes visible: a registry that serves a
corrupt or truncated blob leaves the store unchanged.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import time
from collections import namedtuple
from collections.abc import Callable, Iterator
from urllib.parse import urlencode, urljoin

from dockpy.errors import IntegrityError, InvalidInputError, NotFoundError, RegistryError
from dockpy.image.registry.http import FileBody, HttpClient, Response, TransportError, TransportTimeout, UnknownHost
from dockpy.image.registry.proxies import is_loopback
from dockpy.layers.digests import DiffID, Digest

# typing.TYPE_CHECKING without importing typing (type checkers read any constant of this name as it).
TYPE_CHECKING = False
if TYPE_CHECKING:  # the store is the caller's: a push of what the registry has never opens it
    from dockpy.image.registry.auth import Credentials, TokenCache
    from dockpy.layers.content import BlobInfo, ContentStore

MANIFEST_ACCEPT = ", ".join((
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
))
# Manifests are small JSON documents; anything larger is not one (distribution caps at 4 MiB).
MAX_MANIFEST_BYTES = 4 << 20
DEFAULT_ATTEMPTS = 5
FIRST_BACKOFF_SECONDS = 0.2
# A blob goes up in one PUT, as Docker, containerd and skopeo send it: a failed upload starts over
# either way, and each chunk would cost a round trip and the registry a resumed hash (about 15% of
# the push of a 100 MiB layer here). A proxy that caps request bodies (Cloudflare: 100 MB) needs
# PATCH chunks: this variable sets their size in MiB.
CHUNK_SIZE_VARIABLE = "DOCKPY_UPLOAD_CHUNK_MIB"
STREAM_CHUNK = 1 << 20
# How long the first request to a loopback registry, in plain http, may take (a TLS port may not answer it at all).
PROBE_TIMEOUT = 5.0
_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class FetchedManifest(namedtuple("FetchedManifest", "data media_type digest")):
    """A manifest or index as the registry served it: exact bytes, media type, digest."""

    __slots__ = ()


class RegistryClient:
    """One registry (``host[:port]``); thread-safe, so layers can move in parallel."""

    def __init__(
        self,
        registry: str,
        *,
        tls_verify: bool = True,
        credentials: Credentials | None = None,
        attempts: int = DEFAULT_ATTEMPTS,
        timeout: float = 60.0,
        chunk_size: int | None = None,
    ):
        self.registry = registry
        self._tls_verify = tls_verify
        self._given_credentials = credentials
        self._attempts = attempts
        self._chunk_size = chunk_size or _chunk_size_from_environment()
        # Made, with ``auth`` imported, when the registry first asks for credentials (``_authorize``).
        self._tokens: TokenCache | None = None
        self._http = HttpClient(tls_verify=tls_verify, timeout=timeout)
        self._base_url: str | None = None

    def close(self) -> None:
        self._http.close()

    @functools.cached_property
    def _credentials(self) -> Credentials | None:
        """Looked up when the registry first asks for them: one that asks for none costs no credential files."""
        from dockpy.image.registry.auth import lookup_credentials

        return self._given_credentials if self._given_credentials is not None else lookup_credentials(self.registry)

    def __enter__(self) -> "RegistryClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def check(self) -> None:
        """GET /v2/: raises unless the registry answers and accepts our credentials."""
        self._request("GET", "/v2/", "")

    # -- blobs ---------------------------------------------------------------------------

    def has_blob(self, repository: str, digest: Digest, *, push: bool = False) -> bool:
        """HEAD a blob; ``push`` asks with the scope of a push, whose token the upload then reuses."""
        response = self._request("HEAD", f"/v2/{repository}/blobs/{digest}", repository, push=push, allow={404})
        return response.status_code == 200

    def fetch_blob(self, repository: str, digest: Digest, size: int | None, store: ContentStore, *,
                   diff_id: DiffID | None = None, on_bytes: Callable[[int], None] | None = None) -> BlobInfo:
        """Download a blob into ``store``; it becomes visible only if digest and size match.

        With ``diff_id`` the blob is a layer, and its uncompressed tar must hash
        to that too: checked on a second thread as the bytes arrive, so a layer
        is read once (``DiffIdTee``).
        """
        if store.has(digest):
            return store.info(digest)
        on_bytes = _ReportedBytes.wrapping(on_bytes)

        def download() -> BlobInfo:
            if on_bytes:
                on_bytes.start_over()
            with self._stream("GET", f"/v2/{repository}/blobs/{digest}", repository) as response, \
                    store.writer(digest, size) as blob:
                if diff_id is None:
                    _copy(_Download(response), blob, on_bytes)
                else:
                    _copy_checking_diff_id(_Download(response), blob, digest, diff_id, on_bytes)
                return blob.commit()

        return self._retrying(f"fetch blob {digest.short}", download, retry_integrity=True)

    def push_blob(
        self, repository: str, digest: Digest, size: int, open_blob: Callable[[], io.BufferedIOBase], *,
        mount_from: str | None = None, on_bytes: Callable[[int], None] | None = None,
    ) -> str:
        """Upload a blob unless the registry has it; returns "exists", "mounted" or "uploaded".

        The blob is not hashed here: the final PUT names its digest and the
        registry refuses content that does not match it.
        """
        if self.has_blob(repository, digest, push=True):
            return "exists"
        on_bytes = _ReportedBytes.wrapping(on_bytes)

        def upload() -> str:
            if on_bytes:
                on_bytes.start_over()
            location = self._start_upload(repository, digest, mount_from)
            if location is None:
                return "mounted"
            with open_blob() as source:
                if self._chunk_size is None or size <= self._chunk_size:
                    self._finish_upload(repository, location, digest, _body(source, 0, size, on_bytes))
                else:
                    location = self._upload_chunks(repository, location, source, size, on_bytes)
                    self._finish_upload(repository, location, digest, b"")
            return "uploaded"

        return self._retrying(f"push blob {digest.short}", upload)

    # -- manifests -----------------------------------------------------------------------

    def fetch_manifest(self, repository: str, reference: str) -> FetchedManifest:
        """GET a manifest or index by tag or digest; a digest reference is verified."""
        path = f"/v2/{repository}/manifests/{reference}"
        response = self._request("GET", path, repository, headers={"Accept": MANIFEST_ACCEPT}, allow={404})
        if response.status_code == 404:
            raise NotFoundError(f"manifest {repository}:{reference} not found in registry {self.registry}")
        data = response.content
        if len(data) > MAX_MANIFEST_BYTES:
            raise RegistryError(f"manifest {repository}:{reference} is larger than {MAX_MANIFEST_BYTES} bytes")
        digest = Digest.of_bytes(data)
        if reference.startswith("sha256:") and digest != reference:
            raise IntegrityError(f"registry {self.registry} served manifest {digest} for {reference}")
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        return FetchedManifest(data, media_type, digest)

    def manifest_digest(self, repository: str, reference: str, *, push: bool = False) -> str | None:
        """HEAD a manifest: the digest the registry holds under ``reference``, or None (none held, or not said).

        ``push`` asks for the scope a push needs, so a Bearer token fetched
        for this request serves the uploads that may follow.
        """
        response = self._request("HEAD", f"/v2/{repository}/manifests/{reference}", repository, push=push,
                                 headers={"Accept": MANIFEST_ACCEPT}, allow={404})
        return response.headers.get("docker-content-digest") if response.status_code == 200 else None

    def push_manifest(self, repository: str, reference: str, data: bytes, media_type: str) -> Digest:
        """PUT a manifest under a tag (or its digest); returns its digest."""
        response = self._request(
            "PUT", f"/v2/{repository}/manifests/{reference}", repository, push=True,
            headers={"Content-Type": media_type}, content=data,
        )
        digest = Digest.of_bytes(data)
        served = response.headers.get("docker-content-digest")
        if served and served != digest:
            raise IntegrityError(f"registry {self.registry} stored manifest as {served}, expected {digest}")
        return digest

    def list_tags(self, repository: str) -> list[str]:
        response = self._request("GET", f"/v2/{repository}/tags/list", repository)
        return list(response.json().get("tags") or [])

    # -- upload steps --------------------------------------------------------------------

    def _start_upload(self, repository: str, digest: Digest, mount_from: str | None) -> str | None:
        query = "?" + urlencode({"mount": str(digest), "from": mount_from}) if mount_from else ""
        response = self._request(
            "POST", f"/v2/{repository}/blobs/uploads/{query}", repository, push=True,
            mount_from=mount_from, retry=False,
        )
        if response.status_code == 201:
            return None
        return self._location(response)

    def _upload_chunks(self, repository: str, location: str, source: io.BufferedIOBase, size: int, on_bytes) -> str:
        for offset in range(0, size, self._chunk_size):
            count = min(self._chunk_size, size - offset)
            response = self._request(
                "PATCH", location, repository, push=True, content=_body(source, offset, count, on_bytes), retry=False,
                headers={"Content-Type": "application/octet-stream",
                         "Content-Range": f"{offset}-{offset + count - 1}"},
            )
            location = self._location(response)
        return location

    def _finish_upload(self, repository: str, location: str, digest: Digest, content) -> None:
        url = f"{location}{'&' if '?' in location else '?'}digest={digest}"
        self._request("PUT", url, repository, push=True, content=content, retry=False,
                      headers={"Content-Type": "application/octet-stream"})

    def _location(self, response: Response) -> str:
        location = response.headers.get("location")
        if not location:
            raise RegistryError(f"registry {self.registry} did not say where to upload (no Location header)")
        return urljoin(response.url, location)

    # -- the request boundary ------------------------------------------------------------

    def _request(self, method: str, path: str, repository: str, *, push: bool = False, allow=frozenset(),
                 mount_from: str | None = None, retry: bool = True, **kwargs) -> Response:
        """One checked request, its body read; retried here unless it is a step of an upload (the whole upload is)."""

        def attempt() -> Response:
            with self._send(method, path, repository, push, mount_from, **kwargs) as response:
                _read_body(response)
            self._raise_for_status(response, method, path, allow)
            return response

        return self._retrying(f"{method} {path}", attempt) if retry else attempt()

    @contextlib.contextmanager
    def _stream(self, method: str, path: str, repository: str) -> Iterator[Response]:
        """A checked response whose body the caller reads; always closed."""
        with self._send(method, path, repository, False, None) as response:
            if response.status_code >= 400:
                _read_body(response)
                self._raise_for_status(response, method, path, frozenset())
            yield response

    def _send(self, method, path, repository, push, mount_from, *, headers=None, content=b"") -> Response:
        scope = _scope(repository, push, mount_from)
        headers = dict(headers or {})
        authorization = self._cached_authorization(scope)
        if authorization:
            headers["Authorization"] = authorization
        url, response = self._exchange(method, path, headers, content)
        if response.status_code == 401 and "www-authenticate" in response.headers:
            authorization = self._authorize(response.headers["www-authenticate"], scope)
            if authorization:
                _read_body(response)
                headers["Authorization"] = authorization
                response = self._http_send(method, url, headers, content)
        return response

    def _exchange(self, method, path, headers, content) -> tuple[str, Response]:
        """Send one request to ``path`` (a URL, or a path on the registry); returns its URL and the response.

        The registry's first request also settles whether it speaks plain
        http (``_answer_in_plain_http``): a GET or HEAD is itself the
        question, which saves a request of its own; anything else is
        preceded by ``GET /v2/``, so that nothing which changes the registry
        is sent where it may not belong.
        """
        if path.startswith(("http://", "https://")):
            return path, self._http_send(method, path, headers, content)
        if self._base_url is None and method in ("GET", "HEAD"):
            self._base_url, answer = self._answer_in_plain_http(method, path, headers)
            if answer is not None:
                return self._base_url + path, answer
        if self._base_url is None:
            base_url, answer = self._answer_in_plain_http("GET", "/v2/", {})
            if answer is not None:
                with answer:
                    _read_body(answer)
            self._base_url = base_url or f"https://{self.registry}"
        url = self._base_url + path
        return url, self._http_send(method, url, headers, content)

    def _http_send(self, method, url, headers, content) -> Response:
        try:
            return self._http.request(method, url, headers=headers, body=content)
        except UnknownHost as error:
            raise RegistryError(f"{method} {url}: {error}", hint=f"Is {self.registry} the registry's name?") from error
        except TransportError as error:
            raise _TransientError(f"{method} {url}: {error}") from error

    def _answer_in_plain_http(self, method: str, path: str, headers: dict) -> tuple[str | None, Response | None]:
        """The registry's base URL (None: not settled), and its answer to the request if it speaks plain http.

        https, unless TLS verification is off or the registry is on
        loopback and answers in plain http. Plain http is asked first: one
        port speaks one of the two, and a plain-http registry then costs
        neither an SSL context nor a failed handshake. A TLS port answers
        plain http with 400 or hangs up; any other answer is a plain-http
        registry's answer to the request. No answer in time settles
        nothing: a TLS port may be waiting for more bytes, but a registry
        may also be slow to answer a request (a pull-through cache fetching
        the manifest), so ``GET /v2/``, which any registry answers at once,
        is asked then; no answer to that either means TLS.
        """
        https = f"https://{self.registry}", None
        if self._tls_verify and not _is_loopback(self.registry):
            return https
        try:
            response = self._http.request(method, f"http://{self.registry}{path}", headers=headers,
                                          timeout=PROBE_TIMEOUT)
        except TransportTimeout:
            return None, None
        except TransportError:
            return https
        if response.status_code == 400:
            response.close()
            return https
        return f"http://{self.registry}", response

    def _cached_authorization(self, scope: str) -> str | None:
        token = self._tokens.get(scope) if self._tokens is not None else None
        return f"Bearer {token}" if token else None

    def _authorize(self, header: str, scope: str) -> str | None:
        """The ``Authorization`` a challenge asks for, or None when there is none to give.

        ``auth`` is imported here, on the first challenge: a registry that
        asks for no credentials (a CI fleet's own) never loads it. Two
        threads meeting their first challenges at once may each make a token
        cache; the one kept costs the other's token at most a fetch more.
        """
        from dockpy.image.registry.auth import TokenCache, parse_challenge

        challenge = parse_challenge(header)
        if challenge.scheme == "basic":
            return self._credentials.basic_header() if self._credentials else None
        if challenge.scheme != "bearer" or "realm" not in challenge.parameters:
            return None
        token, lifetime = self._fetch_token(challenge, scope)
        if self._tokens is None:
            self._tokens = TokenCache()
        self._tokens.put(scope, token, lifetime)
        return f"Bearer {token}"

    def _fetch_token(self, challenge, scope: str) -> tuple[str, float]:
        from dockpy.image.registry.auth import DEFAULT_TOKEN_LIFETIME

        params = {"service": challenge.parameters.get("service", "")}
        if scope:
            params["scope"] = scope
        headers = {"Authorization": self._credentials.basic_header()} if self._credentials else {}
        realm = challenge.parameters["realm"]
        url = f"{realm}{'&' if '?' in realm else '?'}{urlencode(params)}"
        with self._http_send("GET", url, headers, b"") as response:
            _read_body(response)
        if response.status_code in (401, 403):
            raise RegistryError(
                f"registry {self.registry} refused the credentials for {scope}",
                hint=f"Run 'dockpy login {self.registry}'.",
            )
        if response.status_code != 200:
            raise RegistryError(f"token server {challenge.parameters['realm']} answered {response.status_code}")
        try:
            body = response.json()
            token = body.get("token") or body.get("access_token")
            lifetime = float(body.get("expires_in") or DEFAULT_TOKEN_LIFETIME)
        except (ValueError, AttributeError) as error:
            raise RegistryError(f"token server {challenge.parameters['realm']} sent an unreadable answer") from error
        if not token:
            raise RegistryError(f"token server {challenge.parameters['realm']} sent no token")
        return token, lifetime

    def _raise_for_status(self, response: Response, method: str, path: str, allow) -> None:
        status = response.status_code
        if status < 400 or status in allow:
            return
        if status in _RETRY_STATUSES:
            raise _TransientError(f"{method} {path}: registry answered {status}")
        message = _error_message(response)
        if status == 401:
            raise RegistryError(
                f"registry {self.registry} requires authentication for {path}: {message}",
                hint=f"Run 'dockpy login {self.registry}'.",
            )
        if status == 403:
            raise RegistryError(f"registry {self.registry} denied {method} {path}: {message}")
        if status == 404:
            raise NotFoundError(f"{path} not found in registry {self.registry}: {message}")
        raise RegistryError(f"{method} {path} on registry {self.registry} failed ({status}): {message}")

    def _retrying(self, what: str, operation: Callable, *, retry_integrity: bool = False):
        """Run ``operation`` again after transient failures, backing off exponentially."""
        delay = FIRST_BACKOFF_SECONDS
        for attempt in range(1, self._attempts + 1):
            try:
                return operation()
            except (_TransientError, IntegrityError) as error:
                if isinstance(error, IntegrityError) and (not retry_integrity or isinstance(error, _LayerContradictsConfig)):
                    raise
                if attempt == self._attempts:
                    if isinstance(error, IntegrityError):
                        raise IntegrityError(f"{what}: registry {self.registry} kept serving bad content: {error}") from error
                    raise RegistryError(f"{what}: gave up after {attempt} attempts: {error}") from error
                time.sleep(delay)
                delay *= 2


class _TransientError(RegistryError):
    """A failure worth retrying: a reset connection, a timeout, 429 or 5xx."""


class _LayerContradictsConfig(IntegrityError):
    """A layer whose digest is right but whose content is not what the config says: fetching it again cannot help."""


def _chunk_size_from_environment() -> int | None:
    """``$DOCKPY_UPLOAD_CHUNK_MIB`` in bytes; None (one request per blob) when it is not set."""
    value = os.environ.get(CHUNK_SIZE_VARIABLE, "")
    if not value:
        return None
    if not value.isdigit() or int(value) == 0:
        raise InvalidInputError(f"${CHUNK_SIZE_VARIABLE} must be a positive whole number of MiB, not {value!r}")
    return int(value) << 20


def _scope(repository: str, push: bool, mount_from: str | None) -> str:
    if not repository:
        return ""  # the /v2/ base endpoint: authenticate without asking for any repository
    scope = f"repository:{repository}:{'pull,push' if push else 'pull'}"
    if mount_from:
        scope += f" repository:{mount_from}:pull"
    return scope


def _read_body(response: Response) -> bytes:
    try:
        return response.content
    except TransportError as error:
        raise _TransientError(f"reading the answer from {response.url}: {error}") from error


class _ReportedBytes:
    """A transfer's ``on_bytes``, kept count of so that a retried transfer takes back what it reported.

    Each attempt sends or reads the blob from its start: without this, a
    progress bar would count the bytes of every failed attempt too.
    """

    def __init__(self, on_bytes: Callable[[int], None]):
        self._on_bytes = on_bytes
        self._reported = 0

    @classmethod
    def wrapping(cls, on_bytes: Callable[[int], None] | None) -> "_ReportedBytes | None":
        return cls(on_bytes) if on_bytes else None

    def __call__(self, count: int) -> None:
        self._reported += count
        self._on_bytes(count)

    def start_over(self) -> None:
        if self._reported:
            self._on_bytes(-self._reported)
            self._reported = 0


def _copy(download: "_Download", blob, on_bytes: Callable[[int], None] | None) -> None:
    """The body into ``blob`` (a content-store writer, which hashes it)."""
    buffer = memoryview(bytearray(STREAM_CHUNK))
    while count := download.readinto(buffer):
        blob.write(buffer[:count])
        if on_bytes:
            on_bytes(count)


def _copy_checking_diff_id(download: "_Download", blob, digest: Digest, diff_id: DiffID, on_bytes) -> None:
    """``_copy``, hashing the decompressed stream beside it; a layer that contradicts ``diff_id`` is refused.

    A wrong digest is left to the writer's commit (and the download retried);
    only a blob whose digest is right is asked for its diff_id.
    """
    from dockpy.layers.diff_id_tee import DiffIdTee  # pulls need it; pushes start faster without the compressors

    with DiffIdTee(download) as tee:
        while chunk := tee.read(STREAM_CHUNK):
            blob.write(chunk)
            if on_bytes:
                on_bytes(len(chunk))
        actual = tee.finish() if tee.compressed else DiffID(blob.digest)
    if blob.digest == digest and actual != diff_id:
        raise _LayerContradictsConfig(
            f"layer {blob.digest} " + (f"decompresses to diff id {actual}" if actual else "does not decompress")
            + f", but the image config says {diff_id}")


class _Download:
    """A blob's response body as a file; a broken transfer is a transient error (the download starts over)."""

    def __init__(self, response: Response):
        self._response = response

    def readinto(self, buffer) -> int:
        return self._retryable(self._response.readinto, buffer)

    def read(self, size: int) -> bytes | bytearray:
        return self._retryable(self._response.read, size)

    @staticmethod
    def _retryable(read: Callable, argument):
        try:
            return read(argument)
        except TransportError as error:
            raise _TransientError(f"download interrupted: {error}") from error


def _body(source: io.BufferedIOBase, offset: int, count: int, on_bytes: Callable[[int], None] | None):
    """What to send of ``source``: the kernel sends a real file (``FileBody``); anything else is read."""
    try:
        source.fileno()
    except (AttributeError, OSError):  # io.UnsupportedOperation is an OSError
        source.seek(offset)
        data = source.read(count)
        if on_bytes:
            on_bytes(len(data))
        return data
    return FileBody(source, offset, count, on_bytes)


def _error_message(response: Response) -> str:
    try:
        errors = response.json().get("errors") or []
        return "; ".join(f"{e.get('code', '')}: {e.get('message', '')}".strip(": ") for e in errors) or response.reason
    except (ValueError, AttributeError):
        return response.reason or str(response.status_code)


def _is_loopback(registry: str) -> bool:
    host = registry.rsplit(":", 1)[0] if registry.count(":") <= 1 or registry.startswith("[") else registry
    return is_loopback(host)
