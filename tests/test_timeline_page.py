"""The activity page: opened from CRM_ACTIVITY_LIST_MENU or view_activity, verified in one batch."""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from flask.testing import FlaskClient

from app.extensions import db
from app.metrics.exposition import total
from app.portals.setup import register_portal
from app.timeline import texts
from sandbox.apps import find_app
from sandbox.ui.frame import open_frame
from tests.conftest import frame_ancestors
from tests.test_main import open_main_page

PAGE_TOKEN = re.compile(r'name="page_token" value="([^"]+)"')
LAYOUT = {
    "blocks": {
        "b1": {"type": "text", "properties": {"value": "Hello\nthere", "multiline": True, "bold": True}},
        "b2": {"type": "largeText", "properties": {"value": "A long story"}},
        "b3": {
            "type": "link",
            "properties": {
                "text": "Open deal",
                "action": {"type": "redirect", "uri": "/crm/deal/details/1/"},
            },
        },
        "b4": {
            "type": "withTitle",
            "properties": {
                "title": {"en": "Order", "ru": "Заказ"},
                "inline": True,
                "block": {"type": "text", "properties": {"value": "#42"}},
            },
        },
        "b5": {
            "type": "lineOfBlocks",
            "properties": {
                "blocks": {
                    "t": {"type": "text", "properties": {"value": "left"}},
                    "d": {"type": "deadline", "properties": {}},
                }
            },
        },
        "b6": {"type": "deadline", "properties": {"readonly": True}},
    }
}


def portal_calls() -> float:
    """Every HTTP attempt the app has made to a portal (the client's observe hook feeds /metrics)."""
    return total("tb_portal_calls_total")


def activity_of(sandbox: Any, *, provider: str = "CRM_TODO", completed: bool = False) -> Any:
    """A seeded activity of the demo portal with that provider and state."""
    for activity in sandbox.portal.crm.activities.values():
        if activity.provider == provider and activity.completed == completed:
            return activity
    raise AssertionError(f"the sandbox has no {provider} activity (completed={completed})")


def app_activity(sandbox: Any) -> Any:
    """A REST_APP activity the app itself created (notes §3.5)."""
    fields = {
        "OWNER_TYPE_ID": 2,
        "OWNER_ID": 1,
        "SUBJECT": "Ticket #7 from the helpdesk",
        "RESPONSIBLE_ID": 1,
        "PROVIDER_ID": "REST_APP",
    }
    answer = sandbox.call("crm.activity.add", {"fields": fields})
    assert answer.status_code == 200, answer.text
    return sandbox.portal.crm.activities[int(answer.json()["result"])]


def set_blocks(sandbox: Any, activity: Any, layout: dict[str, Any] = LAYOUT) -> None:
    """Put content blocks on an activity as the app, straight on the portal."""
    owner_type, owner_id = activity.bindings[0]
    params = {"entityTypeId": owner_type, "entityId": owner_id, "activityId": activity.id, "layout": layout}
    answer = sandbox.call("crm.activity.layout.blocks.set", params)
    assert answer.status_code == 200, answer.text


def open_activity(client: FlaskClient, sandbox: Any, activity_id: int | str, **kwargs: Any):
    """POST / as the portal does when a user clicks an activity the app created (notes §3.5)."""
    options = {"action": "view_activity", "activity_id": activity_id}
    return open_main_page(client, sandbox, options=options, **kwargs)


def open_from_menu(
    client: FlaskClient, sandbox: Any, options: dict[str, Any], *, user_id: int = 1, **fields: str
):
    """POST the CRM_ACTIVITY_LIST_MENU handler the way the portal's slider does (notes §3.3)."""
    where = sandbox.portal
    opened = open_frame(
        sandbox.state,
        where,
        find_app(sandbox.state, where),
        where.users[user_id],
        lang="en",
        placement="CRM_ACTIVITY_LIST_MENU",
        options=options,
    )
    url = urlsplit(opened.url)
    assert url.path == "/placements/activity-menu"
    return client.post(f"{url.path}?{urlencode(parse_qsl(url.query))}", data={**opened.fields, **fields})


