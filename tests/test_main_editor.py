"""The administrators' sections without raw JSON: matchers as selects named by the portal, the block editor,
its live check (POST /layout/check) and the server's refusals in words next to the field."""

from __future__ import annotations

import html as html_lib
import json
import re

import pytest

from app.extensions import db
from app.models import ActivityTemplate, EnrichmentRule
from tests.test_bad_input import DEEP
from tests.test_main import open_main_page, page_token
from tests.test_main_rules import add_form, admin_token, stored

LINK = {"type": "redirect", "uri": "not a url"}
BAD_LINK = {"blocks": {"b1": {"type": "link", "properties": {"text": "Open", "action": LINK}}}}
EMPTY_TEXT = {"blocks": {"b1": {"type": "text", "properties": {"value": "  "}}}}


def options(html: str, name: str) -> dict[str, str]:
    """The (value -> label) options of the select named `name`."""
    select = re.search(rf'<select id="[^"]*" name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select, f"no select named {name}"
    found = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select.group(1))
    return {value: html_lib.unescape(label) for value, label in found}


def check(client, token: str | None, layout, *, raw: str | None = None):
    headers = {"Content-Type": "application/json"} | ({"X-Page-Token": token} if token else {})
    body = raw if raw is not None else json.dumps({"layout": layout, "lang": "en"})
    return client.post("/layout/check", data=body, headers=headers)


def test_the_rule_matchers_are_selects_named_by_the_portal(connected_app, sandbox, portal) -> None:
    html = open_main_page(connected_app.test_client(), sandbox).get_data(as_text=True)
    assert options(html, "owner_type_id")["2"] == "Deal" and options(html, "owner_type_id")[""] == "Any"
    assert options(html, "type_id")["2"] == "Call" and "0" not in options(html, "type_id")
    assert options(html, "direction") == {"": "Any", "1": "Incoming", "2": "Outgoing"}
    providers = options(html, "provider_id")
    assert providers["CRM_TODO"] == "To-do" and providers["REST_APP"].startswith("App activity")
    words = " ".join(re.findall(r"<(?:label|legend|th)[^>]*>([^<]*)<", html))
    assert "Kind of activity" in words and "Linked to" in words
    for wire_name in ("PROVIDER_ID", "OWNER_TYPE_ID", "TYPE_ID", "DIRECTION"):
        assert wire_name not in words


def test_the_admin_page_has_no_raw_json_box_but_the_editor(connected_app, sandbox, portal) -> None:
    html = open_main_page(connected_app.test_client(), sandbox).get_data(as_text=True)
    editors = html.count("data-block-editor ")
    assert editors >= 2  # the new rule and the new template, plus one per template's edit form
    # Every layout field is the editor's hidden one: no JSON box, not even behind a disclosure.
    hidden = re.findall(r'<textarea id="[\w-]+-layout" name="layout" data-be="layout" hidden>', html)
    assert html.count('name="layout"') == editors == len(hidden)
    assert 'class="tb-json"' not in html
    assert 'data-fields="' in html and "/static/block-editor.js" in html


def test_a_link_that_is_no_address_is_refused_next_to_its_field(connected_app, sandbox, portal) -> None:
    form = add_form(admin_token(portal), name="Linked", layout=json.dumps(BAD_LINK))
    response = connected_app.test_client().post("/rules", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and stored() == []
    assert "<code>blocks.b1.properties.action.uri</code>: &#39;uri&#39; must be a portal path" in page
    # The editor gets the problems to show beside the field (data-problems); no JSON box opens.
    attribute = re.search(r'data-problems="([^"]*)"', page).group(1)
    problems = json.loads(html_lib.unescape(attribute))
    assert [p["path"] for p in problems] == ["blocks.b1.properties.action.uri"]
    assert 'class="tb-json"' not in page


def test_an_empty_text_is_refused_in_a_template(connected_app, sandbox, portal) -> None:
    form = {
        "page_token": admin_token(portal),
        "lang": "en",
        "name": "Empty",
        "subject": "Call back",
        "description": "",
        "layout": json.dumps(EMPTY_TEXT),
    }
    response = connected_app.test_client().post("/templates", data=form)
    assert response.status_code == 400
    assert "needs some text in &#39;value&#39;" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.query(ActivityTemplate).filter_by(name="Empty").count() == 0


def test_the_live_check_answers_an_administrator_and_spends_nothing(connected_app, sandbox, portal) -> None:
    client = connected_app.test_client()
    token = page_token(open_main_page(client, sandbox))
    lines = {"blocks": {"b1": {"type": "largeText", "properties": {"value": "one\ntwo\n{{SUBJECT}}"}}}}
    answer = check(client, token, lines).get_json()
    assert answer["ok"] is True and answer["problems"] == []
    assert '<div class="tb-cb-large-text">one\ntwo\n{{SUBJECT}}</div>' in answer["preview"]
    refused = check(client, token, BAD_LINK).get_json()
    assert refused["ok"] is False and refused["problems"][0]["path"] == "blocks.b1.properties.action.uri"
    unknown = {"blocks": {"b1": {"type": "text", "properties": {"value": "{{NOPE}}"}}}}
    [problem] = check(client, token, unknown).get_json()["problems"]
    assert "unknown placeholder {{NOPE}}" in problem["message"]
    assert check(client, token, "[]").get_json()["ok"] is False
    # The check spent no nonce: the page's form still adds its rule once.
    assert client.post("/rules", data=add_form(token)).status_code == 200 and len(stored()) == 1


@pytest.mark.parametrize("token", [None, "forged", "tb1.x.y"])
def test_the_live_check_refuses_anyone_without_a_page_token(connected_app, portal, token) -> None:
    response = check(connected_app.test_client(), token, EMPTY_TEXT)
    assert response.status_code == 401 and response.get_json()["error"] == "reopen"
    assert "preview" not in response.get_json()


def test_the_live_check_refuses_an_ordinary_user(connected_app, portal) -> None:
    response = check(connected_app.test_client(), admin_token(portal, is_admin=False), EMPTY_TEXT)
    assert response.status_code == 403 and response.get_json()["error"] == "admins_only"


def test_the_live_check_refuses_a_deep_body_in_words(connected_app, portal) -> None:
    response = check(connected_app.test_client(), admin_token(portal), None, raw=DEEP)
    assert response.status_code == 400
    assert "deeper than 32 levels" in response.get_json()["problems"][0]["message"]


def test_a_rule_row_names_its_matchers(connected_app, sandbox, portal) -> None:
    db.session.add(
        EnrichmentRule(
            member_id=portal.member_id, name="Deals", owner_type_id=2, direction=1, layout=EMPTY_TEXT
        )
    )
    db.session.commit()
    html = open_main_page(connected_app.test_client(), sandbox).get_data(as_text=True)
    assert "<td>Deal · Incoming</td>" in html
