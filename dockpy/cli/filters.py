"""``-f/--filter KEY=VALUE`` as Docker reads it, shared by ``ps`` and ``images``.

Repeated flags are gathered by key: a listing keeps a row when it passes
every key, and a key passes when any of its values does (Docker's rule; its
``label`` filter is the exception, every value must hold). Keys are
lower-cased and both sides trimmed, as Docker's ``filters.ParseFlag`` does,
and the errors use Docker's words.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from dockpy.errors import InvalidInputError


def parse_filters(texts: Iterable[str], accepted: Iterable[str]) -> dict[str, list[str]]:
    """``["status=exited", "name=web"]`` -> ``{"status": ["exited"], "name": ["web"]}``; a key not ``accepted`` is refused."""
    filters: dict[str, list[str]] = {}
    accepted = tuple(accepted)
    for text in texts:
        key, separator, value = text.partition("=")
        if not separator:
            raise InvalidInputError("bad format of filter (expected name=value)")
        key = key.strip().lower()
        if key not in accepted:
            raise InvalidInputError(f"invalid filter '{key}'", hint="Filters: " + ", ".join(accepted) + ".")
        filters.setdefault(key, []).append(value.strip())
    return filters


def invalid_value(key: str, value: str) -> InvalidInputError:
    """Docker's error for a value its filter cannot take (``status=sleeping``, ``exited=x``)."""
    return InvalidInputError(f"invalid filter '{key}={value}'")


def matches_pattern(pattern: str, text: str) -> bool:
    """Docker's ``Args.Match``: equal, or the pattern is a regular expression found in ``text``.

    A pattern that is no valid expression matches only itself, as Docker skips it.
    """
    if pattern == text:
        return True
    try:
        return re.search(pattern, text) is not None
    except re.error:
        return False


def matches_labels(wanted: Iterable[str], labels: dict) -> bool:
    """Docker's ``MatchKVList``: every ``KEY`` is a label, every ``KEY=VALUE`` a label with that value."""
    for text in wanted:
        key, has_value, value = text.partition("=")
        if key not in labels or (has_value and labels[key] != value):
            return False
    return True


def image_config_document(root, image_id: str) -> dict:
    """An image's config blob as plain JSON: filters need a key or two (labels, layers), not the image model."""
    from dockpy.layers.content import ContentStore

    return json.loads(ContentStore(root).read_bytes(image_id))
