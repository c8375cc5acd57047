"""Flask-Babel for the templates and the locale-aware formats, choosing the locale from the portal's LANG."""

from __future__ import annotations

from flask import Flask, request
from flask_babel import Babel

from app.i18n.catalogs import LOCALES_DIR
from app.i18n.languages import locale_for


def request_locale() -> str:
    """The frame's LANG (query or form), a page's own `lang` field, else English."""
    return locale_for(request.values.get("LANG") or request.values.get("lang"))


def init_babel(app: Flask) -> None:
    """Flask-Babel reads the same catalogs as app.i18n.gettext."""
    Babel(app, locale_selector=request_locale, default_translation_directories=str(LOCALES_DIR))
