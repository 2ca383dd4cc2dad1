"""Published ports as Docker spells them: ``-p [IP:][HOSTPORT:]CONTAINERPORT[/tcp|/udp]`` and ``-P``.

A ``PortBinding`` is what the user asked for (``host_ip`` ``""``: every
address; ``host_port`` 0: one the kernel picks when the container starts);
once the forwarder has bound it, the same record holds the address and port
it got. This module is plain data and text: parsing, the shapes ``inspect``
shows (``HostConfig.PortBindings``, ``NetworkSettings.Ports``) and the text
of ``ps`` and ``port``. Binding and forwarding are ``port_forwarder``'s.
"""

from __future__ import annotations

from collections import namedtuple

from dockpy.errors import InvalidInputError

PROTOCOLS = ("tcp", "udp")
# What Docker shows for a binding without an address: every IPv4 address (dockpy binds no IPv6 twin).
ANY_ADDRESS = "0.0.0.0"


class PortBinding(namedtuple("PortBinding", "container_port protocol host_ip host_port", defaults=("tcp", "", 0))):
    """One published port: ``container_port`` and ``host_port`` int, ``protocol`` tcp or udp, ``host_ip`` str."""

    __slots__ = ()

    @property
    def key(self) -> str:
        """``80/tcp``: how Docker names a container port."""
        return f"{self.container_port}/{self.protocol}"

    @property
    def host_address(self) -> str:
        """``0.0.0.0:8080`` or ``[::1]:8080``: where the host listens."""
        return _host_and_port(self.host_ip or ANY_ADDRESS, self.host_port)


def _host_and_port(ip: str, port) -> str:
    """Go's net.JoinHostPort: an IPv6 address in brackets."""
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def parse_publish(text: str) -> PortBinding:
    """``80``, ``8080:80``, ``127.0.0.1:8080:80``, ``127.0.0.1::80``, ``[::1]:8080:80``, each with ``/udp`` or ``/tcp``."""
    ports, _, protocol = text.partition("/")
    protocol = protocol.lower() or "tcp"
    if protocol not in PROTOCOLS:
        raise InvalidInputError(f"invalid proto: {protocol!r} in -p {text!r}", hint="Use /tcp or /udp.")
    host_ip, host_port, container_port = _split_publish(ports, text)
    if host_ip and not _is_ip_address(host_ip):
        raise InvalidInputError(f"invalid IP address: {host_ip} in -p {text!r}", hint="Give an IPv4 or IPv6 address, not a name.")
    return PortBinding(_port_number(container_port, text), protocol, host_ip, _port_number(host_port, text) if host_port else 0)


def _split_publish(ports: str, text: str) -> tuple[str, str, str]:
    """(address, host port, container port) of ``[IP:][HOSTPORT:]CONTAINERPORT``; an IPv6 address is in brackets."""
    if ports.startswith("["):
        host_ip, bracket, rest = ports[1:].partition("]:")
        host_port, colon, container_port = rest.partition(":")
        if not (bracket and colon):
            raise InvalidInputError(f"invalid -p {text!r}", hint="Use [IPv6]:HOSTPORT:CONTAINERPORT or [IPv6]::CONTAINERPORT.")
        return host_ip, host_port, container_port
    parts = ports.split(":")
    if len(parts) > 3:
        raise InvalidInputError(f"invalid -p {text!r}", hint="Use [IP:][HOSTPORT:]CONTAINERPORT[/tcp|/udp].")
    host_ip, host_port, container_port = ["", "", *parts][-3:]
    return host_ip, host_port, container_port


def _is_ip_address(text: str) -> bool:
    """Docker takes an address, never a name (``localhost``), and refuses anything else when the container is
    made, not when it starts."""
    import socket  # binding the port imports it anyway

    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, text)
            return True
        except OSError:
            pass
    return False


def _port_number(text: str, spec: str) -> int:
    if "-" in text:
        raise InvalidInputError(f"port ranges are not supported: -p {spec!r}", hint="Publish each port with its own -p.")
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise InvalidInputError(f"invalid port {text!r} in -p {spec!r}", hint="A port is a number from 1 to 65535.")
    return int(text)


