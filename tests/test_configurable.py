"""Configurable activities: the layout, creation against the sandbox, the badge, and the page's form."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from html import unescape
from pathlib import Path

import pytest

import app.timeline.configurable_views  # noqa: F401  (registers the route until app.timeline imports it)
from app.activities.configurable import (
    BADGE_CODE,
    Item,
    ItemProblem,
    add_configurable,
    build_layout,
    languages_of,
    read_item,
    read_layout,
    revision,
)
from app.bitrix24.client import Client
from app.config import ConfigError
from app.manifest import load_manifest
from app.portals import page_tokens
from app.portals.connections import client_for
from app.portals.registration import check
from app.portals.setup import register_portal
from sandbox.limits import add_fault
from tests.test_timeline_page import portal_calls

CONFIGURABLE = "CONFIGURABLE_REST_APP"
ROOT = Path(__file__).resolve().parent.parent


def a_deal(sandbox) -> tuple[int, int]:
    return next(key for key in sorted(sandbox.portal.owners) if key[0] == 2)


def configurables(sandbox) -> dict[int, object]:
    activities = sandbox.portal.crm.activities
    return {i: a for i, a in activities.items() if a.provider == CONFIGURABLE}


# --- the layout ---


def test_the_layout_has_icon_header_tags_blocks_and_two_rest_event_buttons() -> None:
    wire = build_layout(Item("Call back", "About the invoice", ("vip", "invoice"))).to_wire()
    assert wire["icon"] == {"code": "attention"}
    assert wire["header"]["title"] == "Call back"
    assert [t["title"] for t in wire["header"]["tags"].values()] == ["vip", "invoice"]
    assert list(wire["body"]["blocks"]) == ["text", "deadline", "status"]
    assert wire["body"]["blocks"]["text"] == {
        "type": "largeText",
        "properties": {"value": "About the invoice"},
    }
    buttons = wire["footer"]["buttons"]
    assert [b["title"]["en"] for b in buttons.values()] == ["Mark done", "Snooze a day"]
    actions = {key: b["action"] for key, b in buttons.items()}
    assert actions["done"] == {
        "type": "restEvent",
        "id": "done",
        "actionParams": {"action": "done", "rev": 1},
        "animationType": "loader",
    }
    assert actions["snooze"]["id"] == "snooze" and actions["snooze"]["actionParams"]["action"] == "snooze"


def test_an_item_without_text_has_no_text_block_and_its_revision_is_read_back() -> None:
    layout = build_layout(Item("Call back"), rev=4)
    assert "text" not in layout.body.blocks and layout.header.tags is None
    assert revision(layout) == 4


def test_a_layout_read_back_with_nulls_for_unset_fields_is_understood() -> None:
    wire = build_layout(Item("Call back"), rev=2).to_wire()
    wire["header"]["tags"] = None
    assert revision(read_layout(wire)) == 2
    assert revision(read_layout({**wire, "footer": None})) is None


@pytest.mark.parametrize(
    ("inputs", "field", "code"),
    [
        ({"title": "  "}, "title", "required"),
        ({"title": "x" * 256}, "title", "too_long"),
        ({"title": "ok", "text": "x" * 5001}, "text", "too_long"),
        ({"title": "ok", "tags": "a, b, c"}, "tags", "too_many"),
        ({"title": "ok", "tags": "x" * 41}, "tags", "too_long"),
        ({"title": "ok", "deadline": "tomorrow"}, "deadline", "not_a_date"),
        ({"title": "ok", "deadline": "9999-12-31T23:30"}, "deadline", "not_a_date"),
        ({"title": "ok", "responsible": "-3"}, "responsible", "not_an_id"),
        ({"title": "ok", "responsible": "two"}, "responsible", "not_an_id"),
    ],
)
def test_each_bad_input_is_named(inputs: dict[str, str], field: str, code: str) -> None:
    with pytest.raises(ItemProblem) as raised:
        read_item(**inputs)
    assert (raised.value.field, raised.value.code) == (field, code)


def test_good_inputs_become_an_item() -> None:
    item = read_item(title=" Call ", text="", tags="a, ,b", deadline="2026-12-01T10:00", responsible="2")
    assert item == Item("Call", "", ("a", "b"), "2026-12-01T10:00:00", 2)


# --- creation against the sandbox ---


def test_the_service_creates_the_activity_on_the_owner_with_badge_and_layout(connected_app, portal, sandbox):
    owner = a_deal(sandbox)
    due = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    item = Item("Call back", "About the invoice", ("vip",), due, responsible_id=2)
    activity_id = add_configurable(client_for(portal), owner_type_id=owner[0], owner_id=owner[1], item=item)
    created = sandbox.portal.crm.activities[activity_id]
    assert created.provider == CONFIGURABLE and created.bindings[0] == owner
    assert created.badge_code == BADGE_CODE and not created.completed
    assert created.fields["SUBJECT"] == "Call back" and created.fields["RESPONSIBLE_ID"] == 2
    assert created.fields["DEADLINE"] == due
    # The sandbox portal is a box with en, ru and de: the seven languages are refused, English stays.
    english = build_layout(item, languages=("en",)).to_wire()
    assert created.layout == english | {"footer": created.layout["footer"]}
    assert revision(build_layout(item)) == 1


CLOUD = ("en", "ru", "de", "ua", "pl", "la", "br")  # B24.Cloud's ids of the seven catalogs' languages


def test_a_cloud_portal_gets_the_words_in_every_catalogs_language(
    connected_app, portal, sandbox, monkeypatch
):
    monkeypatch.setattr(sandbox.portal, "languages", CLOUD)
    owner = a_deal(sandbox)
    activity_id = add_configurable(
        client_for(portal), owner_type_id=owner[0], owner_id=owner[1], item=Item("Go")
    )
    buttons = sandbox.portal.crm.activities[activity_id].layout["footer"]["buttons"]
    assert buttons["done"]["title"] == {
        "en": "Mark done",
        "ru": "Выполнено",
        "de": "Erledigt",
        "ua": "Виконано",
        "pl": "Wykonane",
        "la": "Marcar como hecha",
        "br": "Marcar como feita",
    }


@pytest.mark.parametrize(("lang", "keys"), [("de", ["en", "de"]), ("ru", ["en", "ru"]), ("fr", ["en"])])
def test_a_box_without_some_languages_gets_english_and_its_creators(
    connected_app, portal, sandbox, lang, keys
) -> None:
    owner = a_deal(sandbox)
    client = client_for(portal)
    activity_id = add_configurable(
        client, owner_type_id=owner[0], owner_id=owner[1], item=Item("Go"), lang=lang
    )
    layout = sandbox.portal.crm.activities[activity_id].layout
    assert sorted(layout["footer"]["buttons"]["snooze"]["title"]) == sorted(keys)
    assert languages_of(read_layout(layout)) == tuple(keys)  # a click renders it in the same languages


def test_a_portal_missing_even_those_languages_refuses_in_its_words(
    connected_app, portal, sandbox, monkeypatch
):
    monkeypatch.setattr(sandbox.portal, "languages", ("ru",))
    before, deal = set(configurables(sandbox)), a_deal(sandbox)[1]
    client = client_for(portal)
    calls = portal_calls()
    with pytest.raises(Exception, match="WRONG_LANG"):
        add_configurable(client, owner_type_id=2, owner_id=deal, item=Item("Go"), lang="ru")
    assert portal_calls() == calls + 2  # the seven languages, then English and Russian: no third try
    assert set(configurables(sandbox)) == before


def test_a_refused_badge_does_not_stop_the_creation(connected_app, portal, sandbox) -> None:
    add_fault(
        sandbox.state, "status", status=400, error="BADGE_NOT_FOUND", method="crm.activity.configurable.add"
    )
    owner = a_deal(sandbox)
    client: Client = client_for(portal)
    activity_id = add_configurable(client, owner_type_id=owner[0], owner_id=owner[1], item=Item("Call back"))
    created = sandbox.portal.crm.activities[activity_id]
    assert created.provider == CONFIGURABLE and created.badge_code == ""


def test_other_refusals_are_not_retried_without_the_badge(connected_app, portal, sandbox) -> None:
    before = set(configurables(sandbox))
    with pytest.raises(Exception, match="NOT_FOUND"):
        add_configurable(client_for(portal), owner_type_id=2, owner_id=999999, item=Item("Call back"))
    assert set(configurables(sandbox)) == before


# --- the badge at install, and in the health check ---


def test_the_manifest_lists_the_click_event_and_the_badge() -> None:
    manifest = load_manifest(ROOT / "manifest.json", ROOT / "static")
    assert "ONCRMTIMELINEITEMACTION" in manifest.events
    assert [(b.code, b.type) for b in manifest.badges] == [(BADGE_CODE, "warning")]


@pytest.mark.parametrize(
    ("badge", "words"),
    [
        ({"type": "red"}, "badges/0/type"),
        ({"code": "has space"}, "badges/0/code"),
        ({"value": {"ru": "только ru"}}, "badges/0/value: 'en' is a required property"),
    ],
)
def test_a_bad_badge_in_the_manifest_stops_start_up(tmp_path: Path, badge: dict, words: str) -> None:
    raw = json.loads((ROOT / "manifest.json").read_text())
    raw["badges"][0].update(badge)
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(ConfigError, match=re.escape(words)):
        load_manifest(path, ROOT / "static")


def test_install_registers_the_badge_once_and_the_health_check_knows_it(
    connected_app, portal, sandbox
) -> None:
    manifest, base_url = connected_app.extensions["manifest"], connected_app.config["APP_BASE_URL"]
    report = register_portal(portal)
    assert report.ok and [(s.name, s.outcome) for s in report.steps if s.kind == "badge"] == [
        (BADGE_CODE, "registered")
    ]
    badge = sandbox.portal.crm.badges[BADGE_CODE]
    assert badge.type == "warning" and badge.value["ru"] == "Требует действия"
    assert check(client_for(portal), manifest, base_url=base_url).ok

    again = register_portal(portal)
    assert [(s.name, s.outcome) for s in again.steps if s.kind == "badge"] == [(BADGE_CODE, "already there")]

    client_for(portal).call("crm.activity.badge.delete", {"code": BADGE_CODE})
    health = check(client_for(portal), manifest, base_url=base_url)
    assert not health.ok and health.missing_badges == [BADGE_CODE]


# --- the activity page's form ---


def opened_activity(sandbox) -> int:
    """A seeded activity on a deal, as if the user opened it from the activity list."""
    return next(i for i, a in sorted(sandbox.portal.crm.activities.items()) if a.bindings[0][0] == 2)


def page_token(portal, sandbox, activity_id: int, user_id: int = 1) -> str:
    return page_tokens.issue(
        member_id=portal.member_id,
        user_id=user_id,
        is_admin=user_id == 1,
        access_token=sandbox.token(user_id),
        activity_id=activity_id,
        generation=portal.generation,
    )


def form(token: str, **fields: str) -> dict[str, str]:
    return {"page_token": token, "lang": "en", "title": "Call back", **fields}


def test_the_form_creates_the_activity_beside_the_opened_one(connected_app, portal, sandbox) -> None:
    opened = opened_activity(sandbox)
    token = page_token(portal, sandbox, opened, user_id=2)
    fields = form(token, text="Invoice", tags="vip, invoice", deadline="2026-12-01T10:00", responsible="3")
    response = connected_app.test_client().post(f"/activity/{opened}/configurable", data=fields)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    [(new_id, created)] = configurables(sandbox).items()
    said = unescape(response.get_data(as_text=True))
    assert (
        "\u201cCall back\u201d with buttons was added to the timeline." in said and f"#{new_id}" not in said
    )
    assert created.bindings[0] == sandbox.portal.crm.activities[opened].bindings[0]
    assert created.fields["RESPONSIBLE_ID"] == 3 and created.fields["AUTHOR_ID"] == 2
    assert [t["title"] for t in created.layout["header"]["tags"].values()] == ["vip", "invoice"]
    assert 'id="tb-configurable-form"' in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"title": ""}, "Give the activity a title."),
        ({"tags": "a, b, c"}, "Give at most 2 tags."),
        ({"deadline": "soon"}, "The deadline is not a date and time."),
        ({"responsible": "0"}, "The responsible user ID must be a whole number above zero."),
    ],
)
def test_bad_input_shows_the_page_with_the_problem_and_creates_nothing(
    connected_app, portal, sandbox, fields: dict[str, str], words: str
) -> None:
    opened = opened_activity(sandbox)
    data = form(page_token(portal, sandbox, opened), **fields)
    response = connected_app.test_client().post(f"/activity/{opened}/configurable", data=data)
    assert response.status_code == 400
    assert words in response.get_data(as_text=True)
    assert configurables(sandbox) == {}


def test_the_form_speaks_russian(connected_app, portal, sandbox) -> None:
    opened = opened_activity(sandbox)
    data = form(page_token(portal, sandbox, opened), lang="ru", title="")
    response = connected_app.test_client().post(f"/activity/{opened}/configurable", data=data)
    assert response.status_code == 400 and "Укажите название дела." in response.get_data(as_text=True)


def test_a_token_for_another_activity_is_refused(connected_app, portal, sandbox) -> None:
    opened = opened_activity(sandbox)
    data = form(page_token(portal, sandbox, opened + 1))
    response = connected_app.test_client().post(f"/activity/{opened}/configurable", data=data)
    assert response.status_code == 403
    assert configurables(sandbox) == {}


def test_a_missing_token_is_refused(connected_app, portal, sandbox) -> None:
    opened = opened_activity(sandbox)
    response = connected_app.test_client().post(f"/activity/{opened}/configurable", data={"title": "x"})
    assert response.status_code == 401
    assert configurables(sandbox) == {}


def test_a_portal_refusal_is_shown_in_words(connected_app, portal, sandbox) -> None:
    opened = opened_activity(sandbox)
    add_fault(
        sandbox.state, "status", status=400, error="ACCESS_DENIED", method="crm.activity.configurable.add"
    )
    response = connected_app.test_client().post(
        f"/activity/{opened}/configurable", data=form(page_token(portal, sandbox, opened))
    )
    assert response.status_code == 403
    assert "permissions do not allow this" in response.get_data(as_text=True)
    assert configurables(sandbox) == {}
