"""POST /events into the inbox: real deliveries stored once; forgeries refused with nothing stored."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import pytest
import requests
from sqlalchemy import select

from app.extensions import db
from app.inbox.queue import dedup_key
from app.models import InboxEvent, InboxStatus, Portal
from app.portals.store import read_tokens
from sandbox.apps import find_app
from sandbox.testing import wait_until
from tests.conftest import post_event


def inbox_rows() -> list[InboxEvent]:
    """The inbox, less the ONOFFLINEEVENT wake-ups the installed app also receives (app.inbox.offline)."""
    db.session.expire_all()
    query = select(InboxEvent).where(InboxEvent.event != "ONOFFLINEEVENT").order_by(InboxEvent.id)
    return list(db.session.scalars(query))


def activity_delivery(sandbox):
    """The activity event's delivery (the installed app also gets ONOFFLINEEVENT, in either order)."""
    sandbox.wait_for_deliveries(2)
    done = lambda: any(d.event.startswith("ONCRMACTIVITY") and d.done for d in sandbox.deliveries)  # noqa: E731
    wait_until(done, 10, "the activity event's delivery")
    return [d for d in sandbox.deliveries if d.event.startswith("ONCRMACTIVITY")][-1]


def an_activity_id(sandbox) -> int:
    return min(sandbox.portal.crm.activities)


def update_subject(sandbox, activity_id: int, subject: str) -> None:
    """Change an activity as a user would, through the portal's REST API."""
    response = sandbox.call("crm.activity.update", {"id": activity_id, "fields": {"SUBJECT": subject}})
    assert response.status_code == 200, response.text


def repost(live_app, body: str) -> requests.Response:
    """Send a captured raw body again, byte for byte."""
    return requests.post(
        live_app.url + "/events",
        data=body.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=30,
    )


def real_auth(sandbox, portal: Portal) -> dict[str, str]:
    return {"member_id": portal.member_id, "application_token": sandbox.app.application_token}


def test_a_users_change_is_stored_once_as_the_portal_sent_it(installed, live_app, sandbox) -> None:
    activity_id = an_activity_id(sandbox)
    update_subject(sandbox, activity_id, "Call the client back")
    delivery = activity_delivery(sandbox)
    assert (delivery.event, delivery.status) == ("ONCRMACTIVITYUPDATE", 200)
    [row] = inbox_rows()
    assert (row.event, row.member_id, row.status, row.attempts) == (
        "ONCRMACTIVITYUPDATE",
        installed.member_id,
        InboxStatus.PENDING,
        0,
    )
    assert row.payload["data"] == {"FIELDS": {"ID": str(activity_id)}}
    sent = dict(parse_qsl(delivery.body))
    expected = {**{k: sent[k] for k in ("event", "event_handler_id", "ts")}, "data": {"FIELDS": {"ID": ""}}}
    expected["data"]["FIELDS"]["ID"] = sent["data[FIELDS][ID]"]
    assert row.dedup_key == dedup_key(installed.member_id, expected)


def test_no_token_of_the_event_is_stored(installed, live_app, sandbox) -> None:
    update_subject(sandbox, an_activity_id(sandbox), "New subject")
    delivery = activity_delivery(sandbox)
    sent = dict(parse_qsl(delivery.body))
    secrets = [
        sent["auth[access_token]"],
        sent["auth[application_token]"],
        read_tokens(installed).access_token,
    ]
    [row] = inbox_rows()
    stored = json.dumps(row.payload)
    assert [secret for secret in secrets if secret in stored] == []
    assert row.member_id == installed.member_id and row.payload["auth"]["user_id"] == sent["auth[user_id]"]
    assert set(row.payload["auth"]) <= {"user_id", "status", "scope"}  # the rest is the portal's row


