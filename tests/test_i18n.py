"""The gettext catalogs: complete, true to their placeholders, fresh against the sources; pages in them."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from babel.support import Translations

from app.i18n import LOCALES, LOCALES_DIR, gettext, locale_for, moment
from tests.test_main import open_main_page
from tests.test_timeline_page import activity_of, open_activity

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{+\w*\}+")  # %(name)s and {name}; {{SUBJECT}} stays literal too


def catalog(locale: str) -> Catalog:
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=locale)


def messages(cat: Catalog) -> list[Any]:
    return [m for m in cat if m.id]


def test_every_shipped_catalog_is_a_locale_the_app_chooses() -> None:
    shipped = {path.parent.parent.name for path in LOCALES_DIR.glob("*/LC_MESSAGES/messages.po")}
    assert shipped == set(LOCALES)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_is_translated(locale: str) -> None:
    cat = catalog(locale)
    untranslated = [m.id for m in messages(cat) if not all(m.string if m.pluralizable else [m.string])]
    assert untranslated == []
    assert not any(m.fuzzy for m in messages(cat)) and not cat.fuzzy


@pytest.mark.parametrize("locale", LOCALES)
def test_plural_forms_are_complete(locale: str) -> None:
    cat = catalog(locale)
    short = [m.id for m in messages(cat) if m.pluralizable and len(m.string) != cat.num_plurals]
    assert short == []


@pytest.mark.parametrize("locale", LOCALES)
def test_no_placeholder_is_lost_or_added(locale: str) -> None:
    wrong = []
    for m in messages(catalog(locale)):
        ids = m.id if m.pluralizable else [m.id]
        strings = m.string if m.pluralizable else [m.string]
        wanted = sorted(PLACEHOLDER.findall(ids[-1]))
        wrong += [(m.id, s) for s in strings if sorted(PLACEHOLDER.findall(s)) != wanted]
    assert wrong == []


def extracted(tmp_path: Path) -> set[tuple[str | None, str]]:
    """The msgids `make messages` would extract now (babel.cfg, the N_ and C_ markers)."""
    pot = tmp_path / "messages.pot"
    command = [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg"]
    command += ["-k", "N_", "-k", "C_:1c,2", "--omit-header", "-o", str(pot), "."]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    with pot.open("rb") as file:
        return {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in read_po(file) if m.id}


def test_the_catalogs_hold_exactly_the_msgids_of_the_sources(tmp_path: Path) -> None:
    wanted = extracted(tmp_path)
    assert len(wanted) > 200
    for locale in LOCALES:
        held = {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in messages(catalog(locale))}
        assert (locale, held - wanted, wanted - held) == (locale, set(), set())  # stale: run `make messages`


@pytest.mark.parametrize("locale", LOCALES)
def test_the_compiled_catalog_matches_its_po(locale: str) -> None:
    compiled = Translations.load(str(LOCALES_DIR), [locale])
    for m in messages(catalog(locale)):
        if not m.pluralizable:
            got = compiled.pgettext(m.context, m.id) if m.context else compiled.gettext(m.id)
            assert got == m.string, f"{locale}: {m.id!r} — run `make messages`"


@pytest.mark.parametrize(
    ("lang", "locale"),
    [
        ("ru", "ru"),
        ("de", "de"),
        ("ua", "uk"),  # Bitrix24's own ids
        ("br", "pt_BR"),
        ("la", "es"),
        ("pl", "pl"),
        ("kz", "ru"),
        ("by", "ru"),
        ("pt-BR", "pt_BR"),  # an HTML tag, as the page's own forms send it back
        ("de_DE", "de"),
        ("EN", "en"),
        ("fr", "en"),  # not shipped: English
        ("tc", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_a_portal_language_picks_its_locale(lang: str | None, locale: str) -> None:
    assert locale_for(lang) == locale


def test_an_unknown_language_falls_back_to_the_english_msgid() -> None:
    assert gettext("xx", "Deadline") == "Deadline"
    assert gettext("de", "Deadline") != "Deadline"
    assert gettext("de", "a sentence no catalog has") == "a sentence no catalog has"


def page(response: Any) -> str:
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("lang", "tag", "words"),
    [
        ("ru", "ru", ("Состояние установки", "Исправить", "Шаблоны дел")),
        ("de", "de", ("Zustand der Installation", "Reparieren", "Aktivitätsvorlagen")),
        ("fr", "en", ("Installation health", "Repair", "Activity templates")),  # not shipped: English
    ],
)
def test_the_main_page_speaks_the_portals_language(connected_app, sandbox, portal, lang, tag, words) -> None:
    html = page(open_main_page(connected_app.test_client(), sandbox, lang=lang))
    assert f'lang="{tag}"' in html
    assert all(word in html for word in words), words


@pytest.mark.parametrize(
    ("lang", "tag", "words"),
    [
        ("ru", "ru", ("Связанные элементы CRM", "Крайний срок", "Универсальное дело", "Ожидает")),
        ("de", "de", ("Verknüpfte CRM-Elemente", "Frist", '<dd data-fact="type">To-do</dd>', "Wartet")),
        ("xx", "en", ("Linked CRM items", "Deadline", '<dd data-fact="type">To-do</dd>', "Waiting")),
    ],
)
def test_the_activity_page_speaks_the_portals_language(
    connected_app, sandbox, portal, lang, tag, words
) -> None:
    activity = activity_of(sandbox)
    html = page(open_activity(connected_app.test_client(), sandbox, activity.id, lang=lang))
    assert f'lang="{tag}"' in html and f'name="lang" value="{tag}"' in html
    assert all(word in html for word in words), words


@pytest.mark.parametrize(
    ("lang", "written"),
    [
        ("en", "Dec 1, 2026, 10:30\u202fAM"),
        ("ru", "1 дек. 2026\u202fг., 10:30"),
        ("de", "01.12.2026, 10:30"),
        ("br", "1 de dez. de 2026, 10:30"),
    ],
)
def test_a_date_is_written_the_locales_way_in_the_portals_time_zone(lang: str, written: str) -> None:
    deadline = datetime(2026, 12, 1, 10, 30, tzinfo=timezone(timedelta(hours=3)))
    assert moment(deadline, lang) == written
