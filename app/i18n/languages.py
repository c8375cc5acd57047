"""Which of the shipped locales a portal's LANG asks for."""

from __future__ import annotations

LOCALES = ("en", "ru", "de", "uk", "pl", "es", "pt_BR")  # one catalog each in locales/<locale>/
DEFAULT = "en"

# Bitrix24's own language ids (the frame's LANG, the portal's language) that are not the locale's code:
# Ukrainian is "ua", Brazilian Portuguese "br", Spanish "la" (Latin America); Kazakhstan's and Belarus's
# portals speak Russian here until they have a catalog of their own.
BITRIX24: dict[str, str] = {"ua": "uk", "br": "pt_BR", "la": "es", "kz": "ru", "by": "ru"}


def locale_for(lang: str | None) -> str:
    """The shipped locale for a LANG (Bitrix24 id, `pt-BR`, `de_DE` …); English for anything else."""
    code = (lang or "").strip().replace("-", "_")
    if code in LOCALES:
        return code
    lower = code.lower()
    base = lower.split("_", 1)[0]
    found = BITRIX24.get(lower) or ("pt_BR" if base == "pt" else BITRIX24.get(base, base))
    return found if found in LOCALES else DEFAULT


# The other way: the Bitrix24 id each shipped locale has on a portal (a textWithTranslation's keys).
PORTAL_IDS: dict[str, str] = {"uk": "ua", "pt_BR": "br", "es": "la"}


def portal_language(lang: str | None) -> str:
    """The Bitrix24 language id of the shipped locale a LANG asks for (`uk` -> `ua`, `pt-BR` -> `br`)."""
    locale = locale_for(lang)
    return PORTAL_IDS.get(locale, locale)