def test_a_robots_tokenless_event_is_valid_and_stored(installed, live_app, sandbox) -> None:
    activity_id = an_activity_id(sandbox)
    response = sandbox.control(
        "robot",
        {"method": "crm.activity.update", "params": {"id": activity_id, "fields": {"SUBJECT": "By robot"}}},
    )
    assert response.status_code == 200, response.text
    delivery = activity_delivery(sandbox)
    assert "auth[access_token]" not in dict(parse_qsl(delivery.body))
    assert delivery.status == 200
    [row] = inbox_rows()
    assert row.event == "ONCRMACTIVITYUPDATE" and row.payload["data"]["FIELDS"]["ID"] == str(activity_id)


def test_a_duplicate_delivery_answers_200_and_is_stored_once(installed, live_app, sandbox) -> None:
    update_subject(sandbox, an_activity_id(sandbox), "Twice")
    delivery = activity_delivery(sandbox)
    again = repost(live_app, delivery.body)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert len(inbox_rows()) == 1


def test_events_that_differ_in_time_entity_or_name_are_all_stored(installed, live_app, sandbox) -> None:
    auth = real_auth(sandbox, installed)
    answers = [
        post_event(live_app, "ONCRMACTIVITYADD", auth, {"FIELDS][ID": "5"}),
        post_event(live_app, "ONCRMACTIVITYADD", auth, {"FIELDS][ID": "6"}),
        post_event(live_app, "ONCRMACTIVITYUPDATE", auth, {"FIELDS][ID": "5"}),
        post_event(live_app, "onCrmActivityUpdate", auth, {"FIELDS][ID": "5"}),  # same event, other case
    ]
    assert [a.json()["status"] for a in answers] == ["accepted", "accepted", "accepted", "duplicate"]
    assert len(inbox_rows()) == 3


def test_a_json_body_is_accepted_too(installed, live_app, sandbox) -> None:
    body = {
        "event": "ONCRMACTIVITYDELETE",
        "event_handler_id": "3",
        "ts": "1762089975",
        "data": {"FIELDS": {"ID": "9"}},
        "auth": real_auth(sandbox, installed),
    }
    response = requests.post(live_app.url + "/events", json=body, timeout=30)
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    assert [row.event for row in inbox_rows()] == ["ONCRMACTIVITYDELETE"]


@pytest.mark.parametrize(
    "forgery",
    ["wrong token", "no token", "unknown portal", "another portal's token", "no auth"],
)
def test_a_forged_activity_event_is_refused_and_nothing_is_stored(
    installed, live_app, sandbox, forgery
) -> None:
    other = find_app(sandbox.state, sandbox.portals[1]).application_token
    auth = {
        "wrong token": {"member_id": installed.member_id, "application_token": "0" * 32},
        "no token": {"member_id": installed.member_id, "domain": installed.domain},
        "unknown portal": {"member_id": "f" * 32, "application_token": sandbox.app.application_token},
        "another portal's token": {"member_id": installed.member_id, "application_token": other},
        "no auth": {},
    }[forgery]
    response = post_event(live_app, "ONCRMACTIVITYUPDATE", auth, {"FIELDS][ID": "5"})
    assert response.status_code == 401
    assert "application_token" not in response.text or forgery == "no auth"
    assert inbox_rows() == []


def test_the_other_portals_own_delivery_is_refused_here(installed, live_app, sandbox) -> None:
    """A real body of portal 2 (its member_id and token), posted to us where portal 2 is not installed."""
    portal2 = sandbox.portals[1]
    auth = {
        "member_id": portal2.member_id,
        "application_token": find_app(sandbox.state, portal2).application_token,
    }
    assert post_event(live_app, "ONCRMACTIVITYADD", auth, {"FIELDS][ID": "5"}).status_code == 401
    assert inbox_rows() == []


def test_an_event_without_a_name_is_a_400_and_stores_nothing(installed, live_app, sandbox) -> None:
    response = repost(live_app, f"data%5BFIELDS%5D%5BID%5D=5&auth%5Bmember_id%5D={installed.member_id}")
    assert response.status_code == 400
    assert inbox_rows() == []
