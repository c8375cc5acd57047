"""The templates section of the administrators' main page: the defaults, adding, saving and deleting."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.activities import templates
from app.extensions import db
from app.models import ActivityTemplate
from tests.test_main import open_main_page, page_token
from tests.test_main_rules import admin_token

LAYOUT = {"blocks": {"about": {"type": "text", "properties": {"value": "About {{SUBJECT}}"}}}}


def stored(member_id: str) -> dict[str, ActivityTemplate]:
    db.session.expire_all()
    query = select(ActivityTemplate).where(ActivityTemplate.member_id == member_id)
    return {t.name: t for t in db.session.scalars(query)}


def form(token: str, **overrides: str) -> dict[str, str]:
    values = {
        "page_token": token,
        "lang": "en",
        "name": "Callback",
        "subject": "Call about {{SUBJECT}}",
        "description": "",
        "layout": json.dumps(LAYOUT),
    }
    return values | overrides


def test_the_admin_page_shows_the_portals_templates_with_their_forms(connected_app, sandbox, portal) -> None:
    response = open_main_page(connected_app.test_client(), sandbox)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="templates"' in html and 'id="template-form"' in html
    for name, template in stored(portal.member_id).items():
        assert name in html and f'data-template-id="{template.id}"' in html
        assert f'action="/templates/{template.id}/delete"' in html
    assert sorted(stored(portal.member_id)) == ["Follow-up call", "Meeting notes", "Send the offer"]


def test_adding_a_template_from_the_page(connected_app, sandbox, portal) -> None:
    client = connected_app.test_client()
    token = page_token(open_main_page(client, sandbox))
    response = client.post("/templates", data=form(token))
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    added = stored(portal.member_id)["Callback"]
    assert added.subject == "Call about {{SUBJECT}}" and added.layout == LAYOUT
    assert "Template \u201cCallback\u201d added." in html and f'data-template-id="{added.id}"' in html
    assert page_token(response) != token  # renewed: the same page's form does not add it twice


@pytest.mark.parametrize(
    ("overrides", "words", "code"),
    [
        (
            {"layout": json.dumps({"blocks": {"b1": {"type": "text", "properties": {"value": "{{WHO}}"}}}})},
            "blocks.b1.properties.value",
            "WRONG_FIELD_VALUE",
        ),
        ({"subject": "Hi {{WHO}}"}, "unknown placeholder {{WHO}}", "WRONG_FIELD_VALUE"),
        ({"layout": "{oops"}, "the layout is not JSON", None),
        ({"name": "Meeting notes"}, "already has a template named", None),
    ],
)
def test_an_unfit_template_is_refused_and_the_form_keeps_it(
    connected_app, sandbox, portal, overrides, words, code
) -> None:
    response = connected_app.test_client().post("/templates", data=form(admin_token(portal), **overrides))
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and words in html
    if code:
        assert f'data-code="{code}"' in html and "The template was refused; nothing was saved:" in html
    assert "Callback" not in stored(portal.member_id) or overrides.get("name") == "Meeting notes"
    assert 'value="' + (overrides.get("name") or "Callback") + '"' in html


def test_saving_and_deleting_a_template_from_the_page(connected_app, sandbox, portal) -> None:
    client, token = connected_app.test_client(), admin_token(portal)
    template = templates.find_template(portal.member_id, "Meeting notes")
    saved = client.post(f"/templates/{template.id}", data=form(token, name="Meeting minutes"))
    assert saved.status_code == 200 and "Template \u201cMeeting minutes\u201d saved." in saved.get_data(
        as_text=True
    )
    assert stored(portal.member_id)["Meeting minutes"].id == template.id
    token = page_token(saved)  # the next form is the answer page's
    deleted = client.post(f"/templates/{template.id}/delete", data={"page_token": token, "lang": "en"})
    assert deleted.status_code == 200 and "Template \u201cMeeting minutes\u201d deleted." in deleted.get_data(
        as_text=True
    )
    assert "Meeting minutes" not in stored(portal.member_id)
    token = page_token(deleted)
    again = client.post(f"/templates/{template.id}/delete", data={"page_token": token, "lang": "en"})
    assert again.status_code == 404 and "no such template" in again.get_data(as_text=True)


def test_only_administrators_of_the_portal_may_change_templates(connected_app, sandbox, portal) -> None:
    client = connected_app.test_client()
    template = templates.find_template(portal.member_id, "Send the offer")
    user = client.post("/templates", data=form(admin_token(portal, is_admin=False)))
    assert user.status_code == 403
    nobody = client.post(f"/templates/{template.id}/delete", data={"page_token": "forged", "lang": "en"})
    assert nobody.status_code == 401
    other = templates.add_template("o" * 32, {"name": "Theirs", "subject": "s", "layout": LAYOUT})
    db.session.commit()
    theirs = client.post(
        f"/templates/{other.id}/delete", data={"page_token": admin_token(portal), "lang": "en"}
    )
    assert theirs.status_code == 404 and "Theirs" in stored("o" * 32)
    assert "Callback" not in stored(portal.member_id) and "Send the offer" in stored(portal.member_id)


def test_the_section_speaks_russian(connected_app, sandbox, portal) -> None:
    response = connected_app.test_client().post("/templates", data=form(admin_token(portal), lang="ru"))
    assert "Шаблон «Callback» добавлен." in response.get_data(as_text=True)


def test_a_russian_admins_first_page_seeds_the_defaults_in_russian(connected_app, sandbox, portal) -> None:
    html = open_main_page(connected_app.test_client(), sandbox, lang="ru").get_data(as_text=True)
    russian = ["Итоги встречи", "Отправить предложение", "Повторный звонок"]
    assert sorted(stored(portal.member_id)) == russian
    assert all(name in html for name in russian) and "Follow-up call" not in html
    assert "Повторный звонок: {{SUBJECT}}" in html


def test_english_seeded_defaults_nobody_edited_are_shown_in_german(connected_app, sandbox, portal) -> None:
    templates.seed_defaults(portal.member_id, "en")  # seeded before the defaults were translated
    html = open_main_page(connected_app.test_client(), sandbox, lang="de").get_data(as_text=True)
    assert "Rückruf" in html and "Nächster Schritt" in html and "Follow-up call" not in html
    assert sorted(stored(portal.member_id)) == ["Follow-up call", "Meeting notes", "Send the offer"]


@pytest.mark.parametrize(
    ("lang", "overrides", "words"),
    [
        ("ru", {"name": "x" * 256}, "название длиннее 255 символов"),
        ("ru", {"name": ""}, "у шаблона должно быть название длиной от 1 до 255 символов"),
        ("pl", {"subject": "x" * 513}, "temat jest dłuższy niż 512 znaków"),
        ("de", {"name": "Rückruf"}, "dieses Portal hat schon eine Vorlage namens „Rückruf“"),
        ("uk", {"layout": "[1]"}, "макет має бути JSON-об&#39;єктом, наприклад {&#34;blocks&#34;: {…}}"),
        ("en", {"name": "x" * 256}, "the name is longer than 255 characters"),
    ],
)
def test_a_refused_template_is_refused_in_the_portals_language(
    connected_app, sandbox, portal, lang, overrides, words
) -> None:
    templates.seed_defaults(portal.member_id, "de")
    response = connected_app.test_client().post(
        "/templates", data=form(admin_token(portal), lang=lang, **overrides)
    )
    assert response.status_code == 400 and words in response.get_data(as_text=True)
