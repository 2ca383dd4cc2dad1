"""Build arguments and environment variables: who sees what, and who wins.

Docker's rules, which this module implements:

- ``--build-arg K=V`` sets the value of ``ARG K``, global or in a stage; an
  ARG's default applies only when no ``--build-arg`` gives one.
- Global ARGs (before the first FROM) are in scope for FROM lines only; a
  stage sees one after re-declaring it (``ARG NAME`` with no default takes
  the global value).
- Within a stage, ENV wins over ARG of the same name, in expansion and in the
  environment of RUN.
- The predefined proxy args (``HTTP_PROXY`` ...) reach RUN steps without a
  declaration but never the image's history or config.
- The platform args (``TARGETARCH`` ...) are predefined in the global scope.
- A ``--build-arg`` no ARG consumes is reported, not an error (Docker warns).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from dockpy.image.oci import Platform

_PROXY_NAMES = ("HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY")
PROXY_ARGS = frozenset(name for base in _PROXY_NAMES for name in (base, base.lower()))


def platform_args(platform: Platform) -> dict[str, str]:
    """BuildKit's automatic platform args; build and target platform are the host's (no emulation)."""
    variant = platform.variant or ""
    text = f"{platform.os}/{platform.architecture}" + (f"/{variant}" if variant else "")
    values = {"PLATFORM": text, "OS": platform.os, "ARCH": platform.architecture, "VARIANT": variant}
    return {f"{side}{key}": value for side in ("BUILD", "TARGET") for key, value in values.items()}


def unsupported_platform(wanted: str, host: Platform) -> str | None:
    """Why a ``--platform`` value cannot be built for (``X is not supported: ...``), None for the host's platform
    (with or without its variant): dockpy does not emulate."""
    host_text = platform_args(host)["TARGETPLATFORM"]
    if wanted in (host_text, f"{host.os}/{host.architecture}"):
        return None
    return f"{wanted} is not supported: dockpy builds for {host_text} only"


@dataclass
class BuildArgs:
    """The ``--build-arg`` values, remembering which ones an ARG consumed."""

    values: Mapping[str, str]
    consumed: set[str] = field(default_factory=set)

    def value_of(self, name: str) -> str | None:
        if name in self.values:
            self.consumed.add(name)
            return self.values[name]
        return None

    def proxy_values(self) -> dict[str, str]:
        return {name: value for name, value in self.values.items() if name in PROXY_ARGS}

    def unconsumed(self) -> list[str]:
        """Build args that no ARG declared (proxy args count as consumed: RUN sees them)."""
        return sorted(name for name in self.values if name not in self.consumed and name not in PROXY_ARGS)


@dataclass
class StageVariables:
    """The ARGs declared in a stage so far and its ENV (in order, as the image config keeps it)."""

    env: dict[str, str]
    args: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def from_config_env(cls, entries: tuple[str, ...] | None) -> "StageVariables":
        env: dict[str, str] = {}
        for entry in entries or ():
            name, _, value = entry.partition("=")
            env[name] = value
        return cls(env)

    def expansion_scope(self) -> dict[str, str]:
        """Variables a word of an instruction may use: declared ARGs with a value, then ENV over them."""
        scope = {name: value for name, value in self.args.items() if value is not None}
        scope.update(self.env)
        return scope

    def config_env(self) -> tuple[str, ...]:
        return tuple(f"{name}={value}" for name, value in self.env.items())

    def run_environment(self, proxies: Mapping[str, str]) -> tuple[str, ...]:
        """The environment of a RUN step: ENV, declared ARGs ENV does not shadow, the proxy args."""
        merged = {**proxies, **{n: v for n, v in self.args.items() if v is not None}, **self.env}
        return tuple(f"{name}={value}" for name, value in merged.items())

    def used_args(self, names) -> dict[str, str]:
        """The declared ARG values among ``names`` that ENV does not shadow (what a cache key covers)."""
        return {n: self.args[n] or "" for n in sorted(names) if n in self.args and n not in self.env}

    def history_args(self) -> list[str]:
        """BuildKit's ``|N K=V`` prefix of a RUN's history: declared ARGs not shadowed by ENV, no proxies."""
        return [f"{n}={v or ''}" for n, v in self.args.items() if n not in self.env and n not in PROXY_ARGS]
