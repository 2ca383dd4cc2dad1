"""Which proxy a registry request goes through, from $http_proxy, $https_proxy and $no_proxy."""

import base64
import os

import pytest

from dockpy.errors import InvalidInputError
from dockpy.image.registry.proxies import Proxy, ProxySettings, is_loopback


@pytest.fixture
def environment(monkeypatch):
    """Sets exactly the proxy variables a test names: those of the shell running the tests are removed."""
    for name in list(os.environ):
        if name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)

    def set_variables(**variables) -> None:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)

    return set_variables


def test_without_proxy_variables_every_host_is_reached_directly(environment):
    assert ProxySettings().for_url("https", "registry.example") is None


def test_each_scheme_has_its_own_proxy(environment):
    environment(http_proxy="http://plain:3128", https_proxy="tls-proxy:8080")
    settings = ProxySettings()
    assert settings.for_url("http", "registry.example") == Proxy("plain", 3128, None)
    assert settings.for_url("https", "registry.example") == Proxy("tls-proxy", 8080, None)


def test_the_lower_case_variable_wins_over_the_upper_case_one(environment):
    environment(HTTPS_PROXY="upper:1", https_proxy="lower:2")
    assert ProxySettings().for_url("https", "registry.example").host == "lower"


def test_no_proxy_exempts_hosts_and_their_subdomains(environment):
    environment(https_proxy="proxy:3128", NO_PROXY="internal.example, .corp.example")
    settings = ProxySettings()
    assert settings.for_url("https", "registry.internal.example") is None
    assert settings.for_url("https", "corp.example") is None
    assert settings.for_url("https", "notinternal.example") is not None


def test_no_proxy_star_exempts_every_host(environment):
    environment(https_proxy="proxy:3128", no_proxy="*")
    assert ProxySettings().for_url("https", "ghcr.io") is None


def test_loopback_registries_are_reached_directly(environment):
    environment(http_proxy="proxy:3128")
    settings = ProxySettings()
    assert [settings.for_url("http", host) for host in ("localhost", "127.0.0.1", "127.1.2.3", "::1")] == [None] * 4
    assert is_loopback("[::1]") and not is_loopback("registry.example")


def test_credentials_in_the_proxy_url_become_proxy_authorization():
    proxy = Proxy.parse("http://ci:p%40ss@proxy:3128")
    assert proxy.authorization == "Basic " + base64.b64encode(b"ci:p@ss").decode()
    assert proxy.tunnel_headers() == {"Proxy-Authorization": proxy.authorization}


def test_a_proxy_without_credentials_adds_no_tunnel_header():
    assert Proxy.parse("proxy:3128").tunnel_headers() == {}


def test_a_proxy_spoken_to_over_tls_is_refused(environment):
    environment(https_proxy="https://proxy:443")
    with pytest.raises(InvalidInputError, match="only http:// proxies"):
        ProxySettings()
