"""What people read on the main page and its endpoints: the installation card, the rule form's matchers, the
editor's first preview and fields, the live check's words in the requester's language, pickers' refusals."""

from __future__ import annotations

import json
import re

import pytest

from app.extensions import db
from app.i18n import pgettext
from app.main.plan_names import app_status_name, plan_name
from app.models import VerifyThrottle
from app.portals import throttle
from app.timeline.texts import ACTIVITY_TYPE
from sandbox.tokens import expire_tokens
from tests.test_main import open_main_page, page_token
from tests.test_main_editor import options
from tests.test_pickers import pick
from tests.test_timeline_actions import opened
from tests.test_timeline_page import portal_calls


@pytest.mark.parametrize(
    ("license_code", "lang", "name"),
    [
        ("en_project", "en", "Free"),
        ("ru_project", "ru", "Бесплатный"),
        ("de_basic", "de", "Basic"),
        ("en_std", "en", "Standard"),
        ("ru_pro", "ru", "Профессиональный"),
        ("de_ent10000", "en", "Enterprise"),  # Enterprise for so many users
        ("en_ent", "en", "Enterprise"),
        ("en_demo", "en", "Trial"),
        ("project", "en", "Free"),  # a code without its zone
        ("en_tf", "en", ""),  # a code not named here: the page shows the code itself
        ("en_entx", "en", ""),
        ("", "en", ""),
        (None, "en", ""),
    ],
)
def test_a_plan_is_named_by_its_type_where_the_platform_code_is_known(license_code, lang, name) -> None:
    assert plan_name(license_code, lang) == name


def test_the_apps_status_is_said_in_words_and_an_unknown_letter_as_it_is() -> None:
    assert app_status_name("L", "en") == "local application"
    assert app_status_name("P", "ru") == "оплачено"
    assert app_status_name("X", "en") == "X" and app_status_name(None, "en") == ""


def installation_card(html: str) -> str:
    card = re.search(r'<section class="tb-card" id="installation">(.*?)</section>', html, re.S)
    assert card, "no installation card"
    return card.group(1)


def test_the_installation_card_says_the_plan_and_keeps_the_member_id_for_support(
    connected_app, sandbox, portal
) -> None:
    portal.license, portal.app_status = "en_project", "L"  # as app.info gave them at install (the sandbox's)
    db.session.commit()
    card = installation_card(open_main_page(connected_app.test_client(), sandbox).get_data(as_text=True))
    assert re.search(r'id="portal-plan" data-license="en_project">\s*Free</td>', card)
    assert "en_project" not in re.sub(r'data-license="[^"]*"', "", card)  # the code, not in the words
    assert re.search(r'id="app-status" data-status="L">\s*local application</td>', card)
    assert "(L)" not in card
    support = re.search(r'<small class="tb-muted tb-support-id">(.*?)</small>', card, re.S)
    assert support and "Portal ID for support:" in support.group(1)
    assert 'class="tb-copyable" title="Click to select it' in support.group(1)
    assert f">{portal.member_id}</code>" in support.group(1)
    assert f'<span id="portal-address">{portal.domain}</span>' in card


def test_a_plan_the_app_cannot_name_is_shown_as_its_code_in_a_quieter_style(
    connected_app, sandbox, portal
) -> None:
    portal.license = "en_tf"
    db.session.commit()
    card = installation_card(open_main_page(connected_app.test_client(), sandbox).get_data(as_text=True))
    assert '<code class="tb-muted">en_tf</code>' in card


def test_the_rule_form_offers_the_owner_types_with_a_timeline_named_in_the_pages_language(
    connected_app, sandbox, portal
) -> None:
    sandbox.portal.smart_types[177] = "Equipment purchase"  # a smart process, by the title its portal gave
    html = open_main_page(connected_app.test_client(), sandbox, lang="ru").get_data(as_text=True)
    owners = options(html, "owner_type_id")
    # crm.enum.ownertype also lists old invoices (5), requisites (8) and documents (36, 39): no timeline.
    smart = [str(type_id) for type_id in sorted(sandbox.portal.smart_types)]
    assert list(owners) == ["", "1", "2", "3", "4", "7", "31", *smart] and "177" in smart
    assert owners["2"] == "Сделка" and owners["7"] == "Предложение" and owners["177"] == "Equipment purchase"
    assert options(html, "direction") == {"": "Любой", "1": "Входящее", "2": "Исходящее"}
    assert options(html, "type_id")["2"] == pgettext("ru", ACTIVITY_TYPE, "Call") != "Call"  # not the enum's


