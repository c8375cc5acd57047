"""Activity templates: the shipped defaults, adding/saving/deleting with checks, rendering, and the CLI."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from sqlalchemy import select

from app.activities import templates
from app.activities.defaults import default_templates
from app.activities.templates import TemplateError
from app.extensions import db
from app.i18n import LOCALES
from app.layout import LayoutError
from app.models import ActivityTemplate, Portal, TemplateSeed

MEMBER = "t" * 32
OTHER = "u" * 32
LAYOUT: dict[str, Any] = {
    "blocks": {
        "about": {"type": "text", "properties": {"value": "About {{SUBJECT}} ({{OWNER_ID}})"}},
        "open": {
            "type": "link",
            "properties": {
                "text": "Open",
                "action": {"type": "redirect", "uri": "/crm/deal/details/{{OWNER_ID}}/"},
            },
        },
    }
}
FIELDS = {"ID": "17", "SUBJECT": "Send the draft", "OWNER_TYPE_ID": "2", "OWNER_ID": "4", "DESCRIPTION": None}


def data(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Callback",
        "subject": "Call about {{SUBJECT}}",
        "description": "For #{{ID}}",
        "layout": LAYOUT,
    } | overrides


def names(member_id: str = MEMBER) -> list[str]:
    return [t.name for t in templates.portal_templates(member_id)]


def test_a_portal_gets_the_shipped_defaults_once(app) -> None:
    assert names() == ["Follow-up call", "Meeting notes", "Send the offer"]
    assert db.session.get(TemplateSeed, MEMBER) is not None
    for template in templates.portal_templates(MEMBER):
        templates.delete_template(template)
    db.session.commit()
    assert names() == []  # deleting them all does not bring them back
    assert names(OTHER) == ["Follow-up call", "Meeting notes", "Send the offer"]


@pytest.mark.parametrize("locale", LOCALES)
def test_every_default_renders_to_a_valid_layout_in_every_language(app, locale: str) -> None:
    for default in default_templates(locale):
        templates.validate(default)
        rendered = templates.render(ActivityTemplate(**default), FIELDS)
        assert "{{" not in json.dumps(rendered.layout) and "{{" not in rendered.subject


RUSSIAN = ["Итоги встречи", "Отправить предложение", "Повторный звонок"]
GERMAN = ["Angebot senden", "Besprechungsnotizen", "Rückruf"]


UKRAINIAN = ["Надіслати пропозицію", "Повторний дзвінок", "Підсумки зустрічі"]
ENGLISH = ["Follow-up call", "Meeting notes", "Send the offer"]


@pytest.mark.parametrize(
    ("lang", "wanted"), [("ru", RUSSIAN), ("de", GERMAN), ("ua", UKRAINIAN), ("fr", ENGLISH), (None, ENGLISH)]
)
def test_a_portal_is_seeded_in_the_language_it_first_came_with(app, lang: str | None, wanted) -> None:
    assert templates.seed_defaults(MEMBER, lang)
    assert names() == wanted
    assert not templates.seed_defaults(MEMBER, "de") and names() == wanted  # a later language changes nothing


def test_a_russian_seed_is_russian_through_and_through(app) -> None:
    templates.seed_defaults(MEMBER, "ru")
    call = templates.find_template(MEMBER, "Повторный звонок")
    assert call is not None and call.subject == "Повторный звонок: {{SUBJECT}}"
    assert call.description == "Перезвонить по теме «{{SUBJECT}}» (дело №{{ID}})."
    blocks = call.layout["blocks"]
    assert blocks["about"]["properties"]["title"] == "О чём"
    assert blocks["source"]["properties"] == {
        "text": "Дело №{{ID}}",
        "action": {"type": "redirect", "uri": "/crm/activity/?open_view={{ID}}"},
    }
    rendered = templates.render(call, FIELDS)
    assert rendered.subject == "Повторный звонок: Send the draft"
    assert rendered.layout["blocks"]["source"]["properties"]["text"] == "Дело №17"


def test_an_unedited_default_speaks_each_viewers_language(app) -> None:
    templates.seed_defaults(MEMBER, "en")  # an install from before the defaults were translated
    assert [t.name for t in templates.shown_templates(MEMBER, "ru")] == RUSSIAN
    assert [t.name for t in templates.shown_templates(MEMBER, "de")] == GERMAN
    assert [t.name for t in templates.shown_templates(MEMBER, "en")] == ENGLISH
    offer = templates.find_template(MEMBER, "Send the offer")
    assert offer is not None
    german = templates.render(templates.in_language(offer, "de"), FIELDS)
    assert german.subject == "Angebot senden: Send the draft"
    assert german.layout["blocks"]["step"]["properties"]["title"] == "Nächster Schritt"
    assert templates.render(offer, FIELDS).subject == "Send the offer: Send the draft"  # the row as stored


def test_a_default_seeded_in_one_language_is_shown_in_another(app) -> None:
    templates.seed_defaults(MEMBER, "ru")
    assert [t.name for t in templates.shown_templates(MEMBER, "de")] == GERMAN


def test_an_edited_default_stays_as_its_administrator_wrote_it(app) -> None:
    templates.seed_defaults(MEMBER, "en")
    call = templates.find_template(MEMBER, "Follow-up call")
    assert call is not None
    templates.update_template(call, {"subject": "Call them back: {{SUBJECT}}"})
    db.session.commit()
    shown = {t.id: t for t in templates.shown_templates(MEMBER, "ru")}
    assert (shown[call.id].name, shown[call.id].subject) == ("Follow-up call", "Call them back: {{SUBJECT}}")
    assert sorted(t.name for t in shown.values()) == [
        "Follow-up call",
        "Итоги встречи",
        "Отправить предложение",
    ]


def test_first_reads_racing_seed_one_set(app) -> None:
    """Concurrent first reads: the marker's primary key lets one seeding commit; the others roll back."""
    barrier, errors = threading.Barrier(4), []

    def first_read() -> None:
        with app.app_context():
            try:
                barrier.wait(5)
                templates.portal_templates(MEMBER)
            except Exception as error:
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=first_read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert (
        len(db.session.scalars(select(ActivityTemplate).where(ActivityTemplate.member_id == MEMBER)).all())
        == 3
    )


