"""The rules section of the administrators' main page: listing, adding, switching and deleting rules."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import EnrichmentRule
from app.portals import page_tokens
from tests.conftest import frame_ancestors
from tests.test_enrichment import TEMPLATE
from tests.test_main import open_main_page, page_token

OTHER = "o" * 32


def admin_token(portal, *, is_admin: bool = True) -> str:
    user_id = 1 if is_admin else 2
    return page_tokens.issue(
        member_id=portal.member_id, user_id=user_id, is_admin=is_admin, generation=portal.generation
    )


def stored() -> list[EnrichmentRule]:
    db.session.expire_all()
    return list(db.session.scalars(select(EnrichmentRule).order_by(EnrichmentRule.id)))


def rule_of(member_id: str, name: str = "Todo summary", **values) -> EnrichmentRule:
    rule = EnrichmentRule(member_id=member_id, name=name, layout=TEMPLATE, **values)
    db.session.add(rule)
    db.session.commit()
    return rule


def add_form(token: str, **overrides: str) -> dict[str, str]:
    form = {
        "page_token": token,
        "lang": "en",
        "name": "Todo summary",
        "provider_id": "CRM_TODO",
        "type_id": "6",
        "owner_type_id": "",
        "direction": "",
        "layout": json.dumps(TEMPLATE),
    }
    return {**form, **overrides}


def test_the_admin_page_lists_the_portals_rules_with_their_buttons(connected_app, sandbox, portal) -> None:
    ours = rule_of(portal.member_id, provider_id="CRM_TODO", last_error="activity 9: refused")
    rule_of(OTHER, name="Someone else's")
    response = open_main_page(connected_app.test_client(), sandbox)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="rules"' in html
    assert f'data-rule-id="{ours.id}" data-enabled="yes"' in html
    assert "Todo summary" in html and "<td>To-do</td>" in html and "activity 9: refused" in html
    assert "Someone else" not in html
    assert f'action="/rules/{ours.id}/disable"' in html and f'action="/rules/{ours.id}/delete"' in html
    assert 'action="/rules"' in html
    token = page_token(response)
    assert all(token not in url for url in re.findall(r'(?:href|action|src)="([^"]*)"', html))


def test_the_admin_page_says_when_there_are_no_rules(connected_app, sandbox, portal) -> None:
    html = open_main_page(connected_app.test_client(), sandbox).get_data(as_text=True)
    assert 'id="no-rules"' in html and "No rules yet." in html and 'id="rule-form"' in html


def test_adding_a_rule_from_the_page_stores_it_for_the_tokens_portal(connected_app, sandbox, portal) -> None:
    client = connected_app.test_client()
    token = page_token(open_main_page(client, sandbox))
    response = client.post("/rules", data=add_form(token))
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    [rule] = stored()
    assert (rule.member_id, rule.name, rule.provider_id, rule.type_id, rule.owner_type_id) == (
        portal.member_id,
        "Todo summary",
        "CRM_TODO",
        6,
        None,
    )
    assert rule.layout == TEMPLATE and rule.enabled
    assert "Rule \u201cTodo summary\u201d added." in html and f'data-rule-id="{rule.id}"' in html
    assert page_token(response) != token  # the next action carries a renewed token: each acts once
    assert client.post("/rules", data=add_form(token)).status_code == 200  # a reload: nothing again
    assert len(stored()) == 1
    assert frame_ancestors(response) == sandbox.portal_url


def test_an_invalid_layout_is_refused_in_words_with_its_path(connected_app, sandbox, portal) -> None:
    layout = {"blocks": {"b1": {"type": "text", "properties": {"value": "x", "color": "{{SUBJECT}}"}}}}
    form = add_form(admin_token(portal), name="Colourful", layout=json.dumps(layout))
    response = connected_app.test_client().post("/rules", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "The layout was refused; nothing was saved:" in html
    assert '<li class="tb-problem" data-code="ENUM_FIELD"><code>blocks.b1.properties.color</code>' in html
    assert 'value="Colourful"' in html and "{{SUBJECT}}" in html  # the form keeps what was typed
    assert stored() == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"layout": "{not json"}, "the layout is not JSON"),
        ({"type_id": "call"}, "the type must be a number"),
        ({"name": ""}, "a rule needs a name"),
    ],
)
def test_other_unfit_rules_are_refused_in_words(connected_app, sandbox, portal, overrides, message) -> None:
    response = connected_app.test_client().post("/rules", data=add_form(admin_token(portal), **overrides))
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert stored() == []


def test_disable_enable_and_delete_from_the_page(connected_app, sandbox, portal) -> None:
    rule = rule_of(portal.member_id, last_error="old")
    client, data = connected_app.test_client(), {"page_token": admin_token(portal), "lang": "en"}
    response = client.post(f"/rules/{rule.id}/disable", data=data)
    assert response.status_code == 200 and "Rule \u201cTodo summary\u201d disabled." in response.get_data(
        as_text=True
    )
    assert not stored()[0].enabled
    assert f'action="/rules/{rule.id}/enable"' in response.get_data(as_text=True)
    data["page_token"] = page_token(response)  # each page's forms carry that page's token
    response = client.post(f"/rules/{rule.id}/enable", data=data)
    assert response.status_code == 200
    assert stored()[0].enabled and stored()[0].last_error is None
    data["page_token"] = page_token(response)
    response = client.post(f"/rules/{rule.id}/delete", data=data)
    assert response.status_code == 200 and 'id="no-rules"' in response.get_data(as_text=True)
    assert stored() == []


def test_another_portals_rule_cannot_be_touched(connected_app, sandbox, portal) -> None:
    theirs = rule_of(OTHER)
    for action in ("disable", "delete"):
        data = {"page_token": admin_token(portal), "lang": "en"}
        response = connected_app.test_client().post(f"/rules/{theirs.id}/{action}", data=data)
        assert response.status_code == 404 and "no such rule" in response.get_data(as_text=True)
    assert [(rule.id, rule.enabled) for rule in stored()] == [(theirs.id, True)]


def test_an_unknown_action_is_not_found(connected_app, sandbox, portal) -> None:
    rule = rule_of(portal.member_id)
    response = connected_app.test_client().post(f"/rules/{rule.id}/explode", data={"page_token": "x"})
    assert response.status_code == 404 and stored()[0].enabled


@pytest.mark.parametrize("token", ["", "forged"], ids=["none", "forged"])
def test_rules_actions_without_a_valid_page_token_change_nothing(
    connected_app, sandbox, portal, token
) -> None:
    rule = rule_of(portal.member_id)
    client = connected_app.test_client()
    added = client.post("/rules", data=add_form(token, name="Sneaky"))
    deleted = client.post(f"/rules/{rule.id}/delete", data={"page_token": token})
    assert added.status_code == deleted.status_code == 401
    assert "Your Bitrix24 session has ended" in added.get_data(as_text=True)
    assert [r.name for r in stored()] == ["Todo summary"]


def test_rules_actions_are_for_administrators_only(connected_app, sandbox, portal) -> None:
    rule = rule_of(portal.member_id)
    client, token = connected_app.test_client(), admin_token(portal, is_admin=False)
    assert client.post("/rules", data=add_form(token, name="Sneaky")).status_code == 403
    assert client.post(f"/rules/{rule.id}/disable", data={"page_token": token}).status_code == 403
    assert [(r.name, r.enabled) for r in stored()] == [("Todo summary", True)]


def test_the_rules_section_speaks_russian(connected_app, sandbox, portal) -> None:
    rule = rule_of(portal.member_id)
    html = open_main_page(connected_app.test_client(), sandbox, lang="ru").get_data(as_text=True)
    assert "Правила обогащения" in html and "Выключить" in html
    response = connected_app.test_client().post(
        f"/rules/{rule.id}/disable", data={"page_token": admin_token(portal), "lang": "ru"}
    )
    assert "Правило «Todo summary» выключено." in response.get_data(as_text=True)
