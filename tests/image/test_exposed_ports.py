"""EXPOSE's port specs as image config keys."""

import pytest

from dockpy.image.exposed_ports import exposed_port_keys


@pytest.mark.parametrize("spec, keys", [
    ("80", ["80/tcp"]), ("53/UDP", ["53/udp"]), ("132/sctp", ["132/sctp"]),
    ("8000-8002", ["8000/tcp", "8001/tcp", "8002/tcp"]), ("65535", ["65535/tcp"]),
])
def test_a_spec_gives_one_key_per_port(spec, keys):
    assert exposed_port_keys(spec) == keys


@pytest.mark.parametrize("spec", ["http", "", "80/", "0", "65536", "90-80", "80/icmp", "1-2-3"])
def test_what_is_no_port_spec_is_refused_naming_it(spec):
    with pytest.raises(ValueError, match=f"invalid port {spec!r}"):
        exposed_port_keys(spec)
