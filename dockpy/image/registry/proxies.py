"""Which HTTP proxy a registry request goes through, from the environment, as ``urllib.request`` reads it.

``urllib.request.getproxies()`` reads ``$http_proxy`` and ``$https_proxy``
(or their upper-case spellings; the lower-case one wins) and
``proxy_bypass_environment()`` applies ``$no_proxy`` (a host and its
subdomains, ``*`` meaning all). dockpy adds two things: a registry on a
loopback address is always reached directly (no proxy can reach this
machine's ``localhost``), and credentials in the proxy URL become the
``Proxy-Authorization`` header, which ``http.client`` does not send by itself.
"""

from __future__ import annotations

import base64
import ipaddress
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
        """``[http://][user:password@]host[:port]``; a proxy spoken to over TLS is refused."""
        parts = urlsplit(url if "://" in url else f"http://{url}")
        if parts.scheme != "http":
            raise InvalidInputError(f"proxy {url}: only http:// proxies are supported")
        authorization = None
        if parts.username is not None:
            credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            authorization = "Basic " + base64.b64encode(credentials.encode()).decode()
        return cls(parts.hostname or "", parts.port or DEFAULT_PROXY_PORT, authorization)

    def tunnel_headers(self) -> dict[str, str]:
        """The headers of the CONNECT request that opens a tunnel through this proxy."""
        return {"Proxy-Authorization": self.authorization} if self.authorization else {}


class ProxySettings:
    """The proxies the environment names, read once."""

    def __init__(self):
        self._environment = _proxy_environment()
        self._proxies = {scheme: Proxy.parse(self._environment[scheme])
                         for scheme in ("http", "https") if self._environment.get(scheme)}

    def for_url(self, scheme: str, host: str) -> Proxy | None:
        """The proxy for ``scheme://host``, or None to connect directly."""
        proxy = self._proxies.get(scheme)
        if proxy is None or is_loopback(host):
            return None
        from urllib.request import proxy_bypass_environment

        return None if proxy_bypass_environment(host, self._environment) else proxy


def _proxy_environment() -> dict[str, str]:
    """``{"http": URL, "https": URL, "no": HOSTS, ...}`` as ``urllib.request`` reads the environment.

    Most runs set no proxy at all, and ``urllib.request`` adds about a third
    of ``http.client``'s import time again (it brings tempfile, hashlib, ...):
    it is imported only when some ``*_proxy`` variable is there to be read.
    """
    if not any(name.lower().endswith("_proxy") for name in os.environ):
        return {}
    from urllib.request import getproxies

    return getproxies()


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (``127.0.0.0/8``, ``::1``)."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
