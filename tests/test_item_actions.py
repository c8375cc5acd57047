"""Configurable activity buttons clicked in the sandbox: delivered to /events, verified, carried out once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import select, update

import app.timeline.configurable_views  # noqa: F401  (registers the route until app.timeline imports it)
from app.activities.configurable import BADGE_CODE, Item, add_configurable
from app.extensions import db
from app.inbox.queue import Inbox, dedup_key
from app.inbox.worker import Worker
from app.inbox.writer import Outcome
from app.models import InboxEvent, InboxStatus, Portal, utcnow
from app.portals import page_tokens
from app.portals.connections import client_for
from sandbox.apps import find_app
from sandbox.limits import add_fault
from sandbox.testing import wait_until
from tests.conftest import post_event, store_events

CLICK = "ONCRMTIMELINEITEMACTION"
CLICKER = 2  # John Smith, who may edit CRM


def a_deal(sandbox) -> tuple[int, int]:
    return next(key for key in sorted(sandbox.portal.owners) if key[0] == 2)


def create(installed: Portal, sandbox, lang: str = "ru") -> int:
    """A configurable activity made by the app on a deal, due tomorrow at noon UTC, by a user of `lang`."""
    owner_type_id, owner_id = a_deal(sandbox)
    due = (datetime.now(UTC) + timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)
    item = Item("Call the customer back", "They asked about the invoice.", ("invoice",), due)
    client = client_for(installed)
    return add_configurable(client, owner_type_id=owner_type_id, owner_id=owner_id, item=item, lang=lang)


def click(sandbox, activity_id: int, action_id: str, *, user_id: int = CLICKER) -> requests.Response:
    """Click a button of the item in the sandbox's timeline, as portal.js does."""
    activity = sandbox.portal.crm.activities[activity_id]
    owner_type_id, owner_id = activity.bindings[0]
    body = {
        "client_id": activity.client_id,
        "action_id": action_id,
        "owner_type_id": owner_type_id,
        "owner_id": owner_id,
    }
    url = f"{sandbox.portal_url}/_ui/activity/{activity_id}/rest-event?user_id={user_id}"
    return requests.post(url, json=body, timeout=10)


def clicks_delivered(sandbox, n: int = 1) -> list[Any]:
    """Wait until the portal has posted `n` clicks to the app; return them."""

    def delivered() -> list[Any]:
        return [d for d in sandbox.state.deliveries if d.event == CLICK and d.done]

    wait_until(lambda: len(delivered()) >= n, 5, f"{n} {CLICK} deliveries")
    return delivered()


def click_rows() -> list[InboxEvent]:
    db.session.expire_all()
    return list(
        db.session.scalars(select(InboxEvent).where(InboxEvent.event == CLICK).order_by(InboxEvent.id))
    )


def work() -> None:
    Worker(Inbox(db.session)).run(once=True)


def item(sandbox, activity_id: int):
    return sandbox.portal.crm.activities[activity_id]


def status_text(activity) -> dict[str, str]:
    return activity.layout["body"]["blocks"]["status"]["properties"]["block"]["properties"]["value"]


def auth_of(sandbox, installed: Portal, **changes: str) -> dict[str, str]:
    return {
        "member_id": installed.member_id,
        "domain": sandbox.portal.domain,
        "user_id": str(CLICKER),
        "application_token": find_app(sandbox.state, sandbox.portal).application_token,
        **changes,
    }


# --- the buttons, end to end ---


def test_mark_done_clicked_in_the_sandbox_completes_the_activity_and_updates_the_item(
    installed, live_app, sandbox
) -> None:
    activity_id = create(installed, sandbox)
    assert item(sandbox, activity_id).badge_code == BADGE_CODE
    assert click(sandbox, activity_id, "done").status_code == 200
    [delivery] = clicks_delivered(sandbox)
    assert delivery.status == 200 and delivery.url == live_app.url + "/events"
    assert item(sandbox, activity_id).locked  # the loader animation holds it until the app updates it
    [row] = click_rows()
    assert row.status is InboxStatus.PENDING and row.payload["data"]["action"] == "done"
    assert "application_token" not in row.payload["auth"] and "access_token" not in row.payload["auth"]

    work()

    done = item(sandbox, activity_id)
    assert done.completed and not done.locked and done.badge_code == ""
    assert "footer" not in done.layout  # the buttons are gone
    # By name, as the clicking user's `profile` (which vouched for the token) gives it: no user.get.
    assert status_text(done)["en"].startswith("Done by John Smith on ")
    assert status_text(done)["ru"].startswith("Выполнено: John Smith, ")
    assert sorted(status_text(done)) == ["en", "ru"]  # the languages it was made in
    assert done.layout["body"]["blocks"]["deadline"]["properties"]["block"]["properties"]["readonly"] is True
    assert done.layout["header"]["title"] == "Call the customer back"
    [row] = click_rows()
    assert row.status is InboxStatus.DONE and row.last_error is None


