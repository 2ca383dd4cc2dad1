"""``dockpy images -f KEY=VALUE``: which rows a listing keeps, with Docker's keys and matching.

| key | keeps ... |
|---|---|
| ``dangling`` | ``true``: images no tag points at now; ``false``: tags' current images |
| ``reference`` | tags matching a glob, as Go's ``path.Match`` reads it (``*`` and ``?`` stop at ``/``), against ``NAME:TAG`` or ``NAME`` |
| ``label`` | images with that label (``KEY``) or label value (``KEY=VALUE``); every label filter must hold |
| ``before``, ``since`` | images created before or after the one a reference names |

Only ``label`` reads more than the catalog: each image's config blob, once.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from dockpy.cli.filters import image_config_document, invalid_value, matches_labels, parse_filters
from dockpy.errors import InvalidInputError

# The spellings Docker's filters accept for a boolean.
BOOLEANS = {"true": True, "1": True, "false": False, "0": False}

Test = Callable[[object], bool]


def image_filter(refs, texts: list[str]) -> tuple[Test, bool]:
    """The test ``images -f`` flags make of ``ImageSummary`` rows (``refs`` a ``Refs``), and whether
    the listing must include images only earlier revisions name (``dangling=true`` does)."""
    filters = parse_filters(texts, FILTER_TESTS)
    tests = [FILTER_TESTS[key](refs, values) for key, values in filters.items()]
    wants_dangling = True in {BOOLEANS.get(value.lower()) for value in filters.get("dangling", ())}
    return (lambda summary: all(test(summary) for test in tests)), wants_dangling


def by_dangling(refs, values: list[str]) -> Test:
    """Dangling means no tag points at the image now: built untagged, untagged by ``rmi``, or superseded by a
    later revision (Docker would show those as ``<none>`` after a rebuild; dockpy keeps them in the tag's history)."""
    wanted = set()
    for value in values:
        if value.lower() not in BOOLEANS:
            raise invalid_value("dangling", value)
        wanted.add(BOOLEANS[value.lower()])
    if len(wanted) > 1:
        raise InvalidInputError("conflicting filters: dangling=true and dangling=false")
    dangling = wanted.pop()
    return lambda summary: (summary.tag is None) == dangling


def by_reference(refs, values: list[str]) -> Test:
    patterns = [glob_pattern(value) for value in values]
    return lambda summary: summary.tag is not None and any(
        pattern.fullmatch(f"{summary.repository}:{summary.tag}") or pattern.fullmatch(summary.repository)
        for pattern in patterns
    )


def glob_pattern(glob: str) -> re.Pattern:
    """Go's ``path.Match`` pattern as a regular expression: ``*``, ``?``, ``[...]`` (``[^...]``), ``\\`` escapes."""
    parts, index = [], 0
    while index < len(glob):
        character = glob[index]
        if character == "[":
            end = glob.find("]", index + 2 if glob.startswith("[^", index) else index + 1)
            if end < 0 or end == index + 1:
                raise invalid_value("reference", glob)
            parts.append("[" + glob[index + 1 : end].replace("[", "\\[") + "]")
            index = end
        elif character == "\\" and index + 1 < len(glob):
            index += 1
            parts.append(re.escape(glob[index]))
        else:
            parts.append({"*": "[^/]*", "?": "[^/]"}.get(character) or re.escape(character))
        index += 1
    return re.compile("".join(parts))


def by_label(refs, values: list[str]) -> Test:
    labels: dict[str, dict] = {}

    def has_labels(summary) -> bool:
        if summary.image_id not in labels:
            labels[summary.image_id] = image_labels(refs, summary.image_id)
        return matches_labels(values, labels[summary.image_id])

    return has_labels


def image_labels(refs, image_id: str) -> dict:
    return (image_config_document(refs.root, image_id).get("config") or {}).get("Labels") or {}


def created_before(refs, values: list[str]) -> Test:
    times = [creation_time(refs, value) for value in values]
    return lambda summary: summary.created is not None and all(summary.created < time for time in times)


def created_since(refs, values: list[str]) -> Test:
    times = [creation_time(refs, value) for value in values]
    return lambda summary: summary.created is not None and all(summary.created > time for time in times)


def creation_time(refs, reference: str) -> float:
    from dockpy.image import catalog

    return catalog.image_row(refs.db, refs.find(reference)).created or 0.0


# Each key Docker's images takes that dockpy supports, with the function making its test.
FILTER_TESTS: dict[str, Callable[[object, list[str]], Test]] = {
    "dangling": by_dangling, "reference": by_reference, "label": by_label, "before": created_before,
    "since": created_since,
}