def bind_list_menu(portal: Any) -> None:
    """Register the manifest on the portal, CRM_ACTIVITY_LIST_MENU included, as the installer does."""
    register_portal(portal)
    db.session.commit()


def page_token(response) -> str:
    match = PAGE_TOKEN.search(response.get_data(as_text=True))
    assert match, "the page carries no page token"
    return match.group(1)


def test_view_activity_shows_the_activity_its_links_and_blocks_in_one_round_trip(
    connected_app, sandbox, portal
) -> None:
    activity = activity_of(sandbox)
    set_blocks(sandbox, activity)
    before = portal_calls()
    response = open_activity(connected_app.test_client(), sandbox, activity.id)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert portal_calls() - before == 1
    assert f'data-activity-id="{activity.id}"' in html and activity.fields["SUBJECT"] in html
    assert '<dd data-fact="type">To-do</dd>' in html
    assert '<dd data-fact="owner">Lead: Website enquiry: Acme Logistics</dd>' in html
    assert '<dd data-fact="status">Waiting</dd>' in html
    assert '<dd data-fact="responsible">Maria Ivanova (you)</dd>' in html
    assert activity.fields["DEADLINE"].strftime("%Y-%m-%dT%H:%M") in html  # the deadline field's value
    assert "Send the contract draft (demo data)" in html
    assert 'class="tb-binding" data-entity-type-id="1" data-entity-id="1"' in html
    assert page_token(response) and 'id="tb-todo-deadline"' in html and 'id="tb-blocks-form"' in html


def test_the_blocks_are_rendered_as_the_portal_renders_them(connected_app, sandbox, portal) -> None:
    activity = activity_of(sandbox)
    set_blocks(sandbox, activity)
    html = open_activity(connected_app.test_client(), sandbox, activity.id).get_data(as_text=True)
    current = html.split('id="tb-blocks-current"', 1)[1].split("</div>\n  \n", 1)[0]
    for key in ("b1", "b2", "b3", "b4", "b5", "b6"):
        assert f'data-block-key="{key}"' in current
    assert "tb-cb-bold" in current and "Hello<br>there" in current
    assert '<div class="tb-cb-large-text">A long story</div>' in current  # all of it, lines kept (pre-wrap)
    assert f'href="{sandbox.portal_url}/crm/deal/details/1/"' in current and ">Open deal</a>" in current
    assert '<span class="tb-cb-title">Order</span>' in current and "#42" in current
    assert 'data-block-type="lineOfBlocks"' in current and "left" in current
    assert current.count('data-block-type="deadline"') == 2
    # one date format on the page: the deadline blocks and the editor's preview write it as the facts do
    [fact] = re.findall(r'<dd data-fact="deadline">([^<]+)</dd>', html)
    assert re.findall(r'data-block-type="deadline"[^>]*>([^<]+)</span>', current) == [fact, fact]
    assert f'data-deadline="{fact}"' in html and not re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", html)


def test_the_list_menu_opens_the_activity_for_a_user_in_one_round_trip(
    connected_app, sandbox, portal
) -> None:
    bind_list_menu(portal)
    activity = activity_of(sandbox, provider="VOXIMPLANT_CALL", completed=True)
    before = portal_calls()
    response = open_from_menu(connected_app.test_client(), sandbox, {"ID": str(activity.id)}, user_id=2)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert portal_calls() - before == 1
    assert activity.fields["SUBJECT"] in html and '<dd data-fact="type">Call</dd>' in html
    assert '<dd data-fact="status">Completed</dd>' in html and "This activity is completed." in html
    assert "can be changed on to-dos only" in html and 'id="tb-todo-deadline"' not in html
    assert frame_ancestors(response) == sandbox.portal_url


@pytest.mark.parametrize("options", [{}, {"ID": "abc"}, {"ID": "0"}], ids=["none", "junk", "zero"])
def test_the_list_menu_without_an_activity_says_so(connected_app, sandbox, portal, options) -> None:
    bind_list_menu(portal)
    response = open_from_menu(connected_app.test_client(), sandbox, options)
    assert response.status_code == 404
    assert "This activity cannot be shown" in response.get_data(as_text=True)


