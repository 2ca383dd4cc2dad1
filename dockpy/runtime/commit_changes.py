"""``commit -c``: the Dockerfile instructions ``docker commit --change`` accepts, applied to a config.

Only instructions that change metadata are allowed (CMD, ENTRYPOINT, ENV,
EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR, HEALTHCHECK, STOPSIGNAL); they
are applied in order, as a Dockerfile's would be: exec form (a JSON array)
or shell form (run by the config's SHELL, default ``/bin/sh -c``), and
ENTRYPOINT drops an inherited CMD unless a CMD comes in the same commit.
Variables are not expanded (Docker expands ``$VAR`` here; dockpy does not yet).
"""

from __future__ import annotations

import json
import re

from dockpy.errors import InvalidInputError

DEFAULT_SHELL = ("/bin/sh", "-c")
# Compiled (and cached by re) on first use: a commit without HEALTHCHECK never needs it, and compiling costs ~2 ms.
_DURATION = r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)"
_NANOSECONDS = {"ns": 1, "us": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
_HEALTHCHECK_FLAGS = {"interval": "interval", "timeout": "timeout", "start-period": "start_period",
                      "start-interval": "start_interval", "retries": "retries"}


def apply_changes(config, changes: tuple[str, ...]):
    """``config`` (an OCI ``ContainerConfig``) after each instruction of ``changes``, in order."""
    cmd_changed = False
    for change in changes:
        keyword, _, rest = change.strip().partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        apply = _INSTRUCTIONS.get(keyword)
        if apply is None:
            raise InvalidInputError(f"{keyword or change!r} is not a valid change command",
                                    hint=f"Use one of: {', '.join(sorted(_INSTRUCTIONS))}.")
        if not rest:
            raise InvalidInputError(f"{keyword} requires an argument")
        config = apply(config, rest)
        if keyword == "CMD":
            cmd_changed = True
        elif keyword == "ENTRYPOINT" and not cmd_changed:
            config = config.replace(cmd=None)
    return config


def _command_form(config, rest: str) -> tuple[str, ...]:
    """Exec form ``["a", "b"]`` as is; anything else runs through the shell."""
    if rest.startswith("["):
        try:
            value = json.loads(rest)
        except json.JSONDecodeError:
            value = None
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return tuple(value)
    return (*(config.shell or DEFAULT_SHELL), rest)


def _pairs(rest: str, what: str) -> dict[str, str]:
    """``K=V K2="V 2"`` (or the old ``K V`` form for one pair)."""
    import shlex  # only the shell-quoted forms of -c need it

    words = shlex.split(rest)
    if "=" not in words[0]:
        name, _, value = rest.partition(" ")
        return {name: value.strip()}
    pairs = {}
    for word in words:
        name, has_value, value = word.partition("=")
        if not has_value or not name:
            raise InvalidInputError(f"{what}: {word!r} is not NAME=VALUE")
        pairs[name] = value
    return pairs


def _set_cmd(config, rest):
    return config.replace(cmd=_command_form(config, rest))


def _set_entrypoint(config, rest):
    return config.replace(entrypoint=_command_form(config, rest))


def _set_env(config, rest):
    env = dict(entry.partition("=")[::2] for entry in config.env or ())
    env.update(_pairs(rest, "ENV"))
    return config.replace(env=tuple(f"{name}={value}" for name, value in env.items()))


def _expose(config, rest):
    """Each spec as the Dockerfile's EXPOSE keys it (a range as its ports); an invalid one is refused."""
    from dockpy.image.exposed_ports import exposed_port_keys

    try:
        ports = [key for spec in rest.split() for key in exposed_port_keys(spec)]
    except ValueError as error:
        raise InvalidInputError(f"EXPOSE: {error}") from None
    return config.replace(exposed_ports=tuple(sorted({*(config.exposed_ports or ()), *ports})))


def _set_labels(config, rest):
    return config.replace(labels={**(config.labels or {}), **_pairs(rest, "LABEL")})


def _add_onbuild(config, rest):
    return config.replace(on_build=(*(config.on_build or ()), rest))


def _set_user(config, rest):
    return config.replace(user=rest)


def _add_volumes(config, rest):
    volumes = json.loads(rest) if rest.startswith("[") else rest.split()
    return config.replace(volumes=tuple(sorted({*(config.volumes or ()), *volumes})))


def _set_workdir(config, rest):
    import posixpath

    return config.replace(working_dir=posixpath.normpath(posixpath.join(config.working_dir or "/", rest)))


def _set_stopsignal(config, rest):
    return config.replace(stop_signal=rest)


def _set_healthcheck(config, rest):
    from dockpy.image.oci import Healthcheck

    words = rest.split(" ")
    options = {}
    while words and words[0].startswith("--"):
        name, _, value = words.pop(0)[2:].partition("=")
        if name not in _HEALTHCHECK_FLAGS:
            raise InvalidInputError(f"HEALTHCHECK: unknown flag --{name}")
        options[_HEALTHCHECK_FLAGS[name]] = int(value) if name == "retries" else _duration(value)
    kind, _, command = " ".join(words).partition(" ")
    if kind.upper() == "NONE":
        return config.replace(healthcheck=Healthcheck(test=("NONE",)))
    if kind.upper() != "CMD" or not command.strip():
        raise InvalidInputError("HEALTHCHECK wants NONE or CMD <command>")
    form = _command_form(config, command.strip())
    test = ("CMD", *form) if command.strip().startswith("[") else ("CMD-SHELL", command.strip())
    return config.replace(healthcheck=Healthcheck(test=test, **options))


def _duration(text: str) -> int:
    """Go durations (``30s``, ``1m30s``, ``500ms``) in nanoseconds, as the image config stores them."""
    parts = re.findall(_DURATION, text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise InvalidInputError(f"invalid duration {text!r}")
    return int(sum(float(number) * _NANOSECONDS[unit] for number, unit in parts))


_INSTRUCTIONS = {
    "CMD": _set_cmd, "ENTRYPOINT": _set_entrypoint, "ENV": _set_env, "EXPOSE": _expose,
    "LABEL": _set_labels, "ONBUILD": _add_onbuild, "USER": _set_user, "VOLUME": _add_volumes,
    "WORKDIR": _set_workdir, "HEALTHCHECK": _set_healthcheck, "STOPSIGNAL": _set_stopsignal,
}