def test_adding_finding_and_saving_a_template(app) -> None:
    added = templates.add_template(MEMBER, data(layout=json.dumps(LAYOUT)))
    db.session.commit()
    assert templates.find_template(MEMBER, added.id) is added
    assert templates.find_template(MEMBER, str(added.id)) is added
    assert templates.find_template(MEMBER, "Callback") is added
    assert templates.find_template(OTHER, added.id) is None and templates.find_template(MEMBER, "") is None
    templates.update_template(added, {"subject": "Ring back: {{SUBJECT}}", "name": None})
    db.session.commit()
    db.session.expire_all()
    stored = db.session.scalar(select(ActivityTemplate).where(ActivityTemplate.id == added.id))
    assert (stored.name, stored.subject, stored.layout) == ("Callback", "Ring back: {{SUBJECT}}", LAYOUT)


def test_rendering_fills_subject_description_and_blocks(app) -> None:
    template = templates.add_template(MEMBER, data())
    rendered = templates.render(template, FIELDS)
    assert rendered.subject == "Call about Send the draft" and rendered.description == "For #17"
    assert rendered.layout["blocks"]["about"]["properties"]["value"] == "About Send the draft (4)"
    assert rendered.layout["blocks"]["open"]["properties"]["action"]["uri"] == "/crm/deal/details/4/"


def test_a_template_that_fills_invalid_is_refused_when_rendered(app) -> None:
    layout = {
        "blocks": {
            "go": {
                "type": "link",
                "properties": {"text": "Go", "action": {"type": "redirect", "uri": "{{DESCRIPTION}}"}},
            }
        }
    }
    template = templates.add_template(MEMBER, data(layout=layout))
    with pytest.raises(LayoutError):
        templates.render(template, {"DESCRIPTION": "javascript:alert(1)"})