def test_an_activity_made_on_the_page_shows_its_buttons_in_the_timeline_and_a_click_completes_it(
    installed, live_app, sandbox
) -> None:
    opened = next(
        i for i, a in sorted(sandbox.portal.crm.activities.items()) if a.bindings[0] == a_deal(sandbox)
    )
    token = page_tokens.issue(
        member_id=installed.member_id,
        user_id=CLICKER,
        is_admin=False,
        access_token=sandbox.token(CLICKER),
        activity_id=opened,
        generation=installed.generation,
    )
    form = {"page_token": token, "lang": "en", "title": "Send the contract", "tags": "legal"}
    page = requests.post(f"{live_app.url}/activity/{opened}/configurable", data=form, timeout=10)
    assert page.status_code == 200
    [activity_id] = [
        i for i, a in sandbox.portal.crm.activities.items() if a.provider == "CONFIGURABLE_REST_APP"
    ]
    owner_id = a_deal(sandbox)[1]
    timeline = requests.get(f"{sandbox.portal_url}/crm/deal/details/{owner_id}/", timeout=10).text
    assert f'data-activity-id="{activity_id}"' in timeline and 'data-action-id="done"' in timeline

    click(sandbox, activity_id, "done", user_id=1)
    clicks_delivered(sandbox)
    work()

    done = item(sandbox, activity_id)
    assert done.completed and status_text(done)["en"].startswith("Done by Maria Ivanova on ")


def test_snooze_moves_the_deadline_a_day_and_renews_the_buttons(installed, live_app, sandbox) -> None:
    activity_id = create(installed, sandbox)
    before = item(sandbox, activity_id).fields["DEADLINE"]
    click(sandbox, activity_id, "snooze")
    clicks_delivered(sandbox)

    work()

    snoozed = item(sandbox, activity_id)
    assert snoozed.fields["DEADLINE"] == before + timedelta(days=1)
    assert not snoozed.completed and not snoozed.locked
    assert status_text(snoozed)["en"].startswith("Snoozed by John Smith on ")
    buttons = snoozed.layout["footer"]["buttons"]
    assert {key: str(b["action"]["actionParams"]["rev"]) for key, b in buttons.items()} == {
        "done": "2",
        "snooze": "2",
    }

    click(sandbox, activity_id, "snooze")  # the renewed button works again
    clicks_delivered(sandbox, 2)
    work()
    assert item(sandbox, activity_id).fields["DEADLINE"] == before + timedelta(days=2)
    assert [row.status for row in click_rows()] == [InboxStatus.DONE, InboxStatus.DONE]


def test_a_click_carried_out_by_a_worker_killed_before_settling_changes_the_item_once(
    installed, live_app, sandbox
) -> None:
    activity_id = create(installed, sandbox)
    before = item(sandbox, activity_id).fields["DEADLINE"]
    click(sandbox, activity_id, "snooze")
    clicks_delivered(sandbox)
    [row] = click_rows()
    sealed = row.user_token_enc  # the settle erases it; a worker killed before the settle left it
    work()
    # What a SIGKILL after the update and before the settle leaves: the row pending, due when its lease ends.
    db.session.execute(
        update(InboxEvent)
        .where(InboxEvent.id == row.id)
        .values(status=InboxStatus.PENDING, next_attempt_at=utcnow(), last_error=None, user_token_enc=sealed)
    )
    db.session.commit()

    work()

    assert item(sandbox, activity_id).fields["DEADLINE"] == before + timedelta(days=1)
    [row] = click_rows()
    assert row.status is InboxStatus.DONE and "already carried out" in (row.last_error or "")


def test_a_duplicate_delivery_is_stored_and_carried_out_once(installed, live_app, sandbox) -> None:
    activity_id = create(installed, sandbox)
    before = item(sandbox, activity_id).fields["DEADLINE"]
    click(sandbox, activity_id, "snooze")
    [delivery] = clicks_delivered(sandbox)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    again = requests.post(live_app.url + "/events", data=delivery.body, headers=headers, timeout=10)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert len(click_rows()) == 1

    work()

    assert item(sandbox, activity_id).fields["DEADLINE"] == before + timedelta(days=1)


@pytest.mark.parametrize(
    "changes",
    [{"application_token": "0" * 32}, {"application_token": ""}, {"member_id": "f" * 32}],
)
def test_a_forged_click_is_refused_and_nothing_is_stored(installed, live_app, sandbox, changes) -> None:
    activity_id = create(installed, sandbox)
    data = {"action": "done", "rev": "1", "activityId": str(activity_id), "id": "done"}
    response = post_event(live_app, CLICK, auth_of(sandbox, installed, **changes), data)
    assert response.status_code == 401
    assert click_rows() == []
    work()
    assert not item(sandbox, activity_id).completed


