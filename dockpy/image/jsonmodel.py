"""Frozen value classes that read and write JSON objects under OCI's field names.

Each OCI type declares its fields once, as annotated class attributes with
the JSON name in ``oci_field("WorkingDir")``; this module maps them both ways,
driven by the type annotations, so no type repeats a hand-written
``to_json``/``from_json`` pair.

The classes are not dataclasses: importing ``dataclasses`` (with ``inspect``
and ``ast``) cost every command that touches an image ~10 ms, and ``commit``,
``build``, ``pull`` and ``inspect`` all do. ``JsonModel``'s metaclass turns the
declarations into ``__slots__`` and a field table instead, and the base class
gives what ``@dataclass(frozen=True)`` gave: a keyword-or-positional
constructor with defaults, equality, hashing, a readable ``repr``,
immutability, and ``replace(**changes)`` for a changed copy.

Reading follows the OCI spec's rules for untrusted input: unknown properties
are ignored, anything of the wrong shape is an ``InvalidInputError`` naming
the path of the bad value (``image config: config.Env[2]: expected a
string``), never a ``KeyError`` or ``TypeError``.

Writing follows Go's ``omitempty`` (``None`` and empty values are left out
unless the field is marked ``always``) and Docker distribution's canonical
JSON: keys sorted, no whitespace, UTF-8, and ``<``, ``>``, ``&``, U+2028,
U+2029 escaped as Go's encoder does. The same value therefore always encodes
to the same bytes, which is what keeps an image id (the config's digest) stable.
"""

from __future__ import annotations

import functools
import json
import sys
import types

from dockpy.errors import InvalidInputError

# Go's encoding/json escapes these even inside UTF-8 output; so must we, or a
# config written by Go and re-encoded here would change its digest.
_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_GO_ESCAPE_TABLE = str.maketrans(_GO_ESCAPES)


class _Required:
    """The default of a field every value must be given (and every JSON document must have)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED = _Required()


class Field:
    """One field of a model: its attribute name, JSON name, default and how it is written."""

    __slots__ = ("name", "json", "default", "always", "as_set")

    def __init__(self, json_name: str, default: object, always: bool, as_set: bool):
        self.name = ""  # the attribute it is assigned to, set by the model's class
        self.json = json_name
        self.default = default
        self.always = always
        self.as_set = as_set


def oci_field(json_name: str, default: object = None, *, always: bool = False, as_set: bool = False):
    """A model field stored under ``json_name``; ``REQUIRED`` as ``default`` makes it mandatory.

    ``always``: written even when empty (``layers: []``, ``diff_ids: []``).
    ``as_set``: a tuple of strings written as ``{"80/tcp": {}}``, the shape
    OCI uses for ExposedPorts and Volumes.
    """
    return Field(json_name, default, always, as_set)


class _ModelClass(type):
    """Makes a model's annotated ``oci_field()`` attributes its slots and its ``_fields`` table, in order."""

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, object]):
        own = []
        for attribute in namespace.get("__annotations__", {}):
            field = namespace.pop(attribute, None)
            if not isinstance(field, Field):
                raise TypeError(f"{name}.{attribute}: a model's annotated attributes must be oci_field()s")
            field.name = attribute
            own.append(field)
        namespace["__slots__"] = tuple(field.name for field in own)
        namespace["_fields"] = (*(field for base in bases for field in getattr(base, "_fields", ())), *own)
        return super().__new__(mcs, name, bases, namespace)


class JsonModel(metaclass=_ModelClass):
    """Base of the OCI types: ``to_json()`` gives a dict, ``from_json(dict)`` checks and builds."""

    __slots__ = ()

    def __init__(self, *values: object, **named: object):
        """Fields by position (in declaration order) or by name, as a dataclass's constructor takes them."""
        fields = self._fields
        if len(values) > len(fields):
            raise TypeError(f"{type(self).__name__}() takes {len(fields)} values, {len(values)} given")
        for field, value in zip(fields, values):
            if field.name in named:
                raise TypeError(f"{type(self).__name__}() got {field.name!r} twice")
            named[field.name] = value
        for field in fields:
            value = named.pop(field.name, field.default)
            if value is REQUIRED:
                raise TypeError(f"{type(self).__name__}() needs {field.name!r}")
            object.__setattr__(self, field.name, value)
        if named:
            raise TypeError(f"{type(self).__name__}() has no field {', '.join(map(repr, named))}")

    def replace(self, **changes: object):
        """A copy with ``changes`` (field name: new value), as ``dataclasses.replace`` makes one."""
        return type(self)(**{**{field.name: getattr(self, field.name) for field in self._fields}, **changes})

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable: use replace({name}=...)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{field.name}={getattr(self, field.name)!r}" for field in self._fields)
        return f"{type(self).__name__}({fields})"

    def _values(self) -> tuple:
        return tuple(getattr(self, field.name) for field in self._fields)

    def to_json(self) -> dict[str, object]:
        result: dict[str, object] = {}
        for field in self._fields:
            value = getattr(self, field.name)
            if _is_empty(value) and not field.always:
                continue
            result[field.json] = _encode_set(value) if field.as_set else _encode(value)
        return result

    @classmethod
    def from_json(cls, value: object, *, where: str = ""):
        """Build from a parsed JSON object; ``where`` prefixes error messages."""
        where = where or cls.__name__
        if not isinstance(value, dict):
            raise InvalidInputError(f"{where}: expected a JSON object")
        hints = _type_hints(cls)
        arguments = {}
        for field in cls._fields:
            name = field.json
            if name not in value or (value[name] is None and field.default is not REQUIRED):
                if field.default is REQUIRED:
                    raise InvalidInputError(f"{where}: missing {name!r}")
                continue
            field_where = f"{where}.{name}"
            raw = _decode_set(value[name], field_where) if field.as_set else value[name]
            arguments[field.name] = _decode(hints[field.name], raw, field_where)
        instance = cls(**arguments)
        instance.check(where)
        return instance

    def check(self, where: str) -> None:
        """Rules beyond shape (a subclass refuses, say, an unknown media type); raises ``InvalidInputError``."""


