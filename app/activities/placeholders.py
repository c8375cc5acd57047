"""Layouts with {{FIELD}} placeholders, filled from an activity's fields: for enrichment rules and templates.

The names a placeholder may use, the check on save (unknown names refused, the template valid once filled with
sample values) and the filling, in one place for both kinds of stored layout.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from itertools import islice
from typing import Any

from app.bitrix24 import activities
from app.i18n import N_
from app.inputs import JsonRefused, load_json
from app.layout import MAX_PROBLEMS, Code, LayoutError, Problem, fill, parse_layout, placeholders, problem

FIELD_NAMES = activities.WRITABLE | {"ID", "CREATED", "LAST_UPDATED", "START_TIME", "END_TIME", "DEADLINE"}
# Fits any text, id and uri position ("/1" is a portal path, and https://x/{{ID}} stays a URL); a placeholder
# where an enum or flag goes fails.
SAMPLE_VALUE = "/1"


def values_of(fields: Mapping[str, Any]) -> dict[str, str]:
    """Placeholder values: every field as text (objects as JSON, missing as empty)."""
    return {str(key): _text(value) for key, value in fields.items()}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def render_layout(layout: Mapping[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
    """A layout template filled from the fields (unknown names empty), checked as the portal would.

    An empty field leaves an empty text, which the portal takes: the template was checked for typed-in
    empty texts when it was saved, and the activity's own data is no reason to fail its rule.
    """
    filled = fill(layout, fill_values(layout, fields))
    return parse_layout(filled, blank_text=True).to_wire()


def fill_values(template: Any, fields: Mapping[str, Any]) -> dict[str, str]:
    """Values for every placeholder of a template: the fields as text, names the fields lack as empty."""
    return dict.fromkeys(placeholders(template), "") | values_of(fields)


def unknown_placeholder(path: str, name: str) -> Problem:
    """A {{NAME}} that is no activity field, at `path`."""
    words = N_("unknown placeholder {placeholder}: not an activity field")
    return problem(Code.WRONG_FIELD_VALUE, path, words, placeholder=f"{{{{{name}}}}}")


def check_template(layout: Mapping[str, Any]) -> None:
    """Refuse unknown placeholder names and templates that are invalid once filled with sample values."""
    found = (
        unknown_placeholder(path, name)
        for path, name in _placeholder_paths(layout)
        if name not in FIELD_NAMES
    )
    unknown = list(islice(found, MAX_PROBLEMS))  # a refusal lists a few: thousands would flood the answer
    if unknown:
        raise LayoutError(unknown)
    parse_layout(fill(layout, dict.fromkeys(placeholders(layout), SAMPLE_VALUE)))


def _placeholder_paths(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(dotted path, name) of every placeholder in the template's string values."""
    if isinstance(value, str):
        for name in sorted(placeholders(value)):
            yield path, name
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _placeholder_paths(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _placeholder_paths(item, f"{path}.{index}" if path else str(index))


def layout_json(raw: Any, *, refuse: type[Exception]) -> dict[str, Any]:
    """A layout given as JSON text or as an object; `refuse` (with words) if it is neither."""
    if isinstance(raw, str):
        try:
            raw = load_json(raw)
        except JsonRefused as refused:
            raise refuse(f"the layout {refused}") from None
    if not isinstance(raw, dict):
        raise refuse(N_('the layout must be a JSON object such as {"blocks": {…}}'))
    return raw


def describe(error: LayoutError) -> str:
    """The problems in words, each with its path."""
    return "; ".join(f"{p.path or 'layout'}: {p.message} ({p.code})" for p in error.problems)
