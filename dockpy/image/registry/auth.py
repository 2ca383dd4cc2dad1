"""Registry credentials and the answers to ``WWW-Authenticate`` challenges.

Credentials come from, in order: dockpy's own ``auth.json`` (written by
``dockpy login``) and Docker's ``~/.docker/config.json`` (``auths`` entries
with a base64 ``auth`` or ``username``/``password``). Credential helpers
(``credsStore``) are not consulted: CI passes credentials explicitly.

A registry that wants authentication answers 401 with a challenge:
``Basic realm=...`` (send the credentials) or ``Bearer realm=...,service=...,
scope=...`` (fetch a token from the realm, with the credentials if any, and
send the token). Tokens are cached per scope until they expire.

The registry client imports this module on a registry's first challenge: a
push to a registry that asks for no credentials (a CI fleet's own) loads
none of it.
"""

from __future__ import annotations

import _thread
import base64
import json
import os
import re
import time
from collections import namedtuple
from pathlib import Path

from dockpy.errors import RegistryError

# Tokens without "expires_in" are valid for 60 s (distribution's token spec).
DEFAULT_TOKEN_LIFETIME = 60
_CHALLENGE_PARAMETER = re.compile(r'(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))')


class Credentials(namedtuple("Credentials", "username password")):
    """A user name and password for one registry (a namedtuple: ``push`` starts without ``dataclasses``)."""

    __slots__ = ()

    def basic_header(self) -> str:
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return f"Basic {token}"


class Challenge(namedtuple("Challenge", "scheme parameters")):
    """A parsed ``WWW-Authenticate`` header: ``scheme`` ("bearer" or "basic", lower case) and its parameters."""

    __slots__ = ()


def parse_challenge(header: str) -> Challenge:
    scheme, _, rest = header.strip().partition(" ")
    parameters = {
        key.lower(): (quoted if quoted is not None and quoted != "" else bare or "").replace('\\"', '"')
        for key, quoted, bare in _CHALLENGE_PARAMETER.findall(rest)
    }
    return Challenge(scheme.lower(), parameters)


def dockpy_auth_file() -> Path:
    """Where ``dockpy login`` keeps credentials (0600), next to Docker's convention."""
    config_home = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    return Path(config_home) / "dockpy" / "auth.json"


def docker_config_file() -> Path:
    directory = os.environ.get("DOCKER_CONFIG") or os.path.expanduser("~/.docker")
    return Path(directory) / "config.json"


def lookup_credentials(registry: str) -> Credentials | None:
    """The stored credentials for ``registry`` (host[:port]), if any."""
    for path in (dockpy_auth_file(), docker_config_file()):
        entries = _read_auths(path)
        for key in _registry_keys(registry):
            if key in entries:
                return _decode_entry(entries[key], path)
    return None


def store_credentials(registry: str, credentials: Credentials) -> Path:
    """Save credentials for ``registry`` in dockpy's auth file; returns its path."""
    path = dockpy_auth_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    document = _read_document(path)
    auth = base64.b64encode(f"{credentials.username}:{credentials.password}".encode()).decode()
    document.setdefault("auths", {})[registry] = {"auth": auth}
    temporary = path.with_suffix(".tmp")
    with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as file:
        json.dump(document, file, indent=2)
    os.replace(temporary, path)
    return path


def remove_credentials(registry: str) -> bool:
    """Forget ``registry``'s credentials in dockpy's auth file; True if there were some."""
    path = dockpy_auth_file()
    document = _read_document(path)
    if registry not in document.get("auths", {}):
        return False
    del document["auths"][registry]
    path.write_text(json.dumps(document, indent=2))
    return True


class TokenCache:
    """Bearer tokens of one registry by scope, shared by a client's threads."""

    def __init__(self):
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = _thread.allocate_lock()

    def get(self, scope: str) -> str | None:
        with self._lock:
            token, expires = self._tokens.get(scope, (None, 0.0))
        return token if token and time.monotonic() < expires else None

    def put(self, scope: str, token: str, lifetime: float) -> None:
        with self._lock:
            # Renew a little early so a request never goes out with a token about to expire.
            self._tokens[scope] = (token, time.monotonic() + max(lifetime - 5, 1))


def _registry_keys(registry: str) -> list[str]:
    keys = [registry, f"https://{registry}", f"http://{registry}"]
    if registry in ("docker.io", "registry-1.docker.io", "index.docker.io"):
        keys.append("https://index.docker.io/v1/")
    return keys


def _read_document(path: Path) -> dict:
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise RegistryError(f"read credentials {path}: {error}") from error
    if not isinstance(document, dict):
        raise RegistryError(f"read credentials {path}: not a JSON object")
    return document


def _read_auths(path: Path) -> dict:
    auths = _read_document(path).get("auths", {})
    return auths if isinstance(auths, dict) else {}


def _decode_entry(entry: object, path: Path) -> Credentials | None:
    if not isinstance(entry, dict):
        return None
    if entry.get("username") and entry.get("password") is not None:
        return Credentials(str(entry["username"]), str(entry["password"]))
    encoded = entry.get("auth")
    if not encoded:
        return None
    try:
        username, _, password = base64.b64decode(encoded).decode().partition(":")
    except (ValueError, UnicodeDecodeError) as error:
        raise RegistryError(f"read credentials {path}: bad 'auth' value") from error
    return Credentials(username, password)