def encode(model: JsonModel) -> bytes:
    """The canonical JSON bytes of ``model``: the same value always gives the same bytes."""
    return canonical_json(model.to_json())


def canonical_json(value: object) -> bytes:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.translate(_GO_ESCAPE_TABLE).encode("utf-8")


def decode(model_type: type, data: bytes, what: str):
    """Parse untrusted JSON bytes into ``model_type``; ``what`` names the document in errors."""
    try:
        value = json.loads(data)
    except (ValueError, RecursionError) as error:
        raise InvalidInputError(f"{what}: not valid JSON: {error}") from None
    return model_type.from_json(value, where=what)


@functools.cache
def _type_hints(cls: type) -> dict[str, object]:
    """The fields' annotations, evaluated as ``typing.get_type_hints`` would.

    They are strings (``from __future__ import annotations``) such as
    ``"tuple[str, ...] | None"``, which evaluate to ``types.UnionType`` and
    ``types.GenericAlias``; doing it here spares importing ``typing``.
    """
    hints = {}
    for klass in reversed(cls.__mro__):
        namespace = vars(sys.modules[klass.__module__])
        for name, annotation in vars(klass).get("__annotations__", {}).items():
            hints[name] = eval(annotation, namespace) if isinstance(annotation, str) else annotation
    return hints


def _is_empty(value: object) -> bool:
    """Go's ``omitempty``: nil, false, 0, "" and empty lists and objects."""
    return value is None or (isinstance(value, (bool, int, str, tuple, dict)) and not value)


def _encode(value: object) -> object:
    if isinstance(value, JsonModel):
        return value.to_json()
    if isinstance(value, tuple):
        return [_encode(item) for item in value]
    if isinstance(value, dict):
        return {key: _encode(item) for key, item in value.items()}
    if isinstance(value, str):
        return str(value)  # Digest and DiffID are str subclasses
    return value


def _encode_set(values: tuple[str, ...]) -> dict[str, dict]:
    return {value: {} for value in sorted(values)}


def _decode_set(value: object, where: str) -> list[str]:
    if not isinstance(value, dict):
        raise InvalidInputError(f"{where}: expected an object")
    return sorted(value)


def _decode(hint: object, value: object, where: str) -> object:
    if isinstance(hint, types.UnionType):
        (inner,) = [arg for arg in hint.__args__ if arg is not type(None)]
        return None if value is None else _decode(inner, value, where)
    origin = getattr(hint, "__origin__", None)  # tuple[...] and dict[...] are types.GenericAlias
    if origin is tuple:
        item_hint = hint.__args__[0]
        items = _expect(list, value, where, "a list")
        return tuple(_decode(item_hint, item, f"{where}[{index}]") for index, item in enumerate(items))
    if origin is dict:
        item_hint = hint.__args__[1]
        mapping = _expect(dict, value, where, "an object")
        return {key: _decode(item_hint, item, f"{where}.{key}") for key, item in mapping.items()}
    if isinstance(hint, type) and issubclass(hint, JsonModel):
        return hint.from_json(value, where=where)
    return _decode_scalar(hint, value, where)


def _decode_scalar(hint: type, value: object, where: str) -> object:
    if hint is bool:
        return _expect(bool, value, where, "true or false")
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInputError(f"{where}: expected an integer")
        return value
    text = _expect(str, value, where, "a string")
    if hint is str:
        return text
    try:
        return hint(text)  # a validating str subclass: Digest, DiffID
    except InvalidInputError as error:
        raise InvalidInputError(f"{where}: {error}") from None


def _expect(kind: type, value: object, where: str, description: str) -> object:
    if not isinstance(value, kind):
        raise InvalidInputError(f"{where}: expected {description}")
    return value
