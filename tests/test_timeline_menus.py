"""The timeline's own menus: CRM_<TYPE>_ACTIVITY_TIMELINE_MENU per CRM type and smart process (§3.4)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from flask.testing import FlaskClient

from app.extensions import db
from app.portals.registration import check
from app.portals.setup import client_for, register_portal
from sandbox.apps import find_app
from sandbox.ui.frame import open_frame
from tests.conftest import frame_ancestors
from tests.test_main import open_main_page, page_token
from tests.test_timeline_page import activity_of, portal_calls

FIXED = [f"CRM_{kind}_ACTIVITY_TIMELINE_MENU" for kind in ("LEAD", "DEAL", "QUOTE", "SMART_INVOICE")]
PROJECTS = "CRM_DYNAMIC_1032_ACTIVITY_TIMELINE_MENU"  # the sandbox's smart process "Projects"


def bound(sandbox: Any) -> set[str]:
    """The placement codes the portal lists for the app (placement.get)."""
    return {row["placement"] for row in sandbox.call("placement.get").json()["result"]}


def health(app: Any, portal: Any) -> Any:
    with app.app_context():
        return check(client_for(portal), app.extensions["manifest"], base_url=app.config["APP_BASE_URL"])


def open_from_timeline(
    client: FlaskClient, sandbox: Any, placement: str, options: dict[str, Any], *, user_id: int = 2
):
    """POST the timeline menu's handler as the portal's slider does: options as strings (notes §3.4)."""
    where = sandbox.portal
    app = find_app(sandbox.state, where)
    opened = open_frame(
        sandbox.state, where, app, where.users[user_id], lang="en", placement=placement, options=options
    )
    url = urlsplit(opened.url)
    assert url.path == "/placements/timeline-menu"
    return client.post(f"{url.path}?{urlencode(parse_qsl(url.query))}", data=opened.fields)


@pytest.fixture
def registered(connected_app, portal) -> Any:
    assert register_portal(portal).ok
    db.session.commit()
    return portal


def test_install_binds_every_timeline_menu_and_one_per_smart_process(
    connected_app, sandbox, registered
) -> None:
    assert {"CRM_ACTIVITY_LIST_MENU", *FIXED, PROJECTS} <= bound(sandbox)
    assert health(connected_app, registered).ok


NAMED = {
    "en": ["Activity list", "Lead timeline", "Deal timeline", "Estimate timeline", "Invoice timeline"],
    "ru": ["Список дел", "Таймлайн лида", "Таймлайн сделки", "Таймлайн предложения", "Таймлайн счёта"],
}
SMART_NAMED = {"en": "“Projects” timeline", "ru": "Таймлайн «Projects»"}


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_health_view_names_every_bound_placement_as_the_portal_does(
    connected_app, sandbox, registered, lang: str
) -> None:
    html = open_main_page(connected_app.test_client(), sandbox, lang=lang).get_data(as_text=True)
    codes = ["CRM_ACTIVITY_LIST_MENU", *FIXED, PROJECTS]
    for code, name in zip(codes, [*NAMED[lang], SMART_NAMED[lang]], strict=True):
        assert f'<span class="tb-placement" data-placement="{code}">{name}</span>' in html
    assert "_MENU</" not in html  # no code is shown as the name of a place


def test_a_smart_process_the_portal_no_longer_lists_is_named_by_its_number(connected_app) -> None:
    from app.main.placement_names import placement_name

    assert placement_name(PROJECTS, "en", {}) == "Timeline of smart process 1032"
    assert placement_name(PROJECTS, "en", {1032: "Projects"}) == "“Projects” timeline"
    assert placement_name("CRM_FUTURE_MENU", "en", {}) == "CRM_FUTURE_MENU"


def test_a_smart_process_added_later_shows_missing_and_repair_binds_it(
    connected_app, sandbox, registered
) -> None:
    sandbox.portal.smart_types[1036] = "Contracts"
    later = "CRM_DYNAMIC_1036_ACTIVITY_TIMELINE_MENU"
    assert health(connected_app, registered).missing_placements == [later]
    client = connected_app.test_client()
    page = open_main_page(client, sandbox)
    assert f'<code class="tb-missing-name">{later}</code>' in page.get_data(as_text=True)
    repaired = client.post("/repair", data={"page_token": page_token(page), "lang": "en"})
    assert repaired.status_code == 200, repaired.get_data(as_text=True)
    assert later in bound(sandbox) and health(connected_app, registered).ok


@pytest.mark.parametrize(
    "placement, extra",
    [
        ("CRM_DEAL_ACTIVITY_TIMELINE_MENU", {}),
        (
            "CRM_LEAD_ACTIVITY_TIMELINE_MENU",
            {"TYPE_ID": "1", "TYPE_CATEGORY_ID": "6", "TIMELINE_ITEM_ID": "29937"},
        ),
        (PROJECTS, {"URI": "/crm/type/1032/details/1/"}),
    ],
    ids=["deal", "lead-with-record-fields", "smart-process"],
)
def test_a_timeline_menu_opens_the_activity_in_one_round_trip(
    connected_app, sandbox, registered, placement, extra
) -> None:
    activity = activity_of(sandbox)
    options = {
        "ENTITY_ID": "1",
        "ASSOCIATED_ENTITY_ID": str(activity.id),
        "ASSOCIATED_ENTITY_TYPE_ID": "6",
        **extra,
    }
    before = portal_calls()
    response = open_from_timeline(connected_app.test_client(), sandbox, placement, options)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert portal_calls() - before == 1
    assert activity.fields["SUBJECT"] in html and 'name="page_token"' in html
    assert frame_ancestors(response) == sandbox.portal_url


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"ENTITY_ID": "1"},
        {"ASSOCIATED_ENTITY_ID": "abc", "ASSOCIATED_ENTITY_TYPE_ID": "6"},
        {"ASSOCIATED_ENTITY_ID": "0", "ASSOCIATED_ENTITY_TYPE_ID": "6"},
        {"ASSOCIATED_ENTITY_ID": "1", "ASSOCIATED_ENTITY_TYPE_ID": "2"},  # a deal's id, not an activity's
        {"ASSOCIATED_ENTITY_ID": ["1"], "ASSOCIATED_ENTITY_TYPE_ID": "6"},
    ],
    ids=["none", "owner-only", "junk", "zero", "not-an-activity", "array"],
)
def test_a_timeline_menu_without_an_activity_says_so_and_calls_nothing(
    connected_app, sandbox, registered, options
) -> None:
    before = portal_calls()
    response = open_from_timeline(connected_app.test_client(), sandbox, FIXED[1], options)
    assert response.status_code == 404
    assert "This activity cannot be shown" in response.get_data(as_text=True)
    assert portal_calls() == before


def test_the_handler_refuses_a_placement_that_is_not_a_timeline_menu(
    connected_app, sandbox, registered
) -> None:
    activity = activity_of(sandbox)
    where = sandbox.portal
    opened = open_frame(
        sandbox.state,
        where,
        find_app(sandbox.state, where),
        where.users[2],
        lang="en",
        placement="CRM_DEAL_ACTIVITY_TIMELINE_MENU",
        options={"ASSOCIATED_ENTITY_ID": str(activity.id)},
    )
    url = urlsplit(opened.url)
    fields = {**opened.fields, "PLACEMENT": "CRM_DEAL_LIST_MENU"}
    response = connected_app.test_client().post(f"{url.path}?{urlencode(parse_qsl(url.query))}", data=fields)
    assert response.status_code == 404


def test_an_ordinary_user_cannot_open_an_activity_she_may_not_read(
    connected_app, sandbox, registered
) -> None:
    activity = activity_of(sandbox)
    options = {"ENTITY_ID": "1", "ASSOCIATED_ENTITY_ID": str(activity.id), "ASSOCIATED_ENTITY_TYPE_ID": "6"}
    response = open_from_timeline(connected_app.test_client(), sandbox, FIXED[1], options, user_id=5)
    assert response.status_code in (403, 404)
    assert activity.fields["SUBJECT"] not in response.get_data(as_text=True)


def test_the_sandbox_binds_dynamic_menus_only_for_its_own_smart_processes(sandbox) -> None:
    handler = "https://tb.example.com/placements/timeline-menu"
    unknown = sandbox.call(
        "placement.bind", {"PLACEMENT": "CRM_DYNAMIC_4242_ACTIVITY_TIMELINE_MENU", "HANDLER": handler}
    ).json()
    assert unknown["error"] == "ERROR_PLACEMENT_NOT_FOUND"
    known = sandbox.call("placement.bind", {"PLACEMENT": PROJECTS.lower(), "HANDLER": handler}).json()
    assert known["result"] is True
    types = sandbox.call("crm.type.list").json()["result"]["types"]
    assert [row["entityTypeId"] for row in types] == [1032]
