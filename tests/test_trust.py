"""Issue #11 items 1, 4: an ordinary user with the frame's own tokens cannot take over, wipe or act as others.

Every test plays the attacker the way a real one works: user 3 (Peter Brown, no administrator, may not edit
CRM) opens the app in the sandbox portal and takes what the frame gives every user (AUTH_ID, REFRESH_ID and,
on newer portals, the real APPLICATION_TOKEN), then posts it where it pleases.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from flask import current_app
from sqlalchemy import select

from app.api.keys import create_key
from app.extensions import db
from app.models import ApiKey, InboxEvent, InboxStatus, Portal, PortalState, utcnow
from app.portals import throttle
from app.portals.connections import client_for, oauth_client
from app.portals.credentials import stale_portals
from app.portals.lifecycle import TRANSITIONS, Message, RefusedTransition, transition
from app.portals.store import application_token_matches
from app.portals.uninstalls import Verdict, confirm_uninstalls
from sandbox.apps import add_app, find_app, finish_install, uninstall_app
from sandbox.ui.frame import open_frame
from tests.conftest import post_event
from tests.test_install import bound, open_installer, stored
from tests.test_item_actions import click, click_rows, clicks_delivered, create, item, work
from tests.test_lifecycle_events import rows_of
from tests.test_main import open_main_page, page_token

PETER = 3  # an ordinary user: not an administrator, may not edit CRM
FORGED = "a" * 32  # the application_token the attacker would like the app to trust


def frame_of(sandbox, user_id: int = PETER) -> dict[str, str]:
    """What the portal's frame POST gives this user when they open the app (notes §1.2)."""
    portal = sandbox.portal
    opened = open_frame(
        sandbox.state, portal, find_app(sandbox.state, portal), portal.users[user_id], lang="en"
    )
    return opened.fields


def portal_row() -> list[dict[str, Any]]:
    """Every column of every portal row, the digest and the sealed tokens included."""
    db.session.expire_all()
    return [dict(row) for row in db.session.execute(select(Portal.__table__)).mappings()]


def post_installer(live_app, sandbox, fields: dict[str, str]) -> requests.Response:
    query = urlencode({"DOMAIN": sandbox.portal.domain, "PROTOCOL": "0", "LANG": "en", "APP_SID": "0" * 32})
    return requests.post(f"{live_app.url}/install?{query}", data=fields, timeout=30)


def stolen_auth(sandbox, fields: dict[str, str], **changes: str) -> dict[str, str]:
    """An event's auth block made of a non-administrator's frame tokens."""
    portal = sandbox.portal
    return {
        "access_token": fields["AUTH_ID"],
        "refresh_token": fields["REFRESH_ID"],
        "expires_in": "3600",
        "domain": portal.domain,
        "member_id": portal.member_id,
        "client_endpoint": portal.client_endpoint,
        "user_id": "1",  # claims to be the administrator
        "application_token": FORGED,
        **changes,
    }


def confirm() -> dict[str, Verdict]:
    return confirm_uninstalls(db.session, oauth_client(), current_app.extensions["vault"])


# --- item 1: takeover ---


def test_a_non_administrator_cannot_reinstall_an_active_portal_from_the_frame(
    installed, live_app, sandbox
) -> None:
    before = portal_row()
    fields = {**frame_of(sandbox), "APPLICATION_TOKEN": FORGED}
    response = post_installer(live_app, sandbox, fields)
    assert response.status_code == 403
    assert "Only a portal administrator can install" in response.text
    assert portal_row() == before  # byte for byte: tokens, digest, installing user, state
    real = find_app(sandbox.state, sandbox.portal).application_token
    assert application_token_matches(stored()[0], real)


def test_a_non_administrator_cannot_install_a_new_portal(live_app, sandbox) -> None:
    """The portal shows non-admins no installer (notes §1.1); a token of theirs posted there gets nowhere."""
    fields = dict(open_installer_fields(sandbox))
    issued = sandbox.state.tokens[sandbox.token(PETER, fresh=True)]
    fields.update(AUTH_ID=issued.access_token, REFRESH_ID=issued.refresh_token)
    response = post_installer(live_app, sandbox, fields)
    assert response.status_code == 403 and "Only a portal administrator" in response.text
    assert stored() == [] and bound(sandbox) == (set(), set())
    assert open_installer(sandbox).status_code == 200  # the administrator's install is not hindered