def test_any_user_sees_the_activity_page(connected_app, sandbox, portal) -> None:
    activity = activity_of(sandbox)
    for user_id in (2, 3):
        response = open_activity(connected_app.test_client(), sandbox, activity.id, user_id=user_id)
        html = response.get_data(as_text=True)
        assert response.status_code == 200
        assert activity.fields["SUBJECT"] in html and 'id="health"' not in html
        assert "(you)" not in html and '<dd data-fact="responsible">Maria Ivanova</dd>' in html


def test_a_user_who_may_not_read_the_activity_gets_a_refusal_in_words(connected_app, sandbox, portal) -> None:
    # sandbox seed: user 4 reads only the items assigned to her (the second of each type), user 5 no CRM
    activities = sandbox.portal.crm.activities.values()
    hidden = next(a for a in activities if all(owner_id != 2 for _, owner_id in a.bindings))
    hers = next(a for a in activities if any(owner_id == 2 for _, owner_id in a.bindings))
    for user_id in (4, 5):
        response = open_activity(connected_app.test_client(), sandbox, hidden.id, user_id=user_id)
        html = response.get_data(as_text=True)
        assert response.status_code == 403
        assert "This activity cannot be shown" in html and "permissions do not let you see it" in html
        assert hidden.fields["SUBJECT"] not in html and "page_token" not in html
    response = open_activity(connected_app.test_client(), sandbox, hers.id, user_id=4)
    assert response.status_code == 200 and hers.fields["SUBJECT"] in response.get_data(as_text=True)


def test_the_page_opens_when_blocks_are_for_administrators_only(connected_app, sandbox, portal) -> None:
    # disputed (notes §6.1 vs the docs pages): the sandbox switch makes layout.blocks.* admin-only
    sandbox.configure(layout_blocks_admin_only=True)
    activity = activity_of(sandbox)
    response = open_activity(connected_app.test_client(), sandbox, activity.id, user_id=2)
    assert response.status_code == 200
    assert activity.fields["SUBJECT"] in response.get_data(as_text=True)


@pytest.mark.parametrize("auth_id", ["0" * 70, "not-a-token"], ids=["unknown", "junk"])
def test_a_forged_auth_id_shows_nothing_and_asks_to_reopen(connected_app, sandbox, portal, auth_id) -> None:
    activity = activity_of(sandbox)
    response = open_activity(connected_app.test_client(), sandbox, activity.id, AUTH_ID=auth_id)
    html = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "Your Bitrix24 session has ended" in html
    assert activity.fields["SUBJECT"] not in html and "page_token" not in html


def test_an_expired_auth_id_shows_nothing_and_asks_to_reopen(connected_app, sandbox, portal) -> None:
    activity = activity_of(sandbox)
    sandbox.configure(token_lifetime=-5)
    response = open_activity(connected_app.test_client(), sandbox, activity.id)
    assert response.status_code == 401
    html = response.get_data(as_text=True)
    assert "Your Bitrix24 session has ended" in html and activity.fields["SUBJECT"] not in html


def test_a_token_of_another_portal_is_refused(connected_app, sandbox, portal) -> None:
    other = sandbox.portals[1]
    foreign = open_frame(
        sandbox.state, other, find_app(sandbox.state, other), other.users[1], lang="en"
    ).fields["AUTH_ID"]
    activity = activity_of(sandbox)
    response = open_activity(connected_app.test_client(), sandbox, activity.id, AUTH_ID=foreign)
    assert response.status_code == 401 and "page_token" not in response.get_data(as_text=True)


def test_a_foreign_domain_is_refused_and_nothing_is_called(connected_app, sandbox, portal) -> None:
    activity = activity_of(sandbox)
    before = portal_calls()
    other = sandbox.portals[1]
    response = open_activity(
        connected_app.test_client(), sandbox, activity.id, query={"DOMAIN": other.domain}
    )
    assert response.status_code == 403 and "opened for another portal" in response.get_data(as_text=True)
    assert portal_calls() == before


