"""The portal UI: pages, the app slider's frame form, placements in the activity grid, timeline actions."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from sandbox.apps import add_app, register_app
from sandbox.events import bind_handler
from sandbox.state import AppRegistration
from sandbox.testing import EventReceiver, RunningSandbox

FRAME_FIELDS = {"AUTH_ID", "AUTH_EXPIRES", "REFRESH_ID", "member_id", "status", "PLACEMENT"}
EXTRA_FIELDS = {"SERVER_ENDPOINT", "APPLICATION_TOKEN", "APPLICATION_SCOPE"}
LIST_MENU = "CRM_ACTIVITY_LIST_MENU"


def browser(sandbox: RunningSandbox, user_id: int = 1) -> requests.Session:
    """A browser session on the portal, logged in as `user_id` (the ?user_id= cookie)."""
    session = requests.Session()
    response = session.get(f"{sandbox.portal_url}/?user_id={user_id}", timeout=10)
    assert response.status_code == 200
    return session


def open_frame(sandbox: RunningSandbox, session: requests.Session, **body: Any) -> requests.Response:
    return session.post(f"{sandbox.portal_url}/_ui/frame", json=body, timeout=10)


def options_of(fields: dict[str, str]) -> dict[str, Any]:
    return json.loads(fields["PLACEMENT_OPTIONS"])


def ok(response: requests.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["result"]


MENU_HANDLER = "https://app.example.com/placements/activity-menu"
MENU_TITLES = {"en": {"TITLE": "Open in Timeline Bridge"}, "de": {"TITLE": "In Timeline Bridge öffnen"}}


def post(sandbox: RunningSandbox, path: str, session: Any = None, **kw: Any) -> requests.Response:
    """POST to a portal UI endpoint as a browser would (a session keeps the logged-in user)."""
    return (session or requests).post(f"{sandbox.portal_url}{path}", timeout=10, **kw)


def bind_list_menu(sandbox: RunningSandbox, handler: str = MENU_HANDLER) -> None:
    params = {"PLACEMENT": LIST_MENU, "HANDLER": handler, "LANG_ALL": MENU_TITLES}
    ok(sandbox.call("placement.bind", params))


def add_rest_app_activity(sandbox: RunningSandbox, owner_id: int = 1) -> int:
    fields = {
        "OWNER_TYPE_ID": 2,
        "OWNER_ID": owner_id,
        "PROVIDER_ID": "REST_APP",
        "SUBJECT": "Ticket #42 from the helpdesk",
        "RESPONSIBLE_ID": 1,
        "COMMUNICATIONS": [{"VALUE": "+4930123", "ENTITY_ID": 1, "ENTITY_TYPE_ID": 3}],
    }
    return int(ok(sandbox.call("crm.activity.add", {"fields": fields})))


CONFIGURABLE_LAYOUT = {
    "icon": {"code": "call-completed"},
    "header": {
        "title": {"en": "Delivery confirmed", "de": "Lieferung bestätigt"},
        "tags": {"status": {"title": "Shipped", "type": "success"}},
    },
    "body": {
        "logo": {"code": "delivery"},
        "blocks": {
            "note": {"type": "text", "properties": {"value": "Parcel handed to the courier", "bold": True}},
            "more": {"type": "largeText", "properties": {"value": "Line\n" * 20}},
        },
    },
    "footer": {
        "buttons": {
            "ack": {
                "title": "Acknowledge",
                "type": "primary",
                "action": {"type": "restEvent", "id": "ack", "actionParams": {"orderId": "77"}},
            },
            "open": {
                "title": "Details",
                "type": "secondary",
                "action": {"type": "openRestApp", "actionParams": {"view": "order"}},
            },
        }
    },
}


def add_configurable(sandbox: RunningSandbox) -> int:
    params = {"ownerTypeId": 2, "ownerId": 1, "fields": {"completed": False}, "layout": CONFIGURABLE_LAYOUT}
    return int(ok(sandbox.call("crm.activity.configurable.add", params))["activity"]["id"])


def bind_event(sandbox: RunningSandbox, event: str, handler: str) -> None:
    ok(sandbox.call("event.bind", {"event": event, "handler": handler}))


def todo_on_deal(sandbox: RunningSandbox, owner_id: int = 1) -> int:
    return next(
        a.id
        for a in sandbox.portal.crm.activities.values()
        if a.provider == "CRM_TODO" and (2, owner_id) in a.bindings and not a.completed
    )


# --- pages ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("/", "Applications"),
        ("/", "Acme Logistics: annual support"),
        ("/crm/deal/details/1/", 'id="timeline"'),
        ("/crm/lead/details/2/", "Trade show lead: Nordwind GmbH"),
        ("/crm/contact/details/3/", "Aisha Khan"),
        ("/crm/company/details/1/", "Acme Logistics Ltd"),
        ("/crm/activity/list/", 'id="activity-grid"'),
        ("/bx24.js", "window.BX24"),
        ("/api/v1/", "installFinish"),
    ],
)
def test_portal_pages_render(sandbox: RunningSandbox, path: str, text: str) -> None:
    response = requests.get(sandbox.portal_url + path, timeout=10)
    assert response.status_code == 200
    assert text in response.text


def test_an_unknown_crm_item_is_a_404(sandbox: RunningSandbox) -> None:
    assert requests.get(f"{sandbox.portal_url}/crm/deal/details/999/", timeout=10).status_code == 404


def test_the_oauth_host_has_no_portal_ui(sandbox: RunningSandbox) -> None:
    assert requests.get(f"{sandbox.oauth_url}/", timeout=10).status_code == 404


def test_the_deal_timeline_shows_scheduled_activities_before_the_history(sandbox: RunningSandbox) -> None:
    html = requests.get(f"{sandbox.portal_url}/crm/deal/details/1/", timeout=10).text
    scheduled, history = html.index('id="timeline-scheduled"'), html.index('id="timeline-history"')
    for activity in sandbox.portal.crm.activities.values():
        if (2, 1) in activity.bindings:
            position = html.index(f'data-activity-id="{activity.id}" data-kind=')
            assert (scheduled < position < history) == (not activity.completed)


def test_every_timeline_icon_is_drawn_by_an_ordinary_text_font(sandbox: RunningSandbox) -> None:
    """No icon outside the Basic Multilingual Plane: an emoji needs a colour font a browser may lack."""
    icons = []
    for deal in (1, 2, 3):
        html = requests.get(f"{sandbox.portal_url}/crm/deal/details/{deal}/", timeout=10).text
        icons += re.findall(r'<div class="tl-icon" aria-hidden="true">(.*?)</div>', html, re.S)
    meetings = [a for a in sandbox.portal.crm.activities.values() if a.provider == "CRM_MEETING"]
    assert icons and meetings  # the seed's meetings are on these deals' timelines
    assert [icon for icon in icons if any(ord(c) > 0xFFFF for c in icon)] == []


def test_an_item_card_names_its_fields_and_the_responsible_person(sandbox: RunningSandbox) -> None:
    html = requests.get(f"{sandbox.portal_url}/crm/deal/details/1/", timeout=10).text
    deal = sandbox.portal.owners[(2, 1)]
    user = sandbox.portal.users[int(deal.fields["ASSIGNED_BY_ID"])]
    assert re.search(
        rf'<dt data-field="ASSIGNED_BY_ID">Responsible</dt>\s*<dd>{user.name} {user.last_name}</dd>', html
    )
    assert ">ASSIGNED_BY_ID<" not in html


def test_the_user_switcher_remembers_the_chosen_user(sandbox: RunningSandbox) -> None:
    session = browser(sandbox, user_id=2)
    html = session.get(f"{sandbox.portal_url}/", timeout=10).text
    assert 'id="current-user" data-user-id="2"' in html
    assert 'id="install-app"' not in html and 'id="uninstall-app"' not in html


def test_the_admin_sees_the_app_state_and_lifecycle_buttons(sandbox: RunningSandbox) -> None:
    html = browser(sandbox).get(f"{sandbox.portal_url}/", timeout=10).text
    assert 'data-app-state="installed"' in html
    assert 'id="uninstall-app"' in html and 'id="open-app"' in html


# --- the frame form (notes §1.2) ------------------------------------------------------------------


def test_opening_the_app_posts_exactly_the_frame_fields_with_a_working_token(sandbox: RunningSandbox) -> None:
    session = browser(sandbox, user_id=2)
    data = open_frame(sandbox, session, mode="app").json()
    url = urlsplit(data["url"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert f"{url.scheme}://{url.netloc}{url.path}" == sandbox.app.main_url
    assert set(query) == {"DOMAIN", "PROTOCOL", "LANG", "APP_SID"}
    assert query["DOMAIN"] == sandbox.portal.domain and query["PROTOCOL"] == "0" and query["LANG"] == "en"
    assert len(query["APP_SID"]) == 32 and int(query["APP_SID"], 16) >= 0
    assert set(data["fields"]) == FRAME_FIELDS | EXTRA_FIELDS
    fields = data["fields"]
    assert fields["PLACEMENT"] == "DEFAULT" and fields["AUTH_EXPIRES"] == "3600"
    assert fields["member_id"] == sandbox.portal.member_id and fields["status"] == "L"
    assert fields["APPLICATION_TOKEN"] == sandbox.app.application_token
    assert fields["SERVER_ENDPOINT"] == f"{sandbox.oauth_url}/rest/"
    user = ok(sandbox.call("user.current", token=fields["AUTH_ID"]))
    assert user["ID"] == "2"
    assert data["init"]["AUTH_ID"] == fields["AUTH_ID"] and data["init"]["IS_ADMIN"] is False


def test_every_open_gets_a_new_app_sid_and_token(sandbox: RunningSandbox) -> None:
    session = browser(sandbox)
    first, second = (open_frame(sandbox, session, mode="app").json() for _ in range(2))
    assert first["app_sid"] != second["app_sid"]
    assert first["fields"]["AUTH_ID"] != second["fields"]["AUTH_ID"]


def test_the_extra_frame_fields_follow_the_setting(sandbox: RunningSandbox) -> None:
    sandbox.configure(frame_extra_fields=False)
    data = open_frame(sandbox, browser(sandbox), mode="app").json()
    assert set(data["fields"]) == FRAME_FIELDS


def test_before_install_the_admin_gets_the_installer(sandbox: RunningSandbox) -> None:
    sandbox.app.installed = False
    data = open_frame(sandbox, browser(sandbox), mode="app").json()
    assert data["url"].startswith(sandbox.app.install_url + "?")
    assert data["installer"] is True and data["init"]["INSTALL"] is True


def test_before_install_a_non_admin_is_told_the_app_is_not_installed(sandbox: RunningSandbox) -> None:
    sandbox.app.installed = False
    response = open_frame(sandbox, browser(sandbox, user_id=2), mode="app")
    assert response.status_code == 403
    assert response.json() == {"error": "The application is not fully installed yet"}


# --- placements in the activity grid (notes §3.3) -------------------------------------------------


def test_the_list_menu_shows_a_bound_placement_only_after_install(sandbox: RunningSandbox) -> None:
    sandbox.app.installed = False
    bind_list_menu(sandbox)
    session = browser(sandbox)
    grid = f"{sandbox.portal_url}/crm/activity/list/"
    assert f'data-placement="{LIST_MENU}"' not in session.get(grid, timeout=10).text
    finished = session.post(f"{sandbox.portal_url}/_ui/bx24/install-finish", json={}, timeout=10)
    assert finished.json()["installed"] is True
    html = session.get(grid, timeout=10).text
    assert f'data-placement="{LIST_MENU}"' in html and "Open in Timeline Bridge" in html
    assert "In Timeline Bridge öffnen" in session.get(grid + "?lang=de", timeout=10).text


def test_a_list_menu_placement_opens_its_handler_with_the_activity_id(sandbox: RunningSandbox) -> None:
    handler = "https://app.example.com/placements/activity-menu"
    bind_list_menu(sandbox, handler)
    sandbox.configure(frame_uri_option=False)
    activity_id = todo_on_deal(sandbox)
    body = {"mode": "placement", "placement": LIST_MENU, "handler": handler, "activity_id": activity_id}
    data = open_frame(sandbox, browser(sandbox), **body).json()
    assert data["url"].startswith(handler + "?DOMAIN=")
    assert data["fields"]["PLACEMENT"] == LIST_MENU
    assert options_of(data["fields"]) == {"ID": str(activity_id)}


def test_the_uri_option_is_added_when_enabled(sandbox: RunningSandbox) -> None:
    bind_list_menu(sandbox)
    body = {"mode": "placement", "placement": LIST_MENU, "activity_id": 3, "uri": "/crm/activity/list/"}
    data = open_frame(sandbox, browser(sandbox), **body).json()
    assert options_of(data["fields"]) == {"ID": "3", "URI": "/crm/activity/list/"}
    assert "\\/crm\\/activity\\/list\\/" in data["fields"]["PLACEMENT_OPTIONS"]  # PHP json_encode escaping


def test_an_unbound_placement_cannot_be_opened(sandbox: RunningSandbox) -> None:
    response = open_frame(sandbox, browser(sandbox), mode="placement", placement=LIST_MENU, activity_id=1)
    assert response.status_code == 404


# --- REST_APP and configurable activities (notes §3.5, §3.6) --------------------------------------


def test_a_rest_app_activity_opens_the_main_page_with_view_activity(sandbox: RunningSandbox) -> None:
    activity_id = add_rest_app_activity(sandbox)
    html = requests.get(f"{sandbox.portal_url}/crm/deal/details/1/", timeout=10).text
    assert f'class="tl-subject linklike js-open-activity" data-activity-id="{activity_id}"' in html
    data = open_frame(sandbox, browser(sandbox), mode="activity", activity_id=activity_id).json()
    assert data["url"].startswith(sandbox.app.main_url + "?")
    assert data["fields"]["PLACEMENT"] == "DEFAULT"
    assert options_of(data["fields"]) == {"action": "view_activity", "activity_id": str(activity_id)}


def test_a_configurable_activity_renders_its_layout(sandbox: RunningSandbox) -> None:
    activity_id = add_configurable(sandbox)
    url = f"{sandbox.portal_url}/crm/deal/details/1/"
    html = requests.get(url, timeout=10).text
    assert f'id="activity-{activity_id}"' in html
    for snippet in (
        "Delivery confirmed",
        "Shipped",
        "tag-success",
        "Parcel handed to the courier",
        "Show more",
    ):
        assert snippet in html
    assert 'data-action-type="restEvent"' in html and 'data-action-id="ack"' in html
    assert 'data-action-type="openRestApp"' in html
    assert "Lieferung bestätigt" in requests.get(url + "?lang=de", timeout=10).text


def test_open_rest_app_passes_action_params_and_the_item(sandbox: RunningSandbox) -> None:
    activity_id = add_configurable(sandbox)
    body = {
        "mode": "openRestApp",
        "client_id": sandbox.app.client_id,
        "activity_id": activity_id,
        "owner_type_id": "2",
        "owner_id": "1",
        "action_params": {"view": "order"},
    }
    data = open_frame(sandbox, browser(sandbox), **body).json()
    assert data["fields"]["PLACEMENT"] == "DEFAULT"
    expected = {"view": "order", "entityTypeId": "2", "entityId": "1", "activityId": str(activity_id)}
    assert options_of(data["fields"]) == expected


def second_app(sandbox: RunningSandbox, receiver: EventReceiver) -> None:
    """Install another app on the demo portal with its own ONCRMTIMELINEITEMACTION handler."""
    state = sandbox.state
    reg = AppRegistration(
        client_id="local.other.1", client_secret="other-secret", base_url="http://127.0.0.1:1"
    )
    with state.lock:
        first = register_app(state) if not state.registrations else None
        assert first is None
        state.registrations[reg.client_id] = reg
        other = add_app(state, sandbox.portal, reg.client_id)
        other.installed = True
        bind_handler(sandbox.portal, other, "ONCRMTIMELINEITEMACTION", receiver.url("/other"), user_id=1)


def test_a_rest_event_button_notifies_only_the_creating_app(
    sandbox: RunningSandbox, event_receiver: EventReceiver
) -> None:
    ok(
        sandbox.call(
            "event.bind", {"event": "ONCRMTIMELINEITEMACTION", "handler": event_receiver.url("/mine")}
        )
    )
    second_app(sandbox, event_receiver)
    activity_id = add_configurable(sandbox)
    session = browser(sandbox, user_id=2)
    body = {"client_id": sandbox.app.client_id, "action_id": "ack", "owner_type_id": 2, "owner_id": 1}
    response = session.post(
        f"{sandbox.portal_url}/_ui/activity/{activity_id}/rest-event", json=body, timeout=10
    )
    assert response.json() == {"sent": 1}
    sandbox.wait_for_deliveries(1)
    received = event_receiver.wait_for(1)
    assert [r.path for r in received] == ["/mine"]
    form = received[0].form
    assert form["event"] == "ONCRMTIMELINEITEMACTION"
    assert form["data[id]"] == "ack" and form["data[orderId]"] == "77"
    assert form["data[activityId]"] == str(activity_id)
    assert (form["data[entityTypeId]"], form["data[entityId]"]) == ("2", "1")
    assert form["auth[user_id]"] == "2" and form["auth[application_token]"] == sandbox.app.application_token


def test_an_unknown_rest_event_action_is_refused(sandbox: RunningSandbox) -> None:
    activity_id = add_configurable(sandbox)
    body = {"client_id": sandbox.app.client_id, "action_id": "nope", "owner_type_id": 2, "owner_id": 1}
    response = requests.post(
        f"{sandbox.portal_url}/_ui/activity/{activity_id}/rest-event", json=body, timeout=10
    )
    assert response.status_code == 404


# --- content blocks (notes §6.2) ------------------------------------------------------------------


def text(value: Any) -> dict[str, Any]:
    return {"type": "text", "properties": {"value": value}}


def link(label: str, action: dict[str, Any]) -> dict[str, Any]:
    return {"type": "link", "properties": {"text": label, "action": action}}


DEADLINE = {"type": "deadline", "properties": {}}
BLOCKS = {
    "hello": {"type": "text", "properties": {"value": {"en": "Hello", "de": "Hallo"}, "multiline": True}},
    "fallback": {"type": "text", "properties": {"value": {"ru": "Privet", "en": "English wins"}}},
    "long": {"type": "largeText", "properties": {"value": "Long text\n" * 30}},
    "go": {
        "type": "link",
        "properties": {"text": "Open deal", "action": {"type": "redirect", "uri": "/crm/deal/details/2/"}},
    },
    "ext": {
        "type": "link",
        "properties": {"text": "Vendor", "action": {"type": "redirect", "uri": "https://example.com/x"}},
    },
    "app": {
        "type": "link",
        "properties": {"text": "In the app", "action": {"type": "openRestApp", "actionParams": {"a": "1"}}},
    },
    "titled": {
        "type": "withTitle",
        "properties": {
            "title": "Status",
            "inline": True,
            "block": {"type": "text", "properties": {"value": "Open"}},
        },
    },
    "line": {
        "type": "lineOfBlocks",
        "properties": {
            "blocks": {
                "t": {"type": "text", "properties": {"value": "Left"}},
                "b": {
                    "type": "link",
                    "properties": {"text": "Ping", "action": {"type": "restEvent", "id": "ping"}},
                },
            }
        },
    },
    "due": {
        "type": "withTitle",
        "properties": {"title": "Due", "block": {"type": "deadline", "properties": {}}},
    },
}


def test_content_blocks_render_with_translations_and_actions(sandbox: RunningSandbox) -> None:
    activity_id = todo_on_deal(sandbox)
    params = {"entityTypeId": 2, "entityId": 1, "activityId": activity_id, "layout": {"blocks": BLOCKS}}
    assert ok(sandbox.call("crm.activity.layout.blocks.set", params)) == {"success": True}
    url = f"{sandbox.portal_url}/crm/deal/details/1/"
    html = requests.get(url, timeout=10).text
    for text in (
        "Hello",
        "English wins",
        "Show more",
        "Open deal",
        "Status",
        "Left",
        'data-block-type="deadline"',
    ):
        assert text in html
    assert 'href="/crm/deal/details/2/"' in html
    assert 'href="https://example.com/x" data-action-type="redirect"' in html or 'target="_blank"' in html
    assert 'data-action-type="openRestApp"' in html and 'data-action-id="ping"' in html
    assert f'class="cb-set" data-client-id="{sandbox.app.client_id}"' in html
    assert "Hallo" in requests.get(url + "?lang=de", timeout=10).text


def test_a_rest_event_in_a_content_block_reaches_the_app_that_set_it(
    sandbox: RunningSandbox, event_receiver: EventReceiver
) -> None:
    bind_event(sandbox, "ONCRMTIMELINEITEMACTION", event_receiver.url())
    activity_id = todo_on_deal(sandbox)
    params = {"entityTypeId": 2, "entityId": 1, "activityId": activity_id, "layout": {"blocks": BLOCKS}}
    ok(sandbox.call("crm.activity.layout.blocks.set", params))
    body = {"client_id": sandbox.app.client_id, "action_id": "ping", "owner_type_id": 2, "owner_id": 1}
    response = requests.post(
        f"{sandbox.portal_url}/_ui/activity/{activity_id}/rest-event", json=body, timeout=10
    )
    assert response.json() == {"sent": 1}
    assert event_receiver.wait_for(1)[0].form["data[id]"] == "ping"


# --- UI changes emit events like REST changes -----------------------------------------------------


def bind_activity_events(sandbox: RunningSandbox, receiver: EventReceiver) -> None:
    for event in ("ONCRMACTIVITYADD", "ONCRMACTIVITYUPDATE", "ONCRMACTIVITYDELETE"):
        bind_event(sandbox, event, receiver.url())


def test_ui_changes_emit_activity_events_with_the_users_auth(
    sandbox: RunningSandbox, event_receiver: EventReceiver
) -> None:
    bind_activity_events(sandbox, event_receiver)
    session = browser(sandbox, user_id=2)
    base = sandbox.portal_url
    before = set(sandbox.portal.crm.activities)
    added = session.post(f"{base}/_ui/owner/2/1/todo", data={"title": "Call back", "next": "/"}, timeout=10)
    assert added.status_code == 200 and "To-do added" in added.text
    (new_id,) = set(sandbox.portal.crm.activities) - before
    assert sandbox.portal.crm.activities[new_id].fields["SUBJECT"] == "Call back"
    session.post(f"{base}/_ui/activity/{new_id}/complete", data={"next": "/"}, timeout=10)
    assert sandbox.portal.crm.activities[new_id].completed
    session.post(f"{base}/_ui/activity/{new_id}/delete", data={"next": "/"}, timeout=10)
    assert new_id not in sandbox.portal.crm.activities
    received = event_receiver.wait_for(3)
    assert [r.form["event"] for r in received] == [
        "ONCRMACTIVITYADD",
        "ONCRMACTIVITYUPDATE",
        "ONCRMACTIVITYDELETE",
    ]
    for request in received:
        assert request.form["data[FIELDS][ID]"] == str(new_id)
        assert request.form["auth[user_id]"] == "2" and request.form["auth[access_token]"]


def test_a_user_without_crm_rights_cannot_change_the_timeline(
    sandbox: RunningSandbox, event_receiver: EventReceiver
) -> None:
    bind_activity_events(sandbox, event_receiver)
    activity_id = todo_on_deal(sandbox)
    session = browser(sandbox, user_id=3)
    response = session.post(
        f"{sandbox.portal_url}/_ui/activity/{activity_id}/delete", data={"next": "/"}, timeout=10
    )
    assert "Access denied." in response.text
    assert activity_id in sandbox.portal.crm.activities
    assert not sandbox.deliveries


# --- install / uninstall from the UI (notes §1.3, §1.6) -------------------------------------------


def test_install_finish_from_the_frame_fires_onappinstall(
    sandbox: RunningSandbox, event_receiver: EventReceiver
) -> None:
    sandbox.app.installed = False
    bind_event(sandbox, "ONAPPINSTALL", event_receiver.url("/install"))
    refused = post(sandbox, "/_ui/bx24/install-finish", browser(sandbox, user_id=2), json={})
    assert refused.status_code == 403 and not sandbox.app.installed
    done = post(sandbox, "/_ui/bx24/install-finish", browser(sandbox), json={})
    assert done.json()["installed"] is True
    form = event_receiver.wait_for(1)[0].form
    assert form["event"] == "ONAPPINSTALL" and form["data[INSTALLED]"] == "Y" and form["auth[refresh_token]"]


def test_uninstall_and_install_buttons(sandbox: RunningSandbox) -> None:
    session = browser(sandbox)
    gone = session.post(f"{sandbox.portal_url}/_ui/app/uninstall", data={"next": "/"}, timeout=10)
    assert "Application uninstalled" in gone.text and 'data-app-state="absent"' in gone.text
    back = session.post(f"{sandbox.portal_url}/_ui/app/install", data={"next": "/"}, timeout=10)
    assert back.url.endswith("/?open_app=1") and 'id="auto-open"' in back.text
    assert 'data-app-state="added"' in back.text


def test_a_non_admin_cannot_uninstall(sandbox: RunningSandbox) -> None:
    response = post(sandbox, "/_ui/app/uninstall", browser(sandbox, user_id=2), data={})
    assert "Only administrators" in response.text and sandbox.app.installed


def test_an_editable_deadline_block_moves_the_deadline_and_emits_an_update(
    sandbox: RunningSandbox, event_receiver: EventReceiver
) -> None:
    bind_activity_events(sandbox, event_receiver)
    activity_id = todo_on_deal(sandbox)
    params = {"entityTypeId": 2, "entityId": 1, "activityId": activity_id, "layout": {"blocks": BLOCKS}}
    ok(sandbox.call("crm.activity.layout.blocks.set", params))
    html = requests.get(f"{sandbox.portal_url}/crm/deal/details/1/", timeout=10).text
    assert f'action="/_ui/activity/{activity_id}/deadline"' in html and 'data-readonly="N"' in html
    moved = post(
        sandbox, f"/_ui/activity/{activity_id}/deadline", data={"deadline": "2030-01-02T09:30", "next": "/"}
    )
    assert "Deadline changed" in moved.text
    deadline = sandbox.portal.crm.activities[activity_id].fields["DEADLINE"]
    assert (deadline.year, deadline.month, deadline.day, deadline.hour, deadline.minute) == (
        2030,
        1,
        2,
        9,
        30,
    )
    form = event_receiver.wait_for(1)[0].form
    assert form["event"] == "ONCRMACTIVITYUPDATE" and form["data[FIELDS][ID]"] == str(activity_id)


def test_a_deadline_block_is_read_only_for_a_user_without_crm_rights(sandbox: RunningSandbox) -> None:
    activity_id = todo_on_deal(sandbox)
    params = {"entityTypeId": 2, "entityId": 1, "activityId": activity_id, "layout": {"blocks": BLOCKS}}
    ok(sandbox.call("crm.activity.layout.blocks.set", params))
    html = browser(sandbox, user_id=3).get(f"{sandbox.portal_url}/crm/deal/details/1/", timeout=10).text
    assert 'data-block-type="deadline" data-readonly="Y"' in html
    assert f'action="/_ui/activity/{activity_id}/deadline"' not in html


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/_ui/frame", {"mode": "placement"}),
        ("/_ui/frame", {"mode": "activity", "activity_id": "x"}),
        ("/_ui/frame", {"mode": "app", "client_id": "local.unknown"}),
        ("/_ui/activity/1/rest-event", {"owner_type_id": "x"}),
        ("/_ui/activity/999/rest-event", {"action_id": "ack"}),
    ],
)
def test_bad_ui_calls_get_a_clear_4xx(sandbox: RunningSandbox, path: str, body: Any) -> None:
    response = post(sandbox, path, json=body)
    assert 400 <= response.status_code < 500
    assert response.json()["error"]
    assert not sandbox.state.errors
