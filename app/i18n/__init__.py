"""The app's languages: the locale from the portal's LANG, and the gettext catalogs (locales/)."""

from app.i18n.catalogs import (
    C_,
    LOCALES_DIR,
    N_,
    NP_,
    Refusal,
    counted,
    gettext,
    per_locale,
    pgettext,
    translated,
)
from app.i18n.formats import moment, number, offset_of, stamp, zone
from app.i18n.languages import LOCALES, locale_for, portal_language

__all__ = [
    "C_",
    "LOCALES",
    "LOCALES_DIR",
    "NP_",
    "N_",
    "Refusal",
    "counted",
    "gettext",
    "locale_for",
    "moment",
    "number",
    "offset_of",
    "per_locale",
    "pgettext",
    "portal_language",
    "stamp",
    "translated",
    "zone",
]
