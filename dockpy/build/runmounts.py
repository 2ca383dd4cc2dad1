"""``RUN --mount=...`` specifications, parsed as BuildKit's ``runmount`` does.

``type=bind`` (the default) binds a directory of the build context or of
another stage/image (``from=``), read-only unless ``rw``; ``type=cache`` a
persistent directory shared by builds (``id=``, default the target);
``type=tmpfs`` an empty tmpfs; ``type=secret`` a file given on the command
line with ``--secret id=...,src=...``, by default at ``/run/secrets/<id>``.
Nothing a mount holds ever becomes part of the step's layer.
"""

from __future__ import annotations

from dataclasses import dataclass

from dockpy.build.instructions import Source

MOUNT_TYPES = ("bind", "cache", "tmpfs", "secret")
SECRETS_DIRECTORY = "/run/secrets"
_ALIASES = {"src": "source", "dst": "target", "destination": "target", "ro": "readonly", "rw": "readwrite"}
_BOOLEAN_KEYS = {"readonly", "readwrite", "required"}
_KEYS = {
    "bind": {"type", "source", "target", "from", "readonly", "readwrite"},
    "cache": {"type", "id", "target", "from", "source", "readonly", "readwrite", "sharing", "mode", "uid", "gid"},
    "tmpfs": {"type", "target", "size"},
    "secret": {"type", "id", "target", "required", "mode", "uid", "gid", "env"},
}


@dataclass(frozen=True)
class RunMount:
    """One mount of a RUN step; unused fields keep their defaults."""

    type: str
    target: str
    source: str = ""
    from_: str | None = None
    read_only: bool = True
    id: str = ""
    sharing: str = "shared"
    mode: int | None = None
    uid: int = 0
    gid: int = 0
    size: int | None = None
    required: bool = False


def parse_mount(spec: str, source: Source) -> RunMount:
    """One ``--mount`` value (after expansion); errors name the RUN's line."""
    fields = _fields(spec, source)
    kind = fields.get("type", "bind")
    if kind not in MOUNT_TYPES:
        raise source.error(f"unsupported mount type {kind!r} (want one of {', '.join(MOUNT_TYPES)})")
    unknown = set(fields) - _KEYS[kind]
    if unknown:
        raise source.error(f"unexpected key {sorted(unknown)[0]!r} in --mount type={kind}")
    target = fields.get("target", "")
    if kind == "secret":
        secret_id = fields.get("id") or target.rsplit("/", 1)[-1]
        if not secret_id:
            raise source.error("--mount type=secret needs id= or target=")
        target = target or f"{SECRETS_DIRECTORY}/{secret_id}"
        return RunMount("secret", target, id=secret_id, required=_flag(fields, "required"),
                        mode=_octal(fields, "mode", source, 0o400), uid=_int(fields, "uid", source),
                        gid=_int(fields, "gid", source))
    if not target:
        raise source.error(f"--mount type={kind} needs a target")
    return RunMount(
        kind, target, source=fields.get("source", ""), from_=fields.get("from"),
        read_only=_read_only(kind, fields), id=fields.get("id") or target,
        sharing=_sharing(fields, source), mode=_octal(fields, "mode", source, None),
        uid=_int(fields, "uid", source), gid=_int(fields, "gid", source), size=_size(fields, source),
    )


def _fields(spec: str, source: Source) -> dict[str, str]:
    fields: dict[str, str] = {}
    for part in filter(None, (part.strip() for part in spec.split(","))):
        key, equals, value = part.partition("=")
        key = _ALIASES.get(key.lower(), key.lower())
        if not equals:
            if key not in _BOOLEAN_KEYS:
                raise source.error(f"invalid field {part!r} in --mount: must be a key=value pair")
            value = "true"
        fields[key] = value
    return fields


def _flag(fields: dict[str, str], key: str) -> bool:
    return fields.get(key, "false").lower() in ("true", "1")


def _read_only(kind: str, fields: dict[str, str]) -> bool:
    if "readwrite" in fields:
        return not _flag(fields, "readwrite")
    if "readonly" in fields:
        return _flag(fields, "readonly")
    return kind == "bind"


def _sharing(fields: dict[str, str], source: Source) -> str:
    sharing = fields.get("sharing", "shared")
    if sharing not in ("shared", "private", "locked"):
        raise source.error(f"invalid --mount sharing={sharing!r} (want shared, private or locked)")
    return sharing


def _int(fields: dict[str, str], key: str, source: Source) -> int:
    try:
        return int(fields.get(key, "0"))
    except ValueError:
        raise source.error(f"invalid --mount {key}={fields[key]!r}: want a number") from None


def _octal(fields: dict[str, str], key: str, source: Source, default: int | None) -> int | None:
    if key not in fields:
        return default
    try:
        return int(fields[key], 8)
    except ValueError:
        raise source.error(f"invalid --mount {key}={fields[key]!r}: want an octal mode") from None


def _size(fields: dict[str, str], source: Source) -> int | None:
    text = fields.get("size")
    if text is None:
        return None
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    multiplier = units.get(text[-1:].lower(), 1)
    digits = text[:-1] if multiplier > 1 else text
    if not digits.isdigit():
        raise source.error(f"invalid --mount size={text!r}")
    return int(digits) * multiplier
