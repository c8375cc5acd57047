"""The gettext catalogs: complete, true to their placeholders, fresh against the sources; pages in them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from babel.support import Translations

from app.api import keys
from app.extensions import db
from app.i18n import LOCALES, LOCALES_DIR, counted, gettext, locale_for, moment, number
from app.main.texts import COUNTED, problem_text
from app.models import EnrichmentRule, InboxEvent, InboxStatus
from app.timeline.configurable_texts import LIMITED
from tests.layout_cases import CASES, CONFIGURABLE_CASES, STRICT_CASES, STRICT_CONFIGURABLE_CASES
from tests.layout_cases import LANGUAGES as CORPUS_LANGUAGES
from tests.test_main import open_main_page
from tests.test_main_rules import admin_token
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
    command += ["-k", "N_", "-k", "NP_:1,2", "-k", "C_:1c,2", "--omit-header", "-o", str(pot), "."]
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


# A count in a msgid needs ngettext (NP_), or its noun agrees with 1 only (or with 2 only: "najwyżej 2 tagi").
COUNT = re.compile(r"\{(count|n|items|minutes|seconds|pending|total|more|limit|size|days|hours|max_\w+)\}")
UNIT = re.compile(
    r"\{\w+\} s\b"
)  # "{seconds} s": a unit's symbol, the same for every number in every catalog
NOT_COUNTED = {
    "Colour {n}",  # a colour's number, no noun counted
    "Up to {n}, separated by commas.",  # "up to 2", no noun counted
    "Matches: {n}. Use the up and down arrows to choose.",  # a label and its figure ("Совпадений: 5")
    "'{name}' has too many items ({items}); the most allowed is {limit}.",  # the numbers stand apart
}


def test_every_message_with_a_count_has_plural_forms() -> None:
    singular = [
        m.id for m in messages(catalog("en")) if not m.pluralizable and COUNT.search(UNIT.sub("", m.id))
    ]
    assert [m for m in singular if m not in NOT_COUNTED] == []
    plural = [m.id for m in messages(catalog("en")) if m.pluralizable]
    assert len(plural) >= 6 and all("{count}" in m[0] and "{count}" in m[1] for m in plural)


@pytest.mark.parametrize(
    ("lang", "forms"),
    [
        ("ru", {1: "ждёт 1 событие", 2: "ждут 2 события", 5: "ждут 5 событий", 21: "ждёт 21 событие"}),
        ("uk", {1: "чекає 1 подія", 2: "чекають 2 події", 5: "чекають 5 подій", 21: "чекає 21 подія"}),
        (
            "pl",
            {
                1: "czeka 1 zdarzenie",
                2: "czekają 2 zdarzenia",
                5: "czeka 5 zdarzeń",
                22: "czekają 22 zdarzenia",
            },
        ),
        ("de", {1: "1 Ereignis wartet", 2: "2 Ereignisse warten", 21: "21 Ereignisse warten"}),
        ("en", {1: "1 event is waiting", 2: "2 events are waiting", 0: "0 events are waiting"}),
        (
            "br",
            {0: "0 evento está aguardando", 1: "1 evento está aguardando", 2: "2 eventos estão aguardando"},
        ),
        ("es", {1: "1 evento está esperando", 5: "5 eventos están esperando"}),
    ],
)
def test_a_count_takes_the_form_its_language_uses(lang: str, forms: dict[int, str]) -> None:
    assert {n: counted(lang, COUNTED["workers_waiting"], n) for n in forms} == forms


def test_a_russian_minute_count_and_a_limit_in_every_form() -> None:
    idle = COUNTED["workers_idle"]
    ending = {n: counted("ru", idle, n).rsplit(" ", 1)[1] for n in (1, 2, 5, 11, 21, 104)}
    assert ending == {1: "минуту", 2: "минуты", 5: "минут", 11: "минут", 21: "минуту", 104: "минуты"}
    words, _ = LIMITED["tags.too_many"]
    assert [counted("pl", words, n) for n in (1, 2, 5)] == [
        "Podaj najwyżej 1 tag.",
        "Podaj najwyżej 2 tagi.",
        "Podaj najwyżej 5 tagów.",
    ]


@pytest.mark.parametrize(
    ("lang", "written"),
    [
        ("en", "1,234,567"),
        ("de", "1.234.567"),
        ("ru", "1\xa0234\xa0567"),
        ("fr", "1,234,567"),
        ("br", "1.234.567"),
    ],
)
def test_a_number_is_written_the_locales_way(lang: str, written: str) -> None:
    assert number(1234567, lang) == written
    assert written in counted(lang, COUNTED["workers_waiting"], 1234567)  # a count's placeholder too


RECEIVED = datetime(2026, 12, 1, 7, 30, tzinfo=UTC)  # 10:30 at the portal (+03:00)


@pytest.fixture
def moscow_portal(sandbox, monkeypatch) -> None:
    """The sandbox portal's clock three hours ahead of UTC, as its answers' time.date_start shows it."""
    monkeypatch.setattr(sandbox.portal, "timezone_offset", "+03:00")


def stored_figures(member_id: str) -> None:
    """An event received at RECEIVED (failed twice), a rule with five-figure counts, a key made then."""
    db.session.add(
        InboxEvent(
            dedup_key="i18n-1",
            event="ONCRMACTIVITYADD",
            member_id=member_id,
            payload={},
            status=InboxStatus.FAILED,
            attempts=2,
            received_at=RECEIVED,
        )
    )
    layout = {"blocks": {"a": {"type": "text", "properties": {"value": "x"}}}}
    db.session.add(EnrichmentRule(member_id=member_id, name="Busy", layout=layout, applied_count=12345))
    key, _ = keys.create_key(member_id, "ERP")
    key.created_at = RECEIVED
    db.session.commit()


@pytest.mark.parametrize(
    ("lang", "when", "count", "words"),
    [
        ("en", "Dec 1, 2026, 10:30\u202fAM", "12,345", ("failed ×2", "active")),
        ("de", "01.12.2026, 10:30", "12.345", ("fehlgeschlagen ×2", "aktiv")),
        ("ru", "1 дек. 2026\u202fг., 10:30", "12\xa0345", ("ошибка ×2", "работает")),
    ],
)
def test_the_admin_tables_write_times_in_the_portals_zone_and_numbers_the_locales_way(
    connected_app, sandbox, portal, moscow_portal, lang, when, count, words
) -> None:
    stored_figures(portal.member_id)
    html = page(open_main_page(connected_app.test_client(), sandbox, lang=lang))
    stamp = f'<time datetime="{RECEIVED.isoformat()}">{when}</time>'
    assert html.count(stamp) == 3  # recent events, failures, the key's creation
    assert f"<td>{count} / 0 / 0</td>" in html and "UTC" not in html
    assert all(word in html for word in words), words
    assert 'name="tz" value="+03:00"' in html  # the forms carry the zone to the pages they lead to


@pytest.mark.parametrize(
    ("tz", "when"),
    [
        ("+03:00", "01.12.2026, 10:30"),
        ("-05:30", "01.12.2026, 02:00"),
        ("+99:00", "01.12.2026, 07:30"),  # no such zone: UTC
        ('"><script>', "01.12.2026, 07:30"),
        ("+\u0660\u0663:\u0660\u0660", "01.12.2026, 07:30"),  # Arabic-Indic digits (int() reads them)
        ("", "01.12.2026, 07:30"),
    ],
)
def test_a_form_brings_back_the_pages_zone_and_nothing_else(
    connected_app, portal, tz: str, when: str
) -> None:
    stored_figures(portal.member_id)
    form = {"page_token": admin_token(portal), "lang": "de", "tz": tz, "label": "Helpdesk"}
    html = page(connected_app.test_client().post("/api-keys", data=form))
    assert f'<time datetime="{RECEIVED.isoformat()}">{when}</time>' in html
    assert "<script>" not in html
    assert f'name="tz" value="{tz if tz in ("+03:00", "-05:30") else ""}"' in html


def every_layout_problem() -> list[Any]:
    """The problems of the whole layout corpus (tests/layout_cases.py), both readers, strict ones too."""
    from tests.test_layout import configurable_problems_of, problems_of

    found = []
    for case in CASES + STRICT_CASES:
        found += problems_of(case.layout, languages=CORPUS_LANGUAGES) if case.code else []
    for case in CONFIGURABLE_CASES + STRICT_CONFIGURABLE_CASES:
        found += configurable_problems_of(case.layout, languages=CORPUS_LANGUAGES) if case.code else []
    return found


def test_every_layout_problem_is_a_catalog_message_that_reads_as_the_english_one() -> None:
    problems = every_layout_problem()
    assert len(problems) > 50
    held = {m.id for m in messages(catalog("en"))}
    assert [p.message for p in problems if not p.words or p.words not in held] == []
    assert [p.message for p in problems if problem_text(p, "en") != p.message] == []


@pytest.mark.parametrize("locale", [locale for locale in LOCALES if locale != "en"])
def test_every_layout_problem_reads_in_each_language(locale: str) -> None:
    problems = every_layout_problem()
    assert [p.message for p in problems if problem_text(p, locale) == p.message] == []


def test_a_refused_template_names_its_problems_in_russian_with_the_portals_codes(
    connected_app, portal
) -> None:
    layout = {"blocks": {"b1": {"type": "text", "properties": {"value": "x", "colour": "base_90"}}}}
    form = {
        "page_token": admin_token(portal),
        "lang": "ru",
        "name": "Звонок",
        "subject": "О {{SUBJECT}} {{NOPE}}",
        "layout": json.dumps(layout),
    }
    response = connected_app.test_client().post("/templates", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "неизвестная подстановка {{NOPE}}: такого поля у дела нет" in html
    assert 'data-code="WRONG_FIELD_VALUE"' in html
    again = form | {"page_token": admin_token(portal), "subject": "x", "lang": "de"}  # a page token acts once
    german = connected_app.test_client().post("/templates", data=again).get_data(as_text=True)
    assert "Ein text-Block hat keine Eigenschaft &#39;colour&#39;. Meinten Sie &#39;color&#39;?" in german
    assert 'data-code="FIELD_IS_REDUNDANT"' in german