def test_an_unknown_action_is_settled_with_a_note_and_changes_nothing(installed, live_app, sandbox) -> None:
    activity_id = create(installed, sandbox)
    owner_type_id, owner_id = a_deal(sandbox)
    data = {"id": "archive", "activityId": activity_id, "entityTypeId": owner_type_id, "entityId": owner_id}
    answer = sandbox.control("timeline-action", {"data": data, "user_id": CLICKER})
    assert answer.status_code == 200
    clicks_delivered(sandbox)
    layout = item(sandbox, activity_id).layout

    work()

    [row] = click_rows()
    assert row.status is InboxStatus.DONE and "unknown action 'archive'" in (row.last_error or "")
    unchanged = item(sandbox, activity_id)
    assert unchanged.layout == layout and not unchanged.completed and not unchanged.locked


def test_a_click_on_a_deleted_activity_is_settled_with_a_note(installed, live_app, sandbox) -> None:
    activity_id = create(installed, sandbox)
    click(sandbox, activity_id, "done")
    clicks_delivered(sandbox)
    client_for(installed).call("crm.activity.delete", {"id": activity_id})

    work()

    [row] = click_rows()
    assert row.status is InboxStatus.DONE and "not found" in (row.last_error or "")
    assert activity_id not in sandbox.portal.crm.activities


def test_a_click_that_names_no_activity_is_parked_not_retried(installed, live_app, sandbox) -> None:
    response = post_event(live_app, CLICK, auth_of(sandbox, installed), {"id": "done", "rev": "1"})
    assert response.status_code == 200

    work()

    [row] = click_rows()
    assert row.status is InboxStatus.FAILED and "names no activity" in (row.last_error or "")
    assert row.attempts == 1


def test_a_portal_error_sends_the_click_back_for_a_retry(installed, live_app, sandbox) -> None:
    activity_id = create(installed, sandbox)
    click(sandbox, activity_id, "done")
    clicks_delivered(sandbox)
    add_fault(
        sandbox.state, "status", status=400, error="ACCESS_DENIED", method="crm.activity.configurable.get"
    )

    work()

    [row] = click_rows()
    assert row.status is InboxStatus.PENDING and "ACCESS_DENIED" in (row.last_error or "")
    assert not item(sandbox, activity_id).completed
    db.session.execute(update(InboxEvent).values(next_attempt_at=utcnow()))
    db.session.commit()
    work()
    assert item(sandbox, activity_id).completed
    assert click_rows()[0].status is InboxStatus.DONE


def test_an_update_the_portal_refuses_is_parked_not_retried(installed, live_app, sandbox) -> None:
    activity_id = create(installed, sandbox)
    click(sandbox, activity_id, "done")
    clicks_delivered(sandbox)
    method = "crm.activity.configurable.update"
    add_fault(sandbox.state, "status", status=400, error="WRONG_FIELD_VALUE", method=method)

    work()

    [row] = click_rows()
    assert row.status is InboxStatus.FAILED and "WRONG_FIELD_VALUE" in (row.last_error or "")
    assert row.attempts == 1 and not item(sandbox, activity_id).completed


# --- the dedup key of a click ---


def a_click(activity_id: int, action: str = "done", *, user_id: str = "2", ts: str = "1762089975") -> dict:
    return {
        "event": CLICK,
        "event_handler_id": "9",
        "ts": ts,
        "data": {"action": action, "rev": "1", "activityId": str(activity_id), "id": action},
        "auth": {"member_id": "m" * 32, "user_id": user_id, "access_token": "t" * 70},
    }


def test_clicks_in_the_same_second_get_their_own_keys_and_a_redelivery_the_same() -> None:
    keys = {
        dedup_key("m" * 32, event)
        for event in (
            a_click(8),
            a_click(9),
            a_click(8, "snooze"),
            a_click(8, user_id="3"),
            a_click(8, ts="1762089976"),
        )
    }
    assert len(keys) == 5
    assert dedup_key("m" * 32, a_click(8)) == dedup_key("m" * 32, a_click(8))
    assert dedup_key("m" * 32, a_click(8)) != dedup_key("n" * 32, a_click(8))


def test_a_forged_click_naming_the_same_user_and_second_does_not_make_the_real_one_a_duplicate() -> None:
    real, forged = a_click(8), a_click(8)
    forged["auth"] = {**forged["auth"], "access_token": "f" * 70}  # someone else's token, claiming the user
    assert dedup_key("m" * 32, forged) != dedup_key("m" * 32, real)


def test_the_inbox_stores_two_clicks_of_one_second_and_drops_a_repeat(connected_app, portal) -> None:
    outcomes = store_events(portal, [a_click(8), a_click(9), a_click(8)])
    assert outcomes == [Outcome.STORED, Outcome.STORED, Outcome.DUPLICATE]
    assert len(click_rows()) == 2


def test_a_clicker_the_portal_names_no_one_is_named_by_id_in_words(installed, live_app, sandbox) -> None:
    sandbox.portal.users[CLICKER].name = sandbox.portal.users[CLICKER].last_name = ""
    activity_id = create(installed, sandbox, lang="en")
    click(sandbox, activity_id, "done")
    clicks_delivered(sandbox)

    work()

    text = status_text(item(sandbox, activity_id))["en"]
    assert text.startswith("Done on ") and text.endswith(f" by the user with ID {CLICKER}")
    assert "#" not in text
