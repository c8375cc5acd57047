"""Layout templates: ``{{NAME}}`` placeholders in string values, and filling them in."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, cast

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}")


def fill(layout_json: Mapping[str, Any], values: Mapping[str, str]) -> dict[str, Any]:
    """Return a copy of template JSON with ``{{NAME}}`` replaced in every string value (never in keys).

    Unknown names stay visible as ``{{NAME}}`` rather than failing a background job or vanishing silently;
    check a template when it is saved with ``placeholders(template) - known_names``. Inserted values are not
    scanned again, so a CRM value that contains ``{{X}}`` cannot pull in another value.
    """
    return cast(dict[str, Any], _fill(layout_json, values))


def _fill(value: Any, values: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), value)
    if isinstance(value, Mapping):
        return {key: _fill(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, values) for item in value]
    return value


def placeholders(layout_json: Any) -> set[str]:
    """Return the ``{{NAME}}`` names used in the string values of template JSON."""
    if isinstance(layout_json, str):
        return set(_PLACEHOLDER.findall(layout_json))
    if isinstance(layout_json, Mapping):
        items = list(layout_json.values())
    elif isinstance(layout_json, list):
        items = layout_json
    else:
        return set()
    names: set[str] = set()
    for item in items:
        names |= placeholders(item)
    return names
