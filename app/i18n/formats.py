"""Dates in the portal's language: one format per locale, Babel's (CLDR) medium date and short time."""

from __future__ import annotations

from datetime import datetime

from babel.dates import format_date, format_time

from app.i18n.languages import locale_for


def moment(value: datetime, lang: str | None) -> str:
    """`value` as the locale writes a date and a time, in the value's own time zone (the portal's)."""
    locale = locale_for(lang)
    day = format_date(value, "medium", locale=locale)
    return f"{day}, {format_time(value, 'short', tzinfo=value.tzinfo, locale=locale)}"
