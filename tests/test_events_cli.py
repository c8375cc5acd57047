"""End to end through the sandbox, and `flask --app app worker|events list|replay|reconcile`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from app.inbox.queue import Inbox
from app.inbox.worker import Worker
from app.inbox.writer import Outcome
from app.models import Activity, InboxEvent, InboxStatus
from tests.conftest import store_events


def mirror_row(member_id: str, activity_id: int) -> Activity | None:
    db.session.expire_all()
    return db.session.scalar(
        select(Activity).where(Activity.member_id == member_id, Activity.activity_id == activity_id)
    )


def inbox_rows() -> list[InboxEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(InboxEvent).order_by(InboxEvent.id)))


def test_a_change_in_the_portal_reaches_the_mirror(installed, live_app, sandbox) -> None:
    activity_id = min(sandbox.portal.crm.activities)
    response = sandbox.call("crm.activity.update", {"id": activity_id, "fields": {"SUBJECT": "Quote sent"}})
    assert response.status_code == 200, response.text
    assert sandbox.wait_for_deliveries(2)[-1].status == 200
    result = live_app.app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "1 claimed, 1 done, 0 failed" in result.output
    row = mirror_row(installed.member_id, activity_id)
    assert row is not None and row.subject == "Quote sent" and not row.deleted
    # beside the online event: ONOFFLINEEVENT and the offline queue's record of the same change
    rows = inbox_rows()
    assert rows[0].event == "ONCRMACTIVITYUPDATE" and {r.status for r in rows} == {InboxStatus.DONE}
    assert {r.event for r in rows} <= {"ONCRMACTIVITYUPDATE", "ONOFFLINEEVENT"}


def test_a_robots_change_and_a_deletion_reach_the_mirror(installed, live_app, sandbox) -> None:
    first, second = sorted(sandbox.portal.crm.activities)[:2]
    robot = {"method": "crm.activity.update", "params": {"id": first, "fields": {"SUBJECT": "By robot"}}}
    assert sandbox.control("robot", robot).status_code == 200
    assert sandbox.call("crm.activity.update", {"id": second, "fields": {"SUBJECT": "x"}}).status_code == 200
    assert sandbox.call("crm.activity.delete", {"id": second}).status_code == 200
    assert {d.status for d in sandbox.wait_for_deliveries(4)} == {200}  # ONOFFLINEEVENT may be among them
    result = live_app.app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert mirror_row(installed.member_id, first).subject == "By robot"
    gone = mirror_row(installed.member_id, second)
    assert gone is not None and gone.deleted  # a tombstone, whichever event came first
    assert {r.status for r in inbox_rows()} == {InboxStatus.DONE}


def park_one_and_keep_one(portal) -> tuple[int, int]:
    """One event parked as failed (it names no activity) and one pending, through the worker."""
    nameless = {"event": "ONCRMACTIVITYADD", "event_handler_id": "1", "ts": "1", "data": {"FIELDS": {}}}
    assert store_events(portal, [nameless]) == [Outcome.STORED]
    Worker(Inbox(db.session)).run(once=True)
    pending = {
        "event": "ONCRMACTIVITYUPDATE",
        "event_handler_id": "1",
        "ts": "2",
        "data": {"FIELDS": {"ID": "1"}},
    }
    assert store_events(portal, [pending]) == [Outcome.STORED]
    failed, waiting = inbox_rows()
    assert failed.status is InboxStatus.FAILED and waiting.status is InboxStatus.PENDING
    return failed.id, waiting.id


def test_events_list_shows_every_event_or_only_the_failed(portal, runner_for, connected_app) -> None:
    failed, _ = park_one_and_keep_one(portal)
    runner = runner_for(connected_app)
    everything = runner.invoke(args=["events", "list"])
    assert everything.exit_code == 0 and "2 events" in everything.output
    assert "the event names no activity id" in everything.output
    only_failed = runner.invoke(args=["events", "list", "--failed"])
    assert "1 event" in only_failed.output and "ONCRMACTIVITYUPDATE" not in only_failed.output
    assert f"{failed:>8} ONCRMACTIVITYADD" in only_failed.output


def test_events_list_filters_by_portal(portal, runner_for, connected_app) -> None:
    park_one_and_keep_one(portal)
    runner = runner_for(connected_app)
    assert "2 events" in runner.invoke(args=["events", "list", "--portal", portal.member_id]).output
    assert "0 events" in runner.invoke(args=["events", "list", "--portal", "0" * 32]).output


def test_replay_puts_a_parked_event_back_to_pending(portal, runner_for, connected_app) -> None:
    failed, _ = park_one_and_keep_one(portal)
    runner = runner_for(connected_app)
    result = runner.invoke(args=["events", "replay", str(failed)])
    assert result.exit_code == 0 and f"event {failed} is pending again" in result.output
    row = next(r for r in inbox_rows() if r.id == failed)
    assert (row.status, row.attempts) == (InboxStatus.PENDING, 0)


def test_replay_refuses_an_event_that_is_not_failed(portal, runner_for, connected_app) -> None:
    _, waiting = park_one_and_keep_one(portal)
    result = runner_for(connected_app).invoke(args=["events", "replay", str(waiting)])
    assert result.exit_code == 1 and f"no failed event with id {waiting}" in result.output


def test_reconcile_repairs_the_mirror_from_what_changed_since(
    portal, sandbox, runner_for, connected_app
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=2)
    first, second = sorted(sandbox.portal.crm.activities)[:2]
    for activity_id, subject in ((first, "Missed event"), (second, "Also missed")):
        response = sandbox.call("crm.activity.update", {"id": activity_id, "fields": {"SUBJECT": subject}})
        assert response.status_code == 200, response.text
    runner = runner_for(connected_app)
    args = ["events", "reconcile", "--portal", portal.member_id, "--since", since.isoformat()]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "2 activities changed since" in result.output and "2 added, 0 updated" in result.output
    assert mirror_row(portal.member_id, first).subject == "Missed event"
    assert mirror_row(portal.member_id, second).subject == "Also missed"
    again = runner.invoke(args=args)
    assert "2 added" not in again.output and "0 added, 2 updated" in again.output


def test_reconcile_refuses_a_bad_time_or_an_unknown_portal(portal, runner_for, connected_app) -> None:
    runner = runner_for(connected_app)
    bad_time = runner.invoke(
        args=["events", "reconcile", "--portal", portal.member_id, "--since", "yesterday"]
    )
    assert bad_time.exit_code == 2 and "is not an ISO 8601 time" in bad_time.output
    unknown = runner.invoke(args=["events", "reconcile", "--portal", "0" * 32, "--since", "2026-01-01"])
    assert unknown.exit_code == 1 and "no portal with member_id" in unknown.output


def test_the_worker_waits_out_a_lost_database_instead_of_exiting(tmp_path, capsys) -> None:
    """A database that is not there yet (a restart, a failover) is retried with backoff, then drained."""
    from app import create_app
    from app.inbox.cli import run_through_outages
    from tests.conftest import make_config

    home = tmp_path / "not-yet"
    app = create_app(make_config(f"sqlite:///{home / 'db.sqlite3'}"))
    waits: list[float] = []

    def database_comes_back(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:
            home.mkdir()
            db.create_all()

    with app.app_context():
        runner = Worker(Inbox(db.session))
        batches = run_through_outages(runner, once=True, max_batches=None, sleep=database_comes_back)
        assert batches == 0 and waits == [1.0, 2.0]
        assert inbox_rows() == []
        db.engine.dispose()
    assert "database unavailable (OperationalError); trying again in 1 s" in capsys.readouterr().err