def exposed_bindings(image_config: dict) -> tuple[PortBinding, ...]:
    """``-P``: each port the image EXPOSEs (``ExposedPorts``: ``{"80/tcp": {}}``), on an ephemeral host port.

    An SCTP port is left out (it stays exposed, unpublished): the forwarder
    carries TCP and UDP only.
    """
    bindings = [PortBinding(*_split_key(key)) for key in image_config.get("ExposedPorts") or {}]
    return tuple(sorted(binding for binding in bindings if binding.protocol in PROTOCOLS))


def bindings_to_json(bindings) -> list[dict]:
    """For config.json (read back by ``bindings_from_json``)."""
    return [binding._asdict() for binding in bindings]


def bindings_from_json(data) -> tuple[PortBinding, ...]:
    return tuple(PortBinding(**binding) for binding in data or ())


def port_bindings_document(bindings) -> dict:
    """``HostConfig.PortBindings``: what was asked for, ``{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}``."""
    document: dict[str, list] = {}
    for binding in bindings:
        host_port = str(binding.host_port) if binding.host_port else ""
        document.setdefault(binding.key, []).append({"HostIp": binding.host_ip, "HostPort": host_port})
    return document


def ports_document(published, exposed_keys) -> dict:
    """``NetworkSettings.Ports`` of a running container: each published port where it listens; an exposed,
    unpublished one maps to null."""
    document: dict[str, list | None] = dict.fromkeys(exposed_keys)
    for binding in published:
        entry = {"HostIp": binding.host_ip, "HostPort": str(binding.host_port)}
        document[binding.key] = (document.get(binding.key) or []) + [entry]
    return document


def ports_column(published, exposed_keys) -> str:
    """``ps``'s PORTS, as Docker's ``DisplayablePorts`` writes it: by container port, a run of consecutive ports
    exposed, or published each on its own number, is one group (``8000-8002/tcp``, ``0.0.0.0:80-81->80-81/tcp``);
    the ports published on another number follow (``0.0.0.0:8080->80/tcp``)."""
    published_keys = {binding.key for binding in published}
    unpublished = [PortBinding(*_split_key(key)) for key in exposed_keys if key not in published_keys]
    groups: dict[tuple[str, str], list[int]] = {}  # (host address, protocol): [first, last], in Docker's order
    entries, elsewhere = [], []
    for port in sorted([*published, *unpublished], key=_display_order):
        if port.host_ip and port.host_port != port.container_port:
            elsewhere.append(f"{port.host_address}->{port.key}")
            continue
        group = groups.get((port.host_ip, port.protocol))
        if group is not None and port.container_port == group[1] + 1:
            group[1] = port.container_port
            continue
        if group is not None:
            entries.append(_port_group(port.host_ip, port.protocol, *group))
        groups[(port.host_ip, port.protocol)] = [port.container_port, port.container_port]
    entries += [_port_group(ip, protocol, *group) for (ip, protocol), group in groups.items()]
    return ", ".join(entries + elsewhere)


def _display_order(binding: PortBinding) -> tuple:
    """Docker's ``comparePorts``: container port, host address, host port, protocol."""
    return binding.container_port, binding.host_ip, binding.host_port, binding.protocol


def _port_group(ip: str, protocol: str, first: int, last: int) -> str:
    ports = str(first) if first == last else f"{first}-{last}"
    return f"{_host_and_port(ip, ports)}->{ports}/{protocol}" if ip else f"{ports}/{protocol}"


def port_lines(published, wanted: str | None = None) -> list[str]:
    """``dockpy port``: ``80/tcp -> 0.0.0.0:8080`` per binding; with ``wanted`` (``80``, ``80/udp``) only
    that port's addresses, as ``docker port CONTAINER 80`` prints them."""
    published = sorted(published)
    if wanted is None:
        return [f"{binding.key} -> {binding.host_address}" for binding in published]
    return [binding.host_address for binding in published if binding.key == port_key(wanted)]


def port_key(text: str) -> str:
    """``80`` or ``80/udp`` as Docker names the port: ``80/tcp``, ``80/udp``."""
    return text if "/" in text else text + "/tcp"


def _split_key(key: str) -> tuple[int, str]:
    port, _, protocol = key.partition("/")
    return int(port), protocol or "tcp"
