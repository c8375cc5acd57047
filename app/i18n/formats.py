"""Numbers and dates in the portal's language: Babel's (CLDR) numbers, medium date and short time."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from babel.dates import format_date, format_time
from babel.numbers import format_decimal

from app.i18n.languages import locale_for


def moment(value: datetime, lang: str | None) -> str:
    """`value` as the locale writes a date and a time, in the value's own time zone (the portal's)."""
    locale = locale_for(lang)
    day = format_date(value, "medium", locale=locale)
    return f"{day}, {format_time(value, 'short', tzinfo=value.tzinfo, locale=locale)}"


OFFSET = re.compile(r"([+-])([0-9]{2}):([0-9]{2})")  # "+03:00", as a portal's ISO 8601 times end; ASCII only


def offset_of(iso_time: str) -> str:
    """The UTC offset an ISO 8601 time carries ("2026-12-01T10:30:00+03:00" -> "+03:00"); "" if none."""
    text = iso_time.strip()
    return text[-6:] if len(text) > 6 and zone(text[-6:]) is not None else ""


def zone(offset: str) -> tzinfo | None:
    """A fixed zone for exactly "+HH:MM" (within ±14 h, as real zones are); None for anything else.

    Exactly: a page writes the `tz` it was sent back into its forms, so only the canonical text passes
    (no spaces, no other scripts' digits, which int() would read).
    """
    found = OFFSET.fullmatch(offset)
    if found is None:
        return None
    sign, hours, minutes = found.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    if delta > timedelta(hours=14) or int(minutes) >= 60:
        return None
    return timezone(-delta if sign == "-" else delta)


def stamp(value: datetime, lang: str | None, offset: str = "") -> str:
    """A stored UTC time as the locale writes it, in the portal's zone (`offset`; UTC when not known)."""
    return moment(value.astimezone(zone(offset) or UTC), lang)


def number(value: float, lang: str | None) -> str:
    """`value` as the locale writes a number: 12,345 / 12.345 / 12 345."""
    return format_decimal(value, locale=locale_for(lang))
