"""Untrusted input made safe to hold: JSON bounded in depth and number size, and ids as small integers.

Every JSON text a stranger can send (event bodies, PLACEMENT_OPTIONS, API bodies, layouts in forms,
rules and templates) goes through `load_json`, so nothing later — rendering, fingerprinting, the layout
reader, the database — meets a structure deep enough to exhaust the stack or a number too big for a column.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, TypeVar

from flask import current_app, has_app_context
from werkzeug.routing import IntegerConverter, Map

DEFAULT_DEPTH = 32  # a content-block layout nests 9 levels deep at most (lineOfBlocks > … > actionParams)
MAX_DIGITS = 19  # an int64 has at most 19 digits; a longer number is no id, count or amount we take
MAX_ID = 2**31 - 1  # Bitrix24 ids are MySQL INT columns; ours are INTEGER (PostgreSQL: int4)
# Deadlines a person means: a year far outside these breaks the portal's own lists (year 9999 with an offset
# is past MySQL's DATETIME) and overflows date arithmetic (a snooze of a day).
FIRST_YEAR, LAST_YEAR = 1970, 2199
T = TypeVar("T")
# An escaped surrogate, half a pair or whole (json.loads joins a pair), or a surrogate in a str already
# (valid UTF-8 bytes hold none). Searched first: the value is checked only when the text has one.
_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]|[\ud800-\udfff]")
_ID = re.compile(r"[0-9]{1,10}")  # ASCII digits only: str.isdigit() also admits '²', which int() refuses


class JsonRefused(ValueError):
    """A JSON text refused, with words a person can act on."""


def json_depth() -> int:
    """The nesting depth allowed: JSON_DEPTH_LIMIT from the configuration, else the default."""
    return (
        int(current_app.config.get("JSON_DEPTH_LIMIT", DEFAULT_DEPTH)) if has_app_context() else DEFAULT_DEPTH
    )


def load_json(raw: str | bytes, *, max_depth: int | None = None) -> Any:
    """Parse JSON that may come from anyone; JsonRefused when it is not JSON, too deep or has huge numbers."""
    depth = max_depth or json_depth()
    try:
        value = json.loads(raw, parse_int=_int, parse_constant=_constant)
    except RecursionError:
        raise _too_deep(depth) from None
    except JsonRefused:
        raise
    except ValueError as error:
        raise JsonRefused(f"is not JSON ({error})") from None
    if too_deep(value, depth):
        raise _too_deep(depth)
    if _may_hold_a_surrogate(raw):
        _whole_characters(value)
    return value


def _may_hold_a_surrogate(raw: str | bytes) -> bool:
    """Whether the text escapes a surrogate, or holds one; most escape none (a search at memchr speed)."""
    if isinstance(raw, bytes):
        return b"\\u" in raw and _ESCAPED_SURROGATE.search(raw) is not None
    return _SURROGATE.search(raw) is not None


def _whole_characters(value: Any) -> None:
    """Refuse half a UTF-16 surrogate pair (an escape such as \\ud800 alone): no page, log line or database
    column can encode it, and the portal's json_decode refuses it too (JSON_ERROR_UTF16)."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise JsonRefused(
            "is not JSON: it holds half a UTF-16 surrogate pair (such as \\ud800 alone)"
        ) from None


def too_deep(value: Any, limit: int) -> bool:
    """Tell whether arrays and objects nest deeper than `limit`, without recursion."""
    stack = [(value, 1)]
    while stack:
        node, level = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        if level > limit:
            return True
        stack.extend((child, level + 1) for child in children if isinstance(child, dict | list))
    return False


def as_id(value: Any) -> int | None:
    """A positive id from a form field, a JSON number or a string of ASCII digits; None if it is none."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _ID.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        return None
    return number if 0 < number <= MAX_ID else None


def bounded_int(value: Any, default: T, *, low: int, high: int) -> int | T:
    """An integer from untrusted text within [low, high]; `default` when it is not one or out of range."""
    text = str(value if value is not None else "").strip()
    if not re.fullmatch(r"-?[0-9]{1,19}", text):
        return default
    number = int(text)
    return number if low <= number <= high else default


class IdConverter(IntegerConverter):
    """`<int:…>` in the app's routes: an id from 1 to MAX_ID, else the route does not match (404).

    Werkzeug's own converter takes any length of digits, and a 25-digit id overflowed SQLite's INTEGER.
    """

    regex = r"\d{1,10}"

    def __init__(self, url_map: Map, fixed_digits: int = 0, min: int = 1, max: int = MAX_ID) -> None:
        super().__init__(url_map, fixed_digits, min, max)


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise JsonRefused(f"has a number longer than {MAX_DIGITS} digits")
    return int(text)


def _constant(name: str) -> Any:
    raise JsonRefused(f"uses {name}, which is not JSON")


def _too_deep(depth: int) -> JsonRefused:
    return JsonRefused(f"nests arrays and objects deeper than {depth} levels")


def plausible_date(moment: datetime) -> bool:
    """A date-time whose year lies in [FIRST_YEAR, LAST_YEAR], so it can be stored, listed and moved a day."""
    return FIRST_YEAR <= moment.year <= LAST_YEAR
