"""The offline backstop (inbox/offline.py) against the sandbox's offline queue, the app installed for real.

"Down" means the portal's online deliveries of the activity events fail (their handler points at a closed
port), as they do while the app is stopped: the portal sends each event once and never again.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.inbox.offline import Backstop, drain
from app.inbox.queue import Inbox
from app.inbox.worker import Worker, worker_client
from app.models import Activity, MirrorEffect, Portal, utcnow
from app.portals.plan import CONNECTOR, EVENTS
from sandbox.apps import find_app
from sandbox.testing import RunningSandbox
from tests.test_install import stored

TODO = {
    "OWNER_TYPE_ID": 2,
    "OWNER_ID": 1,
    "TYPE_ID": 2,
    "SUBJECT": "Call the client",
    "RESPONSIBLE_ID": 1,
    "COMMUNICATIONS": [{"VALUE": "+18005551234", "ENTITY_ID": 1, "ENTITY_TYPE_ID": 3}],
}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def app_down(sandbox: RunningSandbox) -> Iterator[None]:
    """Online activity events go nowhere meanwhile (connection refused), as with the app stopped."""
    app = find_app(sandbox.state, sandbox.portal)
    online = [b for b in app.events if b["event"] in EVENTS and b["event_type"] == "online"]
    saved = [b["handler"] for b in online]
    for binding in online:
        binding["handler"] = f"http://127.0.0.1:{closed_port()}/events"
    try:
        yield
    finally:
        sandbox.wait_for_deliveries(len(sandbox.deliveries))
        for binding, handler in zip(online, saved, strict=True):
            binding["handler"] = handler


def call(sandbox: RunningSandbox, method: str, params: dict[str, Any]) -> Any:
    answer = sandbox.call(method, params, token=sandbox.token(2))  # a CRM user, not the app's admin
    assert answer.status_code == 200, answer.text
    return answer.json()["result"]


def portal_state(sandbox: RunningSandbox, ids: set[int]) -> dict[int, str]:
    """What the portal holds of these activities: id -> subject."""
    return {i: a.fields["SUBJECT"] for i, a in sandbox.portal.crm.activities.items() if i in ids}


def mirror_state(member_id: str) -> dict[int, str]:
    """What the mirror holds, deleted rows left out."""
    db.session.expire_all()
    rows = db.session.scalars(
        select(Activity).where(Activity.member_id == member_id, Activity.deleted.is_(False))
    )
    return {row.activity_id: row.subject or "" for row in rows}


def run_worker(backstop: Backstop | None = None) -> None:
    Worker(Inbox(db.session), connect=worker_client, backstop=backstop).run(once=True)


def fresh(portal: Portal) -> Portal:
    db.session.expire_all()
    found = db.session.get(Portal, portal.id)
    assert found is not None
    return found


def test_install_binds_the_activity_events_offline_under_the_apps_source_key(installed, sandbox) -> None:
    bound = sandbox.call("event.get").json()["result"]
    offline = {row["event"]: row["connector_id"] for row in bound if row["offline"] == 1}
    assert offline == dict.fromkeys(EVENTS, CONNECTOR)
    assert {"ONOFFLINEEVENT"} <= {row["event"] for row in bound if row["offline"] == 0}
    [portal] = stored()
    assert (portal.backstop, portal.offline_connector) == ("offline", CONNECTOR)


def test_changes_made_while_the_app_is_down_reach_the_mirror_deletions_included(installed, sandbox) -> None:
    kept, gone = (int(call(sandbox, "crm.activity.add", {"fields": TODO})) for _ in range(2))
    run_worker()
    with app_down(sandbox):
        call(sandbox, "crm.activity.update", {"id": kept, "fields": {"SUBJECT": "changed while down"}})
        call(sandbox, "crm.activity.delete", {"id": gone})
        added = int(call(sandbox, "crm.activity.add", {"fields": {**TODO, "SUBJECT": "added while down"}}))
    ids = {kept, gone, added}
    assert mirror_state(installed.member_id) != portal_state(sandbox, ids)  # the online events are lost
    portal = fresh(installed)
    done = drain(portal, worker_client(portal), now=utcnow())
    run_worker()
    assert done.stored == 5 and done.errors == 0  # the two first ADDs are in the queue as well
    assert mirror_state(installed.member_id) == portal_state(sandbox, ids)
    assert gone not in portal_state(sandbox, ids)
    assert mirror_state(installed.member_id)[added] == "added while down"
    listed = sandbox.call("event.offline.list", {"auth_connector": CONNECTOR}).json()["result"]
    assert listed == []  # cleared only after the inbox rows were committed


def test_a_change_both_channels_bring_is_applied_once(installed, sandbox) -> None:
    activity = int(call(sandbox, "crm.activity.add", {"fields": TODO}))
    call(sandbox, "crm.activity.update", {"id": activity, "fields": {"SUBJECT": "second"}})
    sandbox.wait_for_deliveries(len(sandbox.deliveries))
    run_worker()
    portal = fresh(installed)
    done = drain(portal, worker_client(portal), now=utcnow())
    run_worker()
    assert done.stored == 2  # the offline records of the ADD and the UPDATE reached the inbox too
    versions = db.session.execute(
        select(MirrorEffect.version, func.count())
        .where(MirrorEffect.activity_id == activity)
        .group_by(MirrorEffect.version)
    ).all()
    assert versions and all(count == 1 for _, count in versions)


def test_a_batch_reserved_but_never_cleared_is_taken_again_by_the_timer(installed, sandbox) -> None:
    with app_down(sandbox):
        activity = int(call(sandbox, "crm.activity.add", {"fields": {**TODO, "SUBJECT": "reserved"}}))
    portal = fresh(installed)
    lost = worker_client(portal).call("event.offline.get", {"clear": 0})  # the answer a crash lost
    assert [e["EVENT_NAME"] for e in lost["events"]] == ["ONCRMACTIVITYADD"]
    assert drain(portal, worker_client(portal), now=utcnow()).stored == 0  # hidden under its process_id
    run_worker(Backstop(worker_client, every=timedelta(hours=1)))  # the first round is a timed one
    assert mirror_state(installed.member_id)[activity] == "reserved"


def test_onofflineevent_wakes_the_worker_between_timer_rounds(installed, sandbox) -> None:
    backstop = Backstop(worker_client, every=timedelta(hours=1))
    backstop.last_round = utcnow()  # the timer is not due for an hour
    with app_down(sandbox):
        activity = int(call(sandbox, "crm.activity.add", {"fields": {**TODO, "SUBJECT": "woken"}}))
    wakes = [d for d in sandbox.wait_for_deliveries(len(sandbox.deliveries)) if d.event == "ONOFFLINEEVENT"]
    assert wakes and wakes[-1].status == 200
    run_worker(backstop)
    assert mirror_state(installed.member_id)[activity] == "woken"


def test_the_workers_own_writes_stay_out_of_its_queue(installed, sandbox) -> None:
    activity = int(call(sandbox, "crm.activity.add", {"fields": TODO}))
    portal = fresh(installed)
    drain(portal, worker_client(portal), now=utcnow())
    worker_client(portal).call("crm.activity.update", {"id": activity, "fields": {"SUBJECT": "by the app"}})
    listed = sandbox.call("event.offline.list", {"auth_connector": CONNECTOR}).json()["result"]
    assert listed == []


def test_without_the_reserve_mode_the_backstop_is_the_periodic_reconcile(live_app, sandbox) -> None:
    from sandbox.apps import finish_install
    from tests.test_install import open_installer

    sandbox.configure(rest_offline_extended=False)
    assert open_installer(sandbox).status_code == 200
    finish_install(sandbox.state, sandbox.portal, user_id=1)
    sandbox.wait_for_deliveries(1)
    [portal] = stored()
    assert portal.backstop == "reconcile"
    bound = sandbox.call("event.get").json()["result"]
    assert not [row for row in bound if row["offline"] == 1]
    with app_down(sandbox):
        activity = int(call(sandbox, "crm.activity.add", {"fields": {**TODO, "SUBJECT": "reconciled"}}))
    done = drain(fresh(portal), worker_client(portal), now=utcnow())
    assert done.mode == "reconcile" and done.reconciled >= 1
    assert mirror_state(portal.member_id)[activity] == "reconciled"


def test_the_health_view_shows_the_portals_backstop_mode(installed, live_app, sandbox) -> None:
    from tests.test_main import open_main_page

    html = open_main_page(live_app.app.test_client(), sandbox).get_data(as_text=True)
    assert 'id="backstop" data-mode="offline"' in html
    assert "offline event queue (deletions included)" in html
    portal = fresh(installed)
    portal.backstop = "reconcile"
    db.session.commit()
    html = open_main_page(live_app.app.test_client(), sandbox).get_data(as_text=True)
    assert 'data-mode="reconcile"' in html and "deletions are not caught up" in html
    shown = live_app.app.test_cli_runner().invoke(args=["portals", "show", portal.member_id])
    assert "missed-event backstop: reconcile" in shown.output


def test_a_record_naming_no_activity_is_marked_as_an_error_and_the_rest_cleared(installed, sandbox) -> None:
    from sandbox import offline as sandbox_offline

    app = find_app(sandbox.state, sandbox.portal)
    binding = next(
        b for b in app.events if b["event"] == "ONCRMACTIVITYUPDATE" and b["event_type"] == "offline"
    )
    with sandbox.state.lock:  # what a portal might queue for an event without FIELDS[ID]
        sandbox_offline.record(sandbox.portal, app, binding, {"FIELDS": {}}, user_id=1, origin=None)
    activity = int(call(sandbox, "crm.activity.add", {"fields": TODO}))
    portal = fresh(installed)
    done = drain(portal, worker_client(portal), now=utcnow())
    assert (done.taken, done.stored, done.errors) == (2, 1, 1)
    listed = sandbox.call("event.offline.list", {"auth_connector": CONNECTOR}).json()["result"]
    assert [(r["EVENT_DATA"], r["ERROR"], r["PROCESS_ID"]) for r in listed] == [({"FIELDS": []}, "1", "")]
    run_worker()
    assert activity in mirror_state(installed.member_id)
