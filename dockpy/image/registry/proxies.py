"""Which HTTP proxy a request goes through, from the environment, as curl and Go's net/http read it.

``$http_proxy`` and ``$https_proxy`` (or their upper-case spellings; the
lower-case one wins) name a proxy ``[http://][user:password@]host[:port]``
for plain-http and TLS registries; ``$no_proxy`` lists hosts (and their
subdomains: ``example.com`` covers ``registry.example.com``) that are reached
directly, ``*`` meaning all. A registry on a loopback address is always
reached directly: no proxy can reach this machine's ``localhost``.
"""

from __future__ import annotations

import base64
import os
from collections import namedtuple
from urllib.parse import unquote, urlsplit

from dockpy.errors import InvalidInputError

DEFAULT_PROXY_PORT = 80


class Proxy(namedtuple("Proxy", "host port authorization")):
    """A proxy's address and the ``Proxy-Authorization`` value its URL's credentials make (or None)."""

    __slots__ = ()

    @classmethod
    def parse(cls, url: str) -> "Proxy":
        parts = urlsplit(url if "://" in url else f"http://{url}")
        if parts.scheme != "http":
            raise InvalidInputError(f"proxy {url}: only http:// proxies are supported")
        authorization = None
        if parts.username is not None:
            credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            authorization = "Basic " + base64.b64encode(credentials.encode()).decode()
        return cls(parts.hostname or "", parts.port or DEFAULT_PROXY_PORT, authorization)


class ProxySettings:
    """The proxies the environment names, read once."""

    def __init__(self, environ=os.environ):
        self._proxies = {scheme: _proxy(environ, f"{scheme}_proxy") for scheme in ("http", "https")}
        exempt = _variable(environ, "no_proxy") or ""
        self._exempt = [entry.strip().lstrip(".").lower() for entry in exempt.split(",") if entry.strip()]

    def for_url(self, scheme: str, host: str) -> Proxy | None:
        """The proxy for ``scheme://host``, or None to connect directly."""
        proxy = self._proxies.get(scheme)
        if proxy is None or is_loopback(host) or self._is_exempt(host.lower()):
            return None
        return proxy

    def _is_exempt(self, host: str) -> bool:
        return any(entry == "*" or host == entry or host.endswith("." + entry) for entry in self._exempt)


def _variable(environ, name: str) -> str | None:
    return environ.get(name) or environ.get(name.upper())


def _proxy(environ, name: str) -> Proxy | None:
    value = _variable(environ, name)
    return Proxy.parse(value) if value else None


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (``127.0.0.0/8``, ``::1``)."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    import ipaddress  # here: only this check needs it, once per command

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
