"""The inbox worker against the sandbox portal: batching, deletions, backoff, leases, crashes, signals."""

from __future__ import annotations

import math
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app import create_app
from app.bitrix24.client import Client
from app.bitrix24.retry import RetryPolicy
from app.extensions import db
from app.inbox.queue import Backoff, Inbox
from app.inbox.worker import BatchReport, Worker, worker_client
from app.inbox.writer import Outcome
from app.models import Activity, InboxEvent, InboxStatus, Portal
from bench.loadgen import CHILD_CONFIG
from sandbox.crm.seed import KINDS, add
from sandbox.limits import add_fault
from sandbox.testing import wait_until
from tests.conftest import POSTGRES_URL, store_events

ROOT = Path(__file__).resolve().parent.parent
TODO_KIND = KINDS[3]


class FakeClock:
    """The worker's and inbox's notion of now, moved by the test."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def no_sleep(seconds: float) -> None:
    """Client retries happen at once in tests; the inbox clock is the one that matters."""


def counting(requests: list[str]) -> Callable[[Portal], Client]:
    """Connect as the worker does, counting every HTTP request the client makes."""

    def connect(portal: Portal) -> Client:
        client = worker_client(portal)
        client.retry = RetryPolicy(max_reset_wait=0.0, sleep=no_sleep)
        client.observe = lambda method, outcome: requests.append(f"{method}:{outcome}")
        return client

    return connect


def make_activities(sandbox, count: int) -> list[int]:
    """Put `count` to-dos on the portal directly (the sandbox's own seeding), returning their ids."""
    portal = sandbox.portal
    owner = sorted(portal.owners)[0]
    now = datetime.now(UTC).replace(microsecond=0)
    with sandbox.state.lock:
        before = set(portal.crm.activities)
        for _ in range(count):
            add(portal, TODO_KIND, owner, 1, now)
        return sorted(set(portal.crm.activities) - before)


def event(name: str, activity_id: int, ts: int = 1762089975) -> dict[str, Any]:
    return {
        "event": name,
        "event_handler_id": "7",
        "ts": str(ts),
        "data": {"FIELDS": {"ID": str(activity_id)}},
    }


def accept_all(portal: Portal, events: list[dict[str, Any]], clock: FakeClock | None = None) -> None:
    outcomes = store_events(portal, events, now=clock() if clock else None)
    assert outcomes == [Outcome.STORED] * len(events)


def statuses() -> dict[InboxStatus, int]:
    db.session.expire_all()
    rows = db.session.execute(select(InboxEvent.status, func.count()).group_by(InboxEvent.status))
    return {status: count for status, count in rows}


def mirror(member_id: str) -> dict[int, Activity]:
    db.session.expire_all()
    rows = db.session.scalars(select(Activity).where(Activity.member_id == member_id))
    return {row.activity_id: row for row in rows}


def subject_of(sandbox, activity_id: int) -> str:
    return sandbox.portal.crm.activities[activity_id].fields["SUBJECT"]


def test_a_thousand_events_take_one_batch_request_per_fifty(portal, sandbox) -> None:
    ids = make_activities(sandbox, 1000)
    accept_all(portal, [event("ONCRMACTIVITYUPDATE", i) for i in ids])
    requests: list[str] = []
    batches = Worker(Inbox(db.session), connect=counting(requests), batch_size=50).run(once=True)
    assert batches == 20
    assert len(requests) <= math.ceil(1000 / 50) + 3, requests
    assert statuses() == {InboxStatus.DONE: 1000}
    rows = mirror(portal.member_id)
    assert sorted(rows) == ids
    assert all(rows[i].subject == subject_of(sandbox, i) and not rows[i].deleted for i in ids)
    assert rows[ids[0]].owner_type_id == sandbox.portal.crm.activities[ids[0]].fields["OWNER_TYPE_ID"]


def test_several_events_of_one_activity_share_one_get(portal, sandbox) -> None:
    [activity_id] = make_activities(sandbox, 1)
    accept_all(portal, [event("ONCRMACTIVITYADD", activity_id), event("ONCRMACTIVITYUPDATE", activity_id, 1)])
    requests: list[str] = []
    Worker(Inbox(db.session), connect=counting(requests)).run(once=True)
    assert requests == ["batch:ok"]
    assert statuses() == {InboxStatus.DONE: 2}


def test_a_delete_the_portal_confirms_marks_the_mirror_row_deleted(portal, sandbox) -> None:
    [activity_id] = make_activities(sandbox, 1)
    accept_all(portal, [event("ONCRMACTIVITYADD", activity_id)])
    Worker(Inbox(db.session), connect=counting([])).run(once=True)
    assert sandbox.call("crm.activity.delete", {"id": activity_id}).status_code == 200
    accept_all(portal, [event("ONCRMACTIVITYDELETE", activity_id)])
    requests: list[str] = []
    Worker(Inbox(db.session), connect=counting(requests)).run(once=True)
    assert requests == ["batch:ok"]  # the portal is asked: anyone with the application_token can send one
    assert mirror(portal.member_id)[activity_id].deleted
    assert statuses() == {InboxStatus.DONE: 2}


def test_a_forged_delete_of_an_activity_the_portal_still_has_marks_nothing(portal, sandbox) -> None:
    [activity_id] = make_activities(sandbox, 1)
    accept_all(portal, [event("ONCRMACTIVITYADD", activity_id)])
    Worker(Inbox(db.session), connect=counting([])).run(once=True)
    accept_all(portal, [event("ONCRMACTIVITYDELETE", activity_id)])  # the activity is still there
    Worker(Inbox(db.session), connect=counting([])).run(once=True)
    assert not mirror(portal.member_id)[activity_id].deleted
    assert statuses() == {InboxStatus.DONE: 2}


def test_an_event_for_an_activity_deleted_since_is_settled_and_the_row_marked(portal, sandbox) -> None:
    gone, kept = make_activities(sandbox, 2)
    accept_all(portal, [event("ONCRMACTIVITYADD", gone)])
    Worker(Inbox(db.session), connect=counting([])).run(once=True)
    assert sandbox.call("crm.activity.delete", {"id": gone}).status_code == 200
    accept_all(portal, [event("ONCRMACTIVITYUPDATE", gone), event("ONCRMACTIVITYUPDATE", kept)])
    Worker(Inbox(db.session), connect=counting([])).run(once=True)
    assert statuses() == {InboxStatus.DONE: 3}
    rows = mirror(portal.member_id)
    assert rows[gone].deleted and not rows[kept].deleted
    notes = db.session.execute(select(InboxEvent.payload, InboxEvent.last_error).order_by(InboxEvent.id))
    assert [(p["data"]["FIELDS"]["ID"], note) for p, note in notes][1:] == [
        (str(gone), "activity not found"),
        (str(kept), None),
    ]


def test_an_older_read_never_overwrites_a_newer_one(portal, sandbox) -> None:
    [activity_id] = make_activities(sandbox, 1)
    first = subject_of(sandbox, activity_id)
    clock = FakeClock()
    accept_all(portal, [event("ONCRMACTIVITYADD", activity_id)], clock)
    Worker(Inbox(db.session, clock=clock), connect=counting([])).run(once=True)
    sandbox.portal.crm.activities[activity_id].fields["SUBJECT"] = "changed later"
    clock.advance(-60)  # this read is stamped before the one already in the mirror
    accept_all(portal, [event("ONCRMACTIVITYUPDATE", activity_id)], clock)
    Worker(Inbox(db.session, clock=clock), connect=counting([])).run(once=True)
    assert mirror(portal.member_id)[activity_id].subject == first
    clock.advance(120)
    accept_all(portal, [event("ONCRMACTIVITYUPDATE", activity_id, ts=2)], clock)
    Worker(Inbox(db.session, clock=clock), connect=counting([])).run(once=True)
    assert mirror(portal.member_id)[activity_id].subject == "changed later"


def test_failures_back_off_exponentially_then_park_with_the_error(portal, sandbox) -> None:
    [activity_id] = make_activities(sandbox, 1)
    accept_all(portal, [event("ONCRMACTIVITYUPDATE", activity_id)])
    add_fault(sandbox.state, "status", count=None, status=500, method="batch")
    clock = FakeClock()
    inbox = Inbox(db.session, clock=clock, backoff=Backoff(base=10.0, max_attempts=8))
    worker = Worker(inbox, connect=counting([]))
    delays = []
    for attempt in range(1, 9):
        report = worker.run_batch()
        assert report.failed == report.claimed and len(report.claimed) == 1
        row = db.session.get(InboxEvent, report.claimed[0])
        db.session.refresh(row)
        assert row.attempts == attempt
        if attempt < 8:
            assert row.status is InboxStatus.PENDING
            delays.append((row.next_attempt_at - clock.now).total_seconds())
            assert worker.run_batch().claimed == []  # not due yet: nothing is retried early
            clock.advance(delays[-1] + 0.001)
    assert row.status is InboxStatus.FAILED and "INTERNAL_SERVER_ERROR" in (row.last_error or "")
    assert delays == sorted(delays) and 5.0 <= delays[0] <= 10.0 and delays[-1] >= 10.0 * 2**5 / 2
    assert worker.run_batch().claimed == []  # parked: never claimed again


def test_a_retry_succeeds_once_the_portal_recovers(portal, sandbox) -> None:
    [activity_id] = make_activities(sandbox, 1)
    accept_all(portal, [event("ONCRMACTIVITYUPDATE", activity_id)])
    add_fault(sandbox.state, "status", count=5, status=500, method="batch")  # one attempt's 5 tries
    clock = FakeClock()
    worker = Worker(Inbox(db.session, clock=clock, backoff=Backoff(base=1.0)), connect=counting([]))
    assert worker.run_batch().failed
    clock.advance(2)
    assert worker.run_batch().settled
    assert statuses() == {InboxStatus.DONE: 1} and activity_id in mirror(portal.member_id)


def test_a_query_limit_is_retried_inside_the_attempt(portal, sandbox) -> None:
    [activity_id] = make_activities(sandbox, 1)
    accept_all(portal, [event("ONCRMACTIVITYUPDATE", activity_id)])
    add_fault(sandbox.state, "status", count=2, status=503, method="batch")
    requests: list[str] = []
    Worker(Inbox(db.session), connect=counting(requests)).run(once=True)
    assert requests == ["batch:QUERY_LIMIT_EXCEEDED"] * 2 + ["batch:ok"]
    assert statuses() == {InboxStatus.DONE: 1}


def test_an_expired_lease_makes_claimed_events_due_again_and_fences_the_old_claim(portal, sandbox) -> None:
    [activity_id] = make_activities(sandbox, 1)
    accept_all(portal, [event("ONCRMACTIVITYUPDATE", activity_id)])
    clock = FakeClock()
    inbox = Inbox(db.session, clock=clock, lease=timedelta(seconds=60))
    lost = inbox.claim_batch(10)  # a worker that claims and then dies
    assert len(lost.events) == 1 and inbox.claim_batch(10).events == []
    clock.advance(61)
    again = inbox.claim_batch(10)
    assert [e.attempts for e in again.events] == [2]
    assert inbox.settle(lost, [lost.events[0].id]) == 0  # the first claim no longer owns it
    assert inbox.settle(again, [again.events[0].id]) == 1
    db.session.commit()
    assert statuses() == {InboxStatus.DONE: 1}


def test_a_worker_whose_lease_ran_out_during_the_portal_call_applies_nothing(portal, sandbox) -> None:
    [activity_id] = make_activities(sandbox, 1)
    accept_all(portal, [event("ONCRMACTIVITYUPDATE", activity_id)])
    clock = FakeClock()
    inbox = Inbox(db.session, clock=clock, lease=timedelta(seconds=60))

    def slow(portal: Portal) -> Client:  # the portal call outlasts the lease (a long wait for the limiter)
        client = counting([])(portal)
        client.observe = lambda method, outcome: clock.advance(61)
        return client

    late = Worker(inbox, connect=slow).run_batch()
    assert late.claimed and late.settled == [] and late.failed == []
    assert mirror(portal.member_id) == {} and statuses() == {InboxStatus.PENDING: 1}
    again = Worker(inbox, connect=counting([])).run_batch()  # the next claim processes it, once
    assert again.settled == again.claimed and statuses() == {InboxStatus.DONE: 1}
    assert list(mirror(portal.member_id)) == [activity_id]


def test_an_event_whose_workers_keep_dying_is_parked(portal, sandbox) -> None:
    [activity_id] = make_activities(sandbox, 1)
    accept_all(portal, [event("ONCRMACTIVITYUPDATE", activity_id)])
    clock = FakeClock()
    inbox = Inbox(db.session, clock=clock, lease=timedelta(seconds=60), backoff=Backoff(max_attempts=3))
    for _ in range(3):
        assert len(inbox.claim_batch(10).events) == 1
        clock.advance(61)
    assert inbox.claim_batch(10).events == []
    db.session.expire_all()
    [row] = db.session.scalars(select(InboxEvent))
    assert row.status is InboxStatus.FAILED and "abandoned" in (row.last_error or "")


def test_events_without_an_activity_id_are_parked_and_others_settled(portal, sandbox) -> None:
    accept_all(
        portal,
        [
            {"event": "ONCRMACTIVITYUPDATE", "event_handler_id": "1", "ts": "1", "data": {"FIELDS": {}}},
            {"event": "ONCRMDEALADD", "event_handler_id": "1", "ts": "1", "data": {"FIELDS": {"ID": "3"}}},
        ],
    )
    requests: list[str] = []
    Worker(Inbox(db.session), connect=counting(requests)).run(once=True)
    assert requests == []
    assert statuses() == {InboxStatus.DONE: 1, InboxStatus.FAILED: 1}


# --- real processes: kill -9, SIGTERM, two workers on PostgreSQL ---


def worker_env(app) -> dict[str, str]:
    """The environment a `flask --app app worker` process needs to work on the test's database."""
    config = app.config
    return {
        **os.environ,
        "APP_ENV": "testing",
        "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": config["SECRET_KEY"],
        "TOKEN_KEYS": ",".join(config["TOKEN_KEYS"]),
        "B24_CLIENT_ID": config["B24_CLIENT_ID"],
        "B24_CLIENT_SECRET": config["B24_CLIENT_SECRET"],
        "B24_OAUTH_URL": config["B24_OAUTH_URL"],
        "B24_ALLOWED_HOSTS": ",".join(config["B24_ALLOWED_HOSTS"]),
        "APP_BASE_URL": config["APP_BASE_URL"],
    }


def start_worker(app, *args: str) -> subprocess.Popen:
    flask = str(Path(sys.executable).parent / "flask")
    return subprocess.Popen(
        [flask, "--app", "app", "worker", *args],
        cwd=ROOT,
        env=worker_env(app),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def claimed_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).where(InboxEvent.attempts > 0)) or 0


