"""``--add-host NAME:IP``: lines appended to the container's /etc/hosts (moby's ValidateExtraHost).

``NAME=IP`` is taken too (Docker 25's spelling); with ``:`` the name ends
at the first colon, so ``--add-host db:::1`` names an IPv6 address, which may
also be bracketed (``db:[::1]``). Docker's ``host-gateway`` is refused:
a dockpy container has no network of its own to be a gateway of.
"""

from __future__ import annotations

from dockpy.errors import InvalidInputError

HOST_GATEWAY = "host-gateway"


def parse_add_host(text: str) -> tuple[str, str]:
    """``db:10.0.0.5`` -> ``("db", "10.0.0.5")``."""
    import ipaddress

    separator = "=" if "=" in text else ":"
    name, has_address, address = text.partition(separator)
    if not has_address or not name or not address:
        raise InvalidInputError(f"bad format for add-host: {text!r}")
    if address == HOST_GATEWAY:
        raise InvalidInputError(f"--add-host {text}: host-gateway is not supported: dockpy containers have no network gateway")
    address = address.removeprefix("[").removesuffix("]")
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise InvalidInputError(f"invalid IP address in add-host: {address!r}") from None
    return name, address


def hosts_lines(extra_hosts) -> str:
    """The lines for /etc/hosts, one ``IP<TAB>NAME`` per ``(name, address)``, as Docker writes them."""
    return "".join(f"{address}\t{name}\n" for name, address in extra_hosts)
