"""Coercion of decoded request values: JSON bodies give typed values, PHP bracket forms give strings."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

_INT = re.compile(r"^\s*[-+]?\d+\s*$")
_TZ = re.compile(r"^([+-])(\d{2}):?(\d{2})$")
TRUE_WORDS = {"y", "1", "true"}
FALSE_WORDS = {"n", "0", "false", ""}


def ci_get(params: dict[str, Any], name: str) -> Any:
    """Look a key up case-insensitively: legacy methods lower-case their params (notes §5.1)."""
    if name in params:
        return params[name]
    lowered = name.lower()
    return next((v for k, v in params.items() if isinstance(k, str) and k.lower() == lowered), None)


def to_int(value: Any) -> int | None:
    """Return an int for 5, "5", 5.0; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT.match(value):
        return int(value)
    return None


def to_float(value: Any) -> float | None:
    """Return a float for numbers and numeric strings."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value) if isinstance(value, str) and value.strip() else None
    except ValueError:
        return None


def to_bool(value: Any) -> bool | None:
    """Return True/False for Y/N, 1/0, true/false (in any of their wire forms); None otherwise."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    return None


def as_list(value: Any) -> list[Any] | None:
    """Return a list for a JSON array or a PHP form array ({"0": a, "1": b}); None otherwise."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and all(to_int(k) is not None for k in value):
        return [value[k] for k in sorted(value, key=lambda k: to_int(k) or 0)]
    return None


def portal_tz(offset: str) -> timezone:
    """Return the tzinfo for an offset such as "+02:00"."""
    match = _TZ.match(offset or "+00:00")
    if not match:
        return UTC
    sign = -1 if match.group(1) == "-" else 1
    return timezone(sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3))))


def parse_datetime(value: Any, tz: timezone) -> datetime:
    """Parse ISO 8601 (with or without offset) or "YYYY-MM-DD HH:MM:SS"; raise ValueError otherwise."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"not a date: {value!r}")
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = datetime.strptime(text, "%d.%m.%Y %H:%M:%S")  # the portal's own display format
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)  # a naive time is the portal's local time
    return parsed.replace(microsecond=0)


def format_datetime(value: datetime | None, tz: timezone) -> str:
    """Format like the docs (`2024-07-18T11:55:36+02:00`); an empty date is ""."""
    return value.astimezone(tz).isoformat(timespec="seconds") if value else ""