def test_a_worker_killed_mid_batch_loses_nothing(connected_app, portal, sandbox) -> None:
    ids = make_activities(sandbox, 30)
    accept_all(portal, [event("ONCRMACTIVITYUPDATE", i) for i in ids])
    add_fault(sandbox.state, "delay", count=None, seconds=2.0, method="batch")
    process = start_worker(connected_app, "--batch-size", "10", "--lease", "30")
    try:
        wait_until(lambda: claimed_count() == 10, 20, "the worker's first claim")
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.communicate(timeout=10)
    assert process.returncode == -signal.SIGKILL
    assert statuses() == {InboxStatus.PENDING: 30}
    sandbox.state.faults.clear()
    clock = FakeClock()
    clock.advance(31)  # the dead worker's lease has run out
    Worker(Inbox(db.session, clock=clock), connect=counting([]), batch_size=10).run(once=True)
    assert statuses() == {InboxStatus.DONE: 30}
    rows = mirror(portal.member_id)
    assert sorted(rows) == ids and all(rows[i].subject == subject_of(sandbox, i) for i in ids)


def test_sigterm_finishes_the_batch_in_hand_then_stops(connected_app, portal, sandbox) -> None:
    ids = make_activities(sandbox, 30)
    accept_all(portal, [event("ONCRMACTIVITYUPDATE", i) for i in ids])
    add_fault(sandbox.state, "delay", count=1, seconds=1.5, method="batch")
    process = start_worker(connected_app, "--batch-size", "10")
    try:
        wait_until(lambda: claimed_count() == 10, 20, "the worker's first claim")
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
        process.communicate()
    assert process.returncode == 0, err
    assert "worker stopped after 1 batches" in out
    assert statuses() == {InboxStatus.DONE: 10, InboxStatus.PENDING: 20}
    assert claimed_count() == 10


