"""The compiled gettext catalogs (locales/<locale>/LC_MESSAGES/messages.mo); msgids are the English words."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache, wraps
from pathlib import Path
from typing import TypeVar

from babel.support import NullTranslations, Translations

from app.i18n.formats import number
from app.i18n.languages import locale_for

LOCALES_DIR = Path(__file__).parent / "locales"
K = TypeVar("K")
V = TypeVar("V")


def N_(message: str) -> str:
    """Mark an English msgid for `make messages` (babel.cfg); it is translated where it is shown."""
    return message


def NP_(singular: str, plural: str) -> tuple[str, str]:
    """Mark a counted msgid (its English one and many forms) for `make messages`; `counted` shows it."""
    return singular, plural


def C_(context: str, message: str) -> str:
    """Mark a msgid that has a context (`pgettext`), e.g. a type's name that is also a heading elsewhere."""
    return message


@cache
def _catalog(locale: str) -> NullTranslations:
    """One locale's catalog, read once per process (the same loader Flask-Babel uses)."""
    return Translations.load(str(LOCALES_DIR), [locale], domain="messages")


def gettext(lang: str | None, message: str) -> str:
    """`message` in the language a LANG asks for (the English msgid where a catalog lacks it)."""
    return _catalog(locale_for(lang)).gettext(message)


def pgettext(lang: str | None, context: str, message: str) -> str:
    """`message` in `context` (see C_) in the language a LANG asks for."""
    return str(_catalog(locale_for(lang)).pgettext(context, message))


def counted(lang: str | None, words: tuple[str, str], count: int, **values: object) -> str:
    """The form of `words` a language uses for `count` (ngettext), its placeholders filled.

    The count's own placeholder (`{count}` unless `values` names it) is written the locale's way (5 000).
    """
    locale = locale_for(lang)
    message = _catalog(locale).ngettext(words[0], words[1], count)
    return message.format(**{"count": number(count, locale), **values})


class Refusal(ValueError):
    """Words refusing an input whose English is a msgid (or an NP_ pair and its count); `said` translates it.

    The exception's own text is the English, for the APIs, the CLI and the logs.
    """

    def __init__(self, words: str | tuple[str, str], count: int | None = None, **values: str) -> None:
        self.words, self.count, self.values = words, count, values
        super().__init__(self.said("en"))

    def said(self, lang: str | None) -> str:
        """The refusal in the language a LANG asks for."""
        if isinstance(self.words, tuple):
            return counted(lang, self.words, self.count or 0, **self.values)
        message = gettext(lang, self.words)
        return message.format(**self.values) if self.values else message


def translated(words: Mapping[K, str], lang: str | None) -> dict[K, str]:
    """A table of English msgids with each one translated."""
    catalog = _catalog(locale_for(lang))
    return {key: catalog.gettext(message) for key, message in words.items()}


def per_locale(build: Callable[[str], dict[K, V]]) -> Callable[[str | None], dict[K, V]]:
    """A text table `build` makes for a shipped locale, made once per locale; each caller gets a copy.

    Keyed by the locale a LANG asks for (de, de-DE and de_DE share one table), never by the LANG itself;
    the copy is shallow, so nested tables are shared and only read.
    """
    built = cache(build)

    @wraps(build)
    def table(lang: str | None) -> dict[K, V]:
        return dict(built(locale_for(lang)))

    return table