def open_installer_fields(sandbox) -> dict[str, str]:
    return frame_of(sandbox, user_id=1)


@pytest.mark.parametrize("path", ["/events", "/install"])
def test_a_forged_onappinstall_with_a_users_own_tokens_changes_nothing(
    installed, live_app, sandbox, path
) -> None:
    before = portal_row()
    pairs = [
        ("event", "ONAPPINSTALL"),
        ("event_handler_id", "1"),
        ("ts", "1762089975"),
        ("data[VERSION]", "1"),
    ]
    pairs += [(f"auth[{k}]", v) for k, v in stolen_auth(sandbox, frame_of(sandbox)).items()]
    response = requests.post(
        live_app.url + path,
        data=urlencode(pairs),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=30,
    )
    assert response.status_code == 401
    assert portal_row() == before
    # The portal's real events are still accepted, the attacker's token still refused.
    real = find_app(sandbox.state, sandbox.portal).application_token
    ok = {"member_id": sandbox.portal.member_id, "application_token": real}
    assert post_event(live_app, "ONCRMACTIVITYADD", ok, {"FIELDS][ID": "5"}).status_code == 200
    forged = {**ok, "application_token": FORGED}
    assert post_event(live_app, "ONCRMACTIVITYADD", forged, {"FIELDS][ID": "6"}).status_code == 401


def test_a_forged_onappupdate_with_the_real_application_token_changes_nothing(
    installed, live_app, sandbox
) -> None:
    fields = frame_of(sandbox)  # the frame gives every user the real APPLICATION_TOKEN
    before = portal_row()
    auth = stolen_auth(sandbox, fields, application_token=fields["APPLICATION_TOKEN"])
    response = post_event(live_app, "ONAPPUPDATE", auth, {"VERSION": "9"})
    assert response.status_code == 401
    assert portal_row() == before


def test_an_administrator_still_reinstalls_from_the_frame(installed, live_app, sandbox) -> None:
    response = post_installer(live_app, sandbox, frame_of(sandbox, user_id=1))
    assert response.status_code == 200, response.text
    [portal] = stored()
    assert portal.state is PortalState.ACTIVE and portal.installed_by_user_id == 1


def test_the_state_machine_refuses_what_it_does_not_list() -> None:
    assert transition(PortalState.ACTIVE, Message.UNINSTALL, PortalState.UNINSTALLING)
    with pytest.raises(RefusedTransition):
        transition(PortalState.ACTIVE, Message.DISOWNED, None)  # no destruction without an uninstall request
    with pytest.raises(RefusedTransition):
        transition(PortalState.UNINSTALLING, Message.ADMIN_INSTALL, PortalState.ACTIVE)  # settled first
    writers = {key for key, row in TRANSITIONS.items() if "application_token" in row.overwrites}
    assert {message for _, message in writers} <= {Message.ADMIN_INSTALL, Message.DISOWNED}


# --- item 4: CLEAN uninstall and clicks ---


def test_a_forged_clean_uninstall_destroys_nothing_and_the_portal_gets_it_back(
    installed, live_app, sandbox
) -> None:
    member_id = installed.member_id
    post_event(
        live_app, "ONCRMACTIVITYADD", {"member_id": member_id, "application_token": real_token(sandbox)}
    )
    rows = rows_of(member_id)
    auth = {"member_id": member_id, "domain": sandbox.portal.domain, "application_token": real_token(sandbox)}
    response = post_event(live_app, "ONAPPUNINSTALL", auth, {"CLEAN": "1"})
    assert response.status_code == 200
    assert stored()[0].state is PortalState.UNINSTALLING and rows_of(member_id) == rows

    assert confirm() == {member_id: Verdict.VOUCHED}  # the stored pair works, app.info says installed

    [portal] = stored()
    assert portal.state is PortalState.ACTIVE and portal.uninstall_requested_at is None
    assert rows_of(member_id) == rows
    ok = {"member_id": member_id, "application_token": real_token(sandbox)}
    assert post_event(live_app, "ONCRMACTIVITYADD", ok, {"FIELDS][ID": "8"}).status_code == 200


