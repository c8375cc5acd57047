"""Numbers and dates in the portal's language: Babel's (CLDR) numbers, medium date and short time."""

from __future__ import annotations

from datetime import datetime

from babel.dates import format_date, format_time
from babel.numbers import format_decimal

from app.i18n.languages import locale_for


def moment(value: datetime, lang: str | None) -> str:
    """`value` as the locale writes a date and a time, in the value's own time zone (the portal's)."""
    locale = locale_for(lang)
    day = format_date(value, "medium", locale=locale)
    return f"{day}, {format_time(value, 'short', tzinfo=value.tzinfo, locale=locale)}"


def number(value: float, lang: str | None) -> str:
    """`value` as the locale writes a number: 12,345 / 12.345 / 12 345."""
    return format_decimal(value, locale=locale_for(lang))