def test_an_idle_worker_stops_at_once_on_sigterm(connected_app, portal) -> None:
    process = start_worker(connected_app, "--idle", "30")
    try:
        assert process.stdout.readline().startswith("worker started")  # its SIGTERM handler is in place
        time.sleep(0.3)  # let it find nothing to do and wait
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    finally:
        process.kill()
        process.communicate()
    assert process.returncode == 0, err
    assert "worker stopped after 0 batches" in out and time.monotonic() - started < 10


def drain_in_child(config: dict[str, Any], barrier: Any, out: Any) -> None:
    """A worker process for the PostgreSQL test: drain the inbox, report every id it claimed."""
    app = create_app(config)
    claimed: list[int] = []

    def record(report: BatchReport) -> None:
        claimed.extend(report.claimed)

    with app.app_context():
        barrier.wait()
        worker = Worker(Inbox(db.session), batch_size=5, on_batch=record)
        worker.run(once=True)
        db.session.remove()
        db.engine.dispose()
    out.put(claimed)


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="TEST_DATABASE_URL not set")
def test_two_worker_processes_never_process_one_event_twice(connected_app, portal, sandbox) -> None:
    sandbox.configure(rate=1000, burst=1000)  # 60 small batches: this test is about claims, not limits
    ids = make_activities(sandbox, 300)
    accept_all(portal, [event("ONCRMACTIVITYUPDATE", i) for i in ids])
    context = multiprocessing.get_context("spawn")
    barrier, out = context.Barrier(2), context.Queue()
    config = {key: connected_app.config[key] for key in CHILD_CONFIG}
    children = [context.Process(target=drain_in_child, args=(config, barrier, out)) for _ in range(2)]
    for child in children:
        child.start()
    first, second = out.get(timeout=120), out.get(timeout=120)
    for child in children:
        child.join(30)
        assert child.exitcode == 0
    assert set(first).isdisjoint(second)
    assert len(first) + len(second) == 300 and first and second
    assert statuses() == {InboxStatus.DONE: 300}
    assert sorted(mirror(portal.member_id)) == ids