def test_nothing_is_confirmed_while_the_oauth_server_does_not_answer(installed, live_app, sandbox) -> None:
    auth = {"member_id": installed.member_id, "application_token": real_token(sandbox)}
    assert post_event(live_app, "ONAPPUNINSTALL", auth, {"CLEAN": "1"}).status_code == 200
    live_app.app.config["B24_OAUTH_URL"] = "http://127.0.0.1:9"  # nothing listens there
    assert confirm() == {installed.member_id: Verdict.UNKNOWN}
    assert stored()[0].state is PortalState.UNINSTALLING and rows_of(installed.member_id) > 0


def real_token(sandbox) -> str:
    return find_app(sandbox.state, sandbox.portal).application_token


def click_body(activity_id: int, rev: str = "1") -> dict[str, str]:
    return {"id": "done", "action": "done", "rev": rev, "activityId": str(activity_id)}


def test_a_forged_click_with_a_spoofed_user_id_changes_nothing(installed, live_app, sandbox) -> None:
    activity_id = create(installed, sandbox)
    peter = frame_of(sandbox)  # Peter's own token, claiming to be John (user 2), who may edit CRM
    auth = {
        "member_id": installed.member_id,
        "domain": sandbox.portal.domain,
        "application_token": peter["APPLICATION_TOKEN"],
        "access_token": peter["AUTH_ID"],
        "user_id": "2",
    }
    assert post_event(live_app, "ONCRMTIMELINEITEMACTION", auth, click_body(activity_id)).status_code == 200
    work()
    [row] = click_rows()
    assert row.status is InboxStatus.FAILED and "not user 2's" in (row.last_error or "")
    assert row.user_token_enc is None  # erased once processed
    assert not item(sandbox, activity_id).completed


def test_a_forged_click_without_a_token_changes_nothing(installed, live_app, sandbox) -> None:
    activity_id = create(installed, sandbox)
    auth = {"member_id": installed.member_id, "application_token": real_token(sandbox), "user_id": "1"}
    post_event(live_app, "ONCRMTIMELINEITEMACTION", auth, click_body(activity_id))
    work()
    [row] = click_rows()
    assert row.status is InboxStatus.FAILED and "no access token" in (row.last_error or "")
    assert not item(sandbox, activity_id).completed


def test_a_click_by_a_user_who_may_not_edit_is_refused_by_the_portal(installed, live_app, sandbox) -> None:
    activity_id = create(installed, sandbox)
    assert click(sandbox, activity_id, "done", user_id=PETER).status_code == 200
    clicks_delivered(sandbox)
    [row] = click_rows()
    assert row.user_token_enc and "access_token" not in row.payload["auth"]
    work()
    [row] = click_rows()
    assert row.status is InboxStatus.FAILED and "may not change" in (row.last_error or "")
    assert not item(sandbox, activity_id).completed and row.user_token_enc is None


def test_no_clicks_token_is_kept_in_clear(installed, live_app, sandbox) -> None:
    activity_id = create(installed, sandbox)
    click(sandbox, activity_id, "done")
    [delivery] = clicks_delivered(sandbox)
    token = delivery.body.split("auth%5Baccess_token%5D=")[1].split("&")[0]
    raw = " ".join(str(row) for row in db.session.execute(select(InboxEvent.__table__)))
    assert token and token not in raw


# --- item 9: page tokens across reinstalls, and administrators' rights at the moment of the POST ---


def keys_stored() -> list[ApiKey]:
    db.session.expire_all()
    return list(db.session.scalars(select(ApiKey)))


def test_a_page_token_from_before_a_clean_reinstall_creates_no_api_key(installed, live_app, sandbox) -> None:
    client = live_app.app.test_client()
    old = page_token(open_main_page(client, sandbox))
    before = installed.generation
    uninstall_app(sandbox.state, sandbox.portal, clean=True)
    sandbox.wait_for_deliveries(2)
    assert confirm() == {installed.member_id: Verdict.DISOWNED} and stored() == []
    add_app(sandbox.state, sandbox.portal)  # the administrator installs it again
    assert open_installer(sandbox).status_code == 200
    finish_install(sandbox.state, sandbox.portal, user_id=1)
    sandbox.wait_for_deliveries(3)
    [portal] = stored()
    assert portal.state is PortalState.ACTIVE and portal.generation > before

    response = client.post("/api-keys", data={"page_token": old, "lang": "en", "label": "Old page"})
    assert response.status_code == 403 and "open the app again" in response.get_data(as_text=True)
    assert keys_stored() == []
    fresh = page_token(open_main_page(client, sandbox))
    assert (
        client.post("/api-keys", data={"page_token": fresh, "lang": "en", "label": "New"}).status_code == 200
    )