def test_a_domain_outside_the_allow_list_cannot_be_framed(connected_app, sandbox, portal) -> None:
    bind_list_menu(portal)
    activity = activity_of(sandbox)
    client = connected_app.test_client()
    response = open_activity(client, sandbox, activity.id, query={"DOMAIN": "evil.example.com"})
    assert response.status_code == 400
    assert frame_ancestors(response) == "'none'"


def test_an_unknown_activity_gets_a_clear_page(connected_app, sandbox, portal) -> None:
    response = open_activity(connected_app.test_client(), sandbox, 99999)
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "This activity cannot be shown" in html and "page_token" not in html
    assert frame_ancestors(response) == sandbox.portal_url


def test_an_activity_the_app_created_opens_from_the_timeline(connected_app, sandbox, portal) -> None:
    activity = app_activity(sandbox)
    response = open_activity(connected_app.test_client(), sandbox, str(activity.id))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Ticket #7 from the helpdesk" in html and '<dd data-fact="type">App activity</dd>' in html
    assert '<dd data-fact="owner">Deal: Acme Logistics: annual support</dd>' in html


def test_the_page_speaks_russian_to_a_russian_portal(connected_app, sandbox, portal) -> None:
    activity = activity_of(sandbox)
    set_blocks(sandbox, activity)
    response = open_activity(connected_app.test_client(), sandbox, activity.id, lang="ru")
    html = response.get_data(as_text=True)
    assert 'lang="ru"' in html and "Связанные элементы CRM" in html and "Крайний срок" in html
    assert '<dd data-fact="type">Универсальное дело</dd>' in html and "Завершить" in html
    assert '<span class="tb-cb-title">Заказ</span>' in html  # the block's own translation
    assert 'name="lang" value="ru"' in html


def test_the_page_fits_the_slider_and_loads_its_own_assets(connected_app, sandbox, portal) -> None:
    connected_app.config["B24_JS_URL"] = f"{sandbox.portal_url}/static/bx24.js"
    activity = activity_of(sandbox)
    html = open_activity(connected_app.test_client(), sandbox, activity.id).get_data(as_text=True)
    assert f'<script src="{sandbox.portal_url}/static/bx24.js"></script>' in html
    assert '/static/bx24-fit.js"' in html
    assert '/static/timeline.js"' in html and '/static/timeline.css"' in html
    assert '/static/block-editor.js"' in html
    client = connected_app.test_client()
    for asset in ("timeline.js", "block-editor.js", "timeline.css", "bx24-fit.js"):
        with client.get(f"/static/{asset}") as asset_response:
            assert asset_response.status_code == 200


def test_no_token_reaches_the_log(connected_app, sandbox, portal, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    activity = activity_of(sandbox)
    response = open_activity(connected_app.test_client(), sandbox, activity.id)
    assert page_token(response) not in caplog.text and "gAAAA" not in caplog.text
    assert "Set-Cookie" not in response.headers


def test_the_documented_error_codes_have_words() -> None:
    # That every catalog translates them is tests/test_i18n.py's.
    documented = {"LAST_BINDING_CANNOT_BE_DELETED", "ACTIVITY_IS_ALREADY_BOUND", "BINDING_NOT_FOUND"}
    assert documented <= set(texts.CODES)


def test_the_list_menu_page_can_act_on_its_activity(connected_app, sandbox, portal) -> None:
    bind_list_menu(portal)
    activity = activity_of(sandbox)
    client = connected_app.test_client()
    token = page_token(open_from_menu(client, sandbox, {"ID": str(activity.id), "URI": "/crm/activity/"}))
    form = {"page_token": token, "lang": "en", "owner_type_id": "1", "owner_id": "1"}
    before = portal_calls()
    response = client.post(f"/activity/{activity.id}/complete", data=form)
    assert response.status_code == 200 and activity.completed
    assert portal_calls() - before == 2  # the change, then the page again in one batch
