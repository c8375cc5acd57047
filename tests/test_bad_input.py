"""Deep JSON and huge numbers on every entry point: a 4xx in words, nothing stored, never a 500.

Before app.inputs, json.loads raised RecursionError on ~1000 nested arrays (a 500 everywhere JSON enters),
a 30-digit template id raised OverflowError in the database after the API had committed its pending
idempotency row, and a huge AUTH_EXPIRES overflowed the token's expiry.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import ActivityTemplate, ApiRequest, EnrichmentRule, InboxEvent, Portal
from app.portals.store import set_application_token
from tests.test_fuzz import portal_state, snapshot
from tests.test_install import open_installer, stored
from tests.test_main import open_main_page
from tests.test_main_rules import add_form, admin_token
from tests.test_main_templates import form as template_form
from tests.test_timeline_actions import opened
from tests.test_timeline_page import activity_of, bind_list_menu, open_from_menu

DEEP = "[" * 5000 + "]" * 5000  # ~10 KB: under every body limit, far past the recursion limit
DEEPISH = "[" * 40 + "]" * 40  # valid JSON, past the 32-level depth the app accepts
HUGE = "9" * 30  # past int64, under Python's 4300-digit int() limit
ENORMOUS = "9" * 5000  # past Python's int() limit: ValueError, not a number
TOKEN = "d4" * 16


def count(model: Any) -> int:
    db.session.expire_all()
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def api(connected_app, sandbox, portal):
    from app.api.keys import create_key

    _, key = create_key(portal.member_id, "bad input")
    db.session.commit()
    client = connected_app.test_client()

    def post(raw: str, **headers: str):
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json", **headers}
        return client.post("/api/v1/activities", data=raw, headers=headers)

    return post


def valid_body(portal: Portal, **changes: Any) -> dict[str, Any]:
    body = {
        "portal": portal.member_id,
        "owner": {"type_id": 2, "id": 1},
        "subject": "Ticket",
        "idempotency_key": "k1",
    }
    return {**body, **changes}


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ('{"portal": "x", "layout": ' + DEEP + "}", "deeper than 32 levels"),
        ('{"portal": "x", "fields": {"a": ' + DEEPISH + "}}", "deeper than 32 levels"),
        ('{"portal": "x", "owner": {"type_id": 2, "id": ' + ENORMOUS + "}}", "longer than 19 digits"),
        ('{"portal": "x", "owner": {"type_id": 2, "id": ' + HUGE + "}}", "longer than 19 digits"),
        ('{"portal": "x", "subject": NaN}', "NaN, which is not JSON"),
    ],
)
def test_api_bodies_too_deep_or_with_huge_numbers_are_refused_in_words(api, sandbox, raw, words) -> None:
    before, portals_before = snapshot(), portal_state(sandbox)
    response = api(raw)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert response.get_json()["error"] == "invalid_json" and words in response.get_json()["message"]
    assert snapshot() == before and portal_state(sandbox) == portals_before


@pytest.mark.parametrize(
    ("changes", "status", "path"),
    [
        ({"template": 10**18}, 400, "template"),
        ({"template": 2**31}, 400, "template"),
        ({"template": HUGE}, 404, None),  # a name no template has: looked up by name, not as an id
        ({"template": "²"}, 404, None),  # str.isdigit() says yes, int() says no
        ({"owner": {"type_id": 2, "id": 10**18}}, 400, "owner.id"),
        ({"responsible_id": 2**31}, 400, "responsible_id"),
    ],
)
def test_api_ids_out_of_range_are_refused_and_leave_no_pending_row(
    api, sandbox, portal, changes, status, path
) -> None:
    before, portals_before = snapshot(), portal_state(sandbox)
    response = api(json.dumps(valid_body(portal, **changes)))
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    if path:
        assert [p["path"] for p in response.get_json()["problems"]] == [path]
    assert count(ApiRequest) == 0
    seeded = ("activity_templates", "activity_template_seeds")  # a template lookup seeds the defaults
    assert {k: v for k, v in snapshot().items() if k not in seeded} == {
        k: v for k, v in before.items() if k not in seeded
    }
    assert portal_state(sandbox) == portals_before


def test_an_api_layout_for_an_id_past_any_activity_is_a_404(connected_app, sandbox, portal) -> None:
    from app.api.keys import create_key

    _, key = create_key(portal.member_id, "bad input")
    db.session.commit()
    response = connected_app.test_client().put(
        f"/api/v1/activities/{HUGE}/layout",
        json={
            "portal": portal.member_id,
            "layout": {"blocks": {"b": {"type": "text", "properties": {"value": "x"}}}},
        },
        headers={"Authorization": f"Bearer {key}"},
    )
    assert (
        response.status_code == 404 and response.get_json()["error"] == "not_found"
    )  # app.inputs.IdConverter


def test_a_deep_json_event_is_refused_in_words(connected_app, portal) -> None:
    set_application_token(portal, TOKEN)
    db.session.commit()
    event = (
        '{"event": "ONCRMACTIVITYADD", "auth": {"member_id": "%s", "application_token": "%s"}, "data": %s}'
    )
    for data in (DEEP, DEEPISH):
        response = connected_app.test_client().post(
            "/events", data=event % (portal.member_id, TOKEN, data), content_type="application/json"
        )
        assert response.status_code == 400 and "deeper than 32 levels" in response.get_json()["message"]
    assert count(InboxEvent) == 0


@pytest.mark.parametrize("options", [DEEP, '{"ID": ' + ENORMOUS + "}", '{"ID": ' + HUGE + "}", '{"ID": "²"}'])
def test_placement_options_too_deep_or_huge_open_no_activity(connected_app, sandbox, portal, options) -> None:
    bind_list_menu(portal)
    client = connected_app.test_client()
    main = open_main_page(client, sandbox, PLACEMENT_OPTIONS=options)
    assert main.status_code == 200, main.get_data(as_text=True)[:300]  # junk options: the main page itself
    menu = open_from_menu(client, sandbox, {}, PLACEMENT_OPTIONS=options)
    assert menu.status_code == 404, menu.get_data(as_text=True)[:300]


def test_a_huge_auth_expires_falls_back_to_the_default_lifetime(live_app, sandbox) -> None:
    for value in (HUGE, ENORMOUS, "-" + HUGE):
        response = open_installer(sandbox, AUTH_EXPIRES=value)
        assert response.status_code == 200, response.text[:300]
    assert len(stored()) == 1


def test_the_editor_refuses_deep_layouts_in_words(connected_app, sandbox, portal) -> None:
    page = opened(connected_app, sandbox, activity_of(sandbox))
    before = portal_state(sandbox)
    response = page.post("blocks", layout='{"blocks": ' + DEEP + "}")
    assert response.status_code == 400 and "deeper than 32 levels" in response.get_data(as_text=True)
    headers = {"X-Page-Token": page.token, "Content-Type": "application/json"}
    check = page.client.post(f"/activity/{page.activity.id}/blocks/check", data=DEEP, headers=headers)
    assert check.status_code == 400 and "deeper than 32 levels" in check.get_json()["problems"][0]["message"]
    assert portal_state(sandbox) == before


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"layout": '{"blocks": ' + DEEP + "}"}, "deeper than 32 levels"),
        (
            {"layout": '{"blocks": {"b": {"type": "text", "properties": {"value": ' + ENORMOUS + "}}}}"},
            "19 digits",
        ),
        ({"type_id": HUGE}, "the type must be a number"),
        ({"owner_type_id": ENORMOUS}, "must be a number"),
    ],
)
def test_rules_with_deep_layouts_or_huge_numbers_are_refused(connected_app, portal, overrides, words) -> None:
    response = connected_app.test_client().post("/rules", data=add_form(admin_token(portal), **overrides))
    assert response.status_code == 400 and words in response.get_data(as_text=True)
    assert count(EnrichmentRule) == 0


def test_templates_with_deep_layouts_are_refused(connected_app, portal) -> None:
    for layout in ('{"blocks": ' + DEEP + "}", '{"blocks": ' + DEEPISH + "}"):
        response = connected_app.test_client().post(
            "/templates", data=template_form(admin_token(portal), layout=layout)
        )
        assert response.status_code == 400 and "deeper than 32 levels" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(select(ActivityTemplate).where(ActivityTemplate.name == "Callback")) is None


@pytest.mark.parametrize("number", [HUGE, str(2**31), "0"])
def test_every_route_with_an_id_in_its_path_answers_404_for_an_id_past_any_real_one(
    connected_app, sandbox, portal, number
) -> None:
    """A 25-digit id reached SQLite (OverflowError, a 500) through /rules/<id>/… and /api-keys/<id>/revoke."""
    from app.portals import page_tokens

    token = page_tokens.issue(
        member_id=portal.member_id, user_id=1, is_admin=True, generation=portal.generation
    )
    client = connected_app.test_client()
    rules = [r for r in connected_app.url_map.iter_rules() if "<int:" in r.rule]
    assert len(rules) >= 15
    for rule in rules:
        path = re.sub(r"<any\(([a-z]+)[^>]*\):[a-z_]+>", r"\1", rule.rule)
        path = re.sub(r"<int:[a-z_]+>", number, path)
        method = "PUT" if "PUT" in rule.methods else "POST"
        response = client.open(path, method=method, data={"page_token": token, "lang": "en"})
        assert response.status_code == 404, (path, response.status_code)
