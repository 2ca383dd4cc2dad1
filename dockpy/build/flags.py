"""Builder flags of an instruction (``COPY --chown=1:1 --link``), parsed as BuildKit's BFlags does.

The parser hands over each flag as one string with its quotes removed
(``--chown=a b``). An instruction declares which flags it accepts and of which
kind; anything else is an error naming the flag, raised before the build runs:

- a *string* flag needs a value (``--from=build``) and may appear once;
- a *strings* flag may repeat (``--mount=...``, ``--exclude=...``);
- a *bool* flag is ``--link``, ``--link=true`` or ``--link=false`` (any case).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum


class FlagKind(Enum):
    BOOL = "bool"
    STRING = "string"
    STRINGS = "strings"


class FlagError(ValueError):
    """A flag the instruction does not accept, or a malformed value; the caller adds the location."""


@dataclass(frozen=True)
class ParsedFlags:
    """The values of the flags that were given; absent flags are absent from the maps."""

    strings: Mapping[str, str] = field(default_factory=dict)
    lists: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    bools: Mapping[str, bool] = field(default_factory=dict)

    def string(self, name: str, default: str | None = None) -> str | None:
        return self.strings.get(name, default)

    def strings_of(self, name: str) -> tuple[str, ...]:
        return self.lists.get(name, ())

    def bool(self, name: str) -> bool:
        return self.bools.get(name, False)


def parse_flags(raw_flags: Iterable[str], accepted: Mapping[str, FlagKind]) -> ParsedFlags:
    """Parse ``raw_flags`` against the ``accepted`` flag kinds; raises FlagError."""
    strings: dict[str, str] = {}
    lists: dict[str, list[str]] = {}
    bools: dict[str, bool] = {}
    for raw in raw_flags:
        name, value = _split_flag(raw)
        kind = accepted.get(name)
        if kind is None:
            raise FlagError(f"unknown flag: --{name}")
        if kind is FlagKind.STRINGS:
            lists.setdefault(name, []).append(_required_value(name, value))
            continue
        if name in strings or name in bools:
            raise FlagError(f"duplicate flag specified: --{name}")
        if kind is FlagKind.BOOL:
            bools[name] = _bool_value(name, value)
        else:
            strings[name] = _required_value(name, value)
    return ParsedFlags(strings, {name: tuple(values) for name, values in lists.items()}, bools)


def _split_flag(raw: str) -> tuple[str, str | None]:
    if not raw.startswith("--") or raw == "--":
        raise FlagError(f"arguments must begin with '--': {raw}")
    name, equals, value = raw[2:].partition("=")
    return name, value if equals else None


def _required_value(name: str, value: str | None) -> str:
    if value is None:
        raise FlagError(f"missing a value on flag: --{name}")
    return value


def _bool_value(name: str, value: str | None) -> bool:
    if value is None or value.lower() == "true":
        return True
    if value.lower() == "false":
        return False
    raise FlagError(f"expecting boolean value for flag --{name}, not: {value}")
