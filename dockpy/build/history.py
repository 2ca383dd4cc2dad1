"""The ``created_by`` strings of image history, in BuildKit's forms.

dockpy writes what BuildKit writes (not the classic builder's
``/bin/sh -c #(nop) ...``), so ``dockpy history`` reads like ``docker
history`` of an image built with BuildKit:

- a step that makes a layer ends with `` # buildkit``:
  ``RUN /bin/sh -c make # buildkit``, ``COPY app/ /srv/ # buildkit``;
- RUN is prefixed with the build args in effect: ``RUN |1 VERSION=2 /bin/sh -c make``;
- metadata steps print their value with Go's formatting:
  ``CMD ["httpd" "-f"]``, ``EXPOSE map[8080/tcp:{}]``, ``VOLUME [/data]``,
  ``ENV A=1 B=2``, ``LABEL k=v``, ``USER nobody``, ``WORKDIR /app``.
"""

from __future__ import annotations

from collections.abc import Sequence

from dockpy.build.durations import format_go_duration
from dockpy.dockerfile.gostrings import go_quote
from dockpy.image.oci import Healthcheck

LAYER_SUFFIX = " # buildkit"


def go_string_slice(values: Sequence[str]) -> str:
    """Go's ``%q`` of a []string: ``["a" "b"]``."""
    return "[" + " ".join(go_quote(value) for value in values) + "]"


def go_plain_slice(values: Sequence[str]) -> str:
    """Go's ``%v`` of a []string: ``[a b]``."""
    return "[" + " ".join(values) + "]"


def go_port_set(ports: Sequence[str]) -> str:
    """Go's ``%v`` of a map[Port]struct{}: ``map[80/tcp:{} 443/tcp:{}]`` (keys sorted)."""
    return "map[" + " ".join(f"{port}:{{}}" for port in sorted(ports)) + "]"


def run_created_by(command: Sequence[str], history_args: Sequence[str]) -> str:
    prefix = [f"|{len(history_args)}", *history_args] if history_args else []
    return "RUN " + " ".join([*prefix, *command])


def copy_created_by(keyword: str, flags: Sequence[str], sources: Sequence[str], destination: str) -> str:
    return " ".join([keyword, *flags, *sources, destination])


def healthcheck_created_by(healthcheck: Healthcheck) -> str:
    """Go's ``%q`` of BuildKit's *HealthConfig: ``&{["CMD-SHELL" "x"] "30s" "0s" "0s" "0s" '\\x00'}``."""
    durations = (healthcheck.interval, healthcheck.timeout, healthcheck.start_period, healthcheck.start_interval)
    quoted = " ".join(go_quote(format_go_duration(value or 0)) for value in durations)
    return f"HEALTHCHECK &{{{go_string_slice(healthcheck.test or ())} {quoted} {_go_rune(healthcheck.retries or 0)}}}"


def _go_rune(value: int) -> str:
    """Go's ``%q`` of an int is the quoted character with that code point."""
    if value < 0x20 or value == 0x7F:
        return f"'\\x{value:02x}'"
    return "'" + chr(value).replace("'", "\\'") + "'"