def test_entity_7_is_an_estimate_in_the_rule_form(connected_app, sandbox, portal) -> None:
    html = open_main_page(connected_app.test_client(), sandbox).get_data(as_text=True)
    assert options(html, "owner_type_id")["7"] == "Estimate"
    assert "Quote" not in html


def test_the_editors_preview_shows_the_initial_blocks_before_anything_is_typed(
    connected_app, sandbox, portal
) -> None:
    html = open_main_page(connected_app.test_client(), sandbox).get_data(as_text=True)
    for prefix in ("rule", "template-new"):
        preview = re.search(
            rf'<div id="{prefix}-preview" class="tb-preview"[^>]*>(.*?)</div>\s*</div>', html, re.S
        )
        assert preview and 'data-block-type="text"' in preview.group(1), prefix
        assert "{{SUBJECT}}" in preview.group(1)  # a placeholder is shown as it is, as the live check does


def test_insert_a_field_names_the_fields_and_inserts_their_tokens(connected_app, sandbox, portal) -> None:
    html = open_main_page(connected_app.test_client(), sandbox, lang="de").get_data(as_text=True)
    fields = re.search(r'<div class="tb-block-editor"[^>]*data-fields="([^"]+)"', html)
    assert fields
    pairs = json.loads(fields.group(1).replace("&#34;", '"').replace("&quot;", '"'))
    assert pairs[0] == ["SUBJECT", "Betreff"] and ["DEADLINE", "Frist"] in pairs
    assert all(re.fullmatch(r"[A-Z_]+", name) and "{" not in label for name, label in pairs)


def test_the_live_check_answers_in_the_requesters_language(connected_app, sandbox, portal) -> None:
    client = connected_app.test_client()
    token = page_token(open_main_page(client, sandbox, lang="ru"))
    green = {"blocks": {"b1": {"type": "text", "properties": {"value": "x", "color": "green"}}}}
    for layout, english in (
        ({"blocks": {"b1": {"type": "text", "properties": {"value": " "}}}}, "Enter"),
        (green, "is not a text colour"),
        ([], "A layout must be a JSON object"),
    ):
        body = json.dumps({"layout": layout, "lang": "ru"})
        answer = client.post(
            "/layout/check", data=body, headers={"Content-Type": "application/json", "X-Page-Token": token}
        ).get_json()
        assert answer["ok"] is False and answer["problems"], answer
        message = answer["problems"][0]["message"]
        assert english not in message and re.search("[а-я]", message), message


def check_text_colour(connected_app, sandbox, color: str) -> dict:
    """The administrator's live check of one text block in `color`, answered in English."""
    client = connected_app.test_client()
    token = page_token(open_main_page(client, sandbox))
    layout = {"blocks": {"b1": {"type": "text", "properties": {"value": "x", "color": color}}}}
    body = json.dumps({"layout": layout, "lang": "en"})
    headers = {"Content-Type": "application/json", "X-Page-Token": token}
    return client.post("/layout/check", data=body, headers=headers).get_json()


@pytest.mark.parametrize("color", ["green", "purple", "pink"])
def test_a_colour_the_platform_refuses_is_refused_in_words_naming_the_greys(
    connected_app, sandbox, portal, color
) -> None:
    [problem] = check_text_colour(connected_app, sandbox, color)["problems"]
    assert problem["path"] == "blocks.b1.properties.color" and problem["code"] == "ENUM_FIELD"
    assert problem["message"].startswith(f'"{color}" is not a text colour Bitrix24 takes from apps')
    assert "base_50 (light grey)" in problem["message"] and "leave the colour out" in problem["message"]


@pytest.mark.parametrize("color", ["base_50", "base_60", "base_70", "base_90"])
def test_every_colour_the_platform_takes_is_taken(connected_app, sandbox, portal, color) -> None:
    answer = check_text_colour(connected_app, sandbox, color)
    assert answer["ok"] is True and answer["problems"] == []


def test_a_refused_token_on_the_pickers_is_counted_like_a_page_opens(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox)
    expire_tokens(sandbox.state, member_id=portal.member_id)
    before = portal_calls()
    for _ in range(throttle.PER_ADDRESS):
        response = pick(page, "users", {"q": "jo"})
        assert response.status_code == 401 and response.get_json()["error"] == "reopen"
    assert portal_calls() == before + throttle.PER_ADDRESS
    assert db.session.query(VerifyThrottle).count() == 2  # this portal's bucket and this address's

    response = pick(page, "users", {"q": "jo"})  # the address's budget is spent: the portal is not asked
    assert response.status_code == 429 and response.get_json()["error"] == "throttled"
    assert int(response.headers["Retry-After"]) >= 1
    assert f"again in {response.headers['Retry-After']} s" in response.get_json()["message"]
    assert portal_calls() == before + throttle.PER_ADDRESS
