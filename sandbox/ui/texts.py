"""Translated texts as the portal resolves them (textWithTranslation, LANG_ALL)."""

from __future__ import annotations

from typing import Any


def translate(value: Any, lang: str) -> str:
    """Resolve textWithTranslation: current language, then en, then the first entry (notes §6.2)."""
    if isinstance(value, dict):
        if not value:
            return ""
        for key in (lang, "en"):
            if key in value:
                return str(value[key])
        return str(next(iter(value.values())))
    return "" if value is None else str(value)


def placement_title(row: dict[str, Any], lang: str) -> str:
    """Title of a bound placement: LANG_ALL wins over TITLE (notes §3.1), current language → en → first."""
    lang_all = row.get("lang_all") or {}
    if isinstance(lang_all, dict) and lang_all:
        titles = {k: v.get("TITLE") for k, v in lang_all.items() if isinstance(v, dict) and v.get("TITLE")}
        if titles:
            return translate(titles, lang)
    return str(row.get("title") or row.get("placement") or "")