@pytest.mark.parametrize(
    ("overrides", "error", "words"),
    [
        ({"name": " "}, TemplateError, "a template needs a name of 1 to 255"),
        ({"name": "x" * 256}, TemplateError, "the name is longer than 255"),
        ({"subject": ""}, TemplateError, "a template needs a subject of 1 to 512"),
        ({"layout": "{not json"}, TemplateError, "the layout is not JSON"),
        ({"layout": "[1]"}, TemplateError, "must be a JSON object"),
        ({"name": "Follow-up call"}, TemplateError, "already has a template named"),
        ({"subject": "Hi {{NOPE}}"}, LayoutError, "subject: unknown placeholder {{NOPE}}"),
        ({"description": "{{WHO}}"}, LayoutError, "description: unknown placeholder {{WHO}}"),
        (
            {"layout": {"blocks": {"b": {"type": "text", "properties": {"value": "{{NOPE}}"}}}}},
            LayoutError,
            "blocks.b.properties.value",
        ),
        ({"layout": {"blocks": {"b": {"type": "money", "properties": {}}}}}, LayoutError, "blocks.b.type"),
        ({"layout": {"blocks": {}}}, LayoutError, "blocks"),
    ],
)
def test_unfit_templates_are_refused_in_words(app, overrides, error, words) -> None:
    with pytest.raises(error) as refused:
        templates.add_template(MEMBER, data(**overrides))
    text = templates_text(refused.value)
    assert words in text, text
    db.session.rollback()
    assert names() == ["Follow-up call", "Meeting notes", "Send the offer"]


def templates_text(error: Exception) -> str:
    if isinstance(error, LayoutError):
        return "; ".join(f"{p.path}: {p.message}" for p in error.problems)
    return str(error)


def test_renaming_onto_another_templates_name_is_refused(app) -> None:
    added = templates.add_template(MEMBER, data())
    db.session.commit()
    with pytest.raises(TemplateError, match="already has a template named"):
        templates.update_template(added, {"name": "Meeting notes"})
    templates.update_template(added, {"name": "Callback"})  # its own name is fine


# --- the CLI ---


@pytest.fixture
def stored_portal(app) -> Portal:
    portal = Portal(member_id=MEMBER, domain="t.bitrix24.com", client_endpoint="https://t.bitrix24.com/rest/")
    db.session.add(portal)
    db.session.commit()
    return portal


def test_cli_lists_the_defaults_adds_and_deletes(runner, stored_portal, tmp_path) -> None:
    listed = runner.invoke(args=["templates", "list", "--portal", MEMBER])
    assert listed.exit_code == 0, listed.output
    assert "Follow-up call" in listed.output and "3 templates" in listed.output
    layout = tmp_path / "layout.json"
    layout.write_text(json.dumps(LAYOUT), encoding="utf-8")
    args = ["templates", "add", "--portal", MEMBER, "--name", "Callback", "--subject", "Call {{SUBJECT}}"]
    added = runner.invoke(args=[*args, "--layout", str(layout)])
    assert added.exit_code == 0 and "added: Callback" in added.output, added.output
    deleted = runner.invoke(args=["templates", "delete", "--portal", MEMBER, "Follow-up call"])
    assert deleted.exit_code == 0 and "deleted: Follow-up call" in deleted.output
    assert names() == ["Callback", "Meeting notes", "Send the offer"]


def test_cli_refuses_in_words(runner, stored_portal, tmp_path) -> None:
    layout = tmp_path / "layout.json"
    layout.write_text(json.dumps({"blocks": {"b": {"type": "text", "properties": {"value": "{{NOPE}}"}}}}))
    args = [
        "templates",
        "add",
        "--portal",
        MEMBER,
        "--name",
        "Bad",
        "--subject",
        "s",
        "--layout",
        str(layout),
    ]
    refused = runner.invoke(args=args)
    assert refused.exit_code == 1 and "unknown placeholder {{NOPE}}" in refused.output
    missing = runner.invoke(args=["templates", "delete", "--portal", MEMBER, "Nope"])
    assert missing.exit_code == 1 and "no template 'Nope'" in missing.output
    unknown = runner.invoke(args=["templates", "list", "--portal", OTHER])
    assert unknown.exit_code == 1 and "no portal with member_id" in unknown.output
    assert "Bad" not in names()