ADMIN_FORMS = {
    "/api-keys": {"label": "Helpdesk"},
    "/rules": {"name": "r", "layout": '{"blocks": {}}'},
    "/templates": {"name": "t", "subject": "s"},
    "/repair": {},
}


@pytest.mark.parametrize("path", sorted(ADMIN_FORMS))
def test_an_administrator_demoted_since_the_page_opened_can_do_nothing(
    connected_app, sandbox, portal, path
) -> None:
    client = connected_app.test_client()
    token = page_token(open_main_page(client, sandbox))
    sandbox.portal.users[1].is_admin = False  # the portal took the rights away meanwhile
    before = rows_of(portal.member_id)
    form = {"page_token": token, "lang": "en", **ADMIN_FORMS[path]}
    response = client.post(path, data=form)
    assert response.status_code == 403
    assert "Only portal administrators" in response.get_data(as_text=True)
    assert rows_of(portal.member_id) == before and keys_stored() == []


def test_revoking_a_key_asks_the_portal_too(connected_app, sandbox, portal) -> None:
    key, _ = create_key(portal.member_id, "ERP")
    db.session.commit()
    client = connected_app.test_client()
    token = page_token(open_main_page(client, sandbox))
    sandbox.portal.users[1].is_admin = False
    response = client.post(f"/api-keys/{key.id}/revoke", data={"page_token": token, "lang": "en"})
    assert response.status_code == 403
    assert keys_stored()[0].revoked_at is None


def test_a_portal_whose_uninstall_is_unconfirmed_keeps_working(installed, live_app, sandbox) -> None:
    auth = {"member_id": installed.member_id, "application_token": real_token(sandbox)}
    assert post_event(live_app, "ONAPPUNINSTALL", auth, {"CLEAN": "1"}).status_code == 200
    [portal] = stored()
    assert portal.state is PortalState.UNINSTALLING
    # A forged uninstall, repeated as often as the sender likes, must not take the app's tokens out of use.
    assert client_for(portal).call("profile")["ID"]
    assert installed.member_id in stale_portals(db.session, older_than=timedelta(0), now=utcnow())


def lifecycle_form(event: str, auth: dict[str, str]) -> str:
    pairs = [("event", event), ("event_handler_id", "1"), ("ts", "1762089975"), ("data[VERSION]", "1")]
    return urlencode(pairs + [(f"auth[{k}]", v) for k, v in auth.items()])


def portal_requests(sandbox) -> int:
    domain = sandbox.portal.domain.lower()
    return sum(n for (host, *_), n in sandbox.state.requests.items() if host == domain)


@pytest.mark.parametrize("path", ["/events", "/install"])
def test_a_users_own_token_replayed_as_onappinstall_is_throttled_before_it_reaches_the_portal(
    installed, live_app, sandbox, path
) -> None:
    body = lifecycle_form("ONAPPINSTALL", stolen_auth(sandbox, frame_of(sandbox)))
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    answers = [
        requests.post(live_app.url + path, data=body, headers=headers, timeout=30).status_code
        for _ in range(throttle.PER_ADDRESS)
    ]
    assert answers == [401] * throttle.PER_ADDRESS  # each asked the portal, each refused
    sent = portal_requests(sandbox)
    refused = requests.post(live_app.url + path, data=body, headers=headers, timeout=30)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert "try again in" in refused.text
    assert portal_requests(sandbox) == sent  # throttled: nothing was sent


def test_a_non_administrators_installer_replays_are_throttled(installed, live_app, sandbox) -> None:
    fields = frame_of(sandbox)
    answers = [post_installer(live_app, sandbox, fields).status_code for _ in range(throttle.PER_ADDRESS)]
    assert answers == [403] * throttle.PER_ADDRESS
    refused = post_installer(live_app, sandbox, fields)
    assert refused.status_code == 429 and "Too many attempts" in refused.text
