"""The fair claim (app.inbox.claims): portals interleaved, full buckets skipped, clicks first, SKIP LOCKED."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from flask import current_app
from sqlalchemy import create_engine, delete, func, insert, select, update
from sqlalchemy.orm import Session

from app.extensions import db
from app.inbox.claims import WALK, due_in_rotation, due_portals, plan_claim
from app.inbox.queue import Claim, Inbox
from app.inbox.worker import Worker
from app.models import InboxEvent, InboxStatus, Portal, PortalState, RateLimitBucket, utcnow
from app.portals.ratelimit import Limits, limiter_for, ready_in
from bench.loadgen import install_portal
from sandbox.crm.seed import KINDS, add
from tests.conftest import POSTGRES_URL, store_events
from tests.test_worker import counting, make_activities

SLOW = 0.01  # requests/s: a bucket filled in a test stays full for the whole test, however slow the machine
CLICK = "ONCRMTIMELINEITEMACTION"


def a_portal(member_id: str) -> Portal:
    """A stored, active portal (no sandbox behind it: these tests only claim)."""
    row = Portal(
        member_id=member_id,
        domain=f"{member_id}.example.test",
        client_endpoint=f"https://{member_id}.example.test/rest/",
        state=PortalState.ACTIVE,
    )
    row.rate_limit = RateLimitBucket(rate=2.0, burst=50)
    db.session.add(row)
    db.session.commit()
    return row


def activity_events(portal: Portal, count: int, *, start: int = 1) -> None:
    """Store `count` activity events of a portal, as POST /events does."""
    events = [
        {
            "event": "ONCRMACTIVITYUPDATE",
            "event_handler_id": "7",
            "ts": "1",
            "data": {"FIELDS": {"ID": f"{i}"}},
        }
        for i in range(start, start + count)
    ]
    store_events(portal, events)


def click(portal: Portal, activity_id: int = 1, action: str = "done", *, user_token: str = "") -> None:
    """Store one button click of a portal; with `user_token`, sealed as POST /events seals the clicker's."""
    data = {"activityId": str(activity_id), "id": action, "rev": "1", "entityTypeId": "2", "entityId": "1"}
    event = {"event": CLICK, "event_handler_id": "9", "ts": "2", "data": data, "auth": {"user_id": "1"}}
    store_events(portal, [event])
    if user_token:
        sealed = current_app.extensions["vault"].encrypt(user_token)
        db.session.execute(
            update(InboxEvent)
            .where(InboxEvent.member_id == portal.member_id, InboxEvent.event == CLICK)
            .values(user_token_enc=sealed)
        )
        db.session.commit()


def fill_bucket(portal: Portal) -> None:
    """Take every slot a background caller may take, with the real limiter, so the bucket has no room."""
    limiter = limiter_for(db.engine, portal, interactive=False)
    limiter.sleep = _refuse
    taken = 0
    try:
        while True:
            limiter.acquire()
            taken += 1
    except _Full:
        assert taken == Limits(SLOW, 50).background


class _Full(Exception):
    pass


def _refuse(seconds: float) -> None:
    raise _Full(seconds)


def portals_of(claim: Claim) -> list[str]:
    """The portals of a claim's events, in order, each once."""
    return list(dict.fromkeys(event.member_id for event in claim.events))


def counts(claim: Claim) -> Counter[str]:
    return Counter(event.member_id for event in claim.events)


@pytest.fixture
def three(app) -> tuple[Portal, Portal, Portal]:
    return a_portal("portal-a"), a_portal("portal-b"), a_portal("portal-c")


def test_one_claim_serves_every_portal_with_due_work_not_the_oldest_backlog_alone(three) -> None:
    a, b, c = three
    activity_events(a, 120)  # A's backlog is older than anything B and C send
    activity_events(b, 3)
    activity_events(c, 2)
    claim = Inbox(db.session).claim_batch(50)
    assert counts(claim) == {"portal-a": 50, "portal-b": 3, "portal-c": 2}
    assert portals_of(claim) == ["portal-c", "portal-b", "portal-a"]  # the shortest turns are worked first


def test_claims_rotate_over_the_portals_one_turn_each(three) -> None:
    a, b, c = three
    activity_events(a, 200)
    activity_events(b, 60)
    activity_events(c, 1)
    inbox = Inbox(db.session, turns=1)
    served = [portals_of(inbox.claim_batch(50)) for _ in range(6)]
    assert served == [["portal-a"], ["portal-b"], ["portal-c"], ["portal-a"], ["portal-b"], ["portal-a"]]


def test_a_portal_whose_bucket_is_full_is_skipped_and_the_others_are_claimed(three) -> None:
    a, b, c = three
    a.rate_limit.rate = SLOW
    db.session.commit()
    activity_events(a, 100)
    activity_events(b, 2)
    activity_events(c, 2)
    fill_bucket(a)
    claim = Inbox(db.session).claim_batch(50)
    assert counts(claim) == {"portal-b": 2, "portal-c": 2}
    # The claim says when A can go on: a slot's time at A's rate, not "nothing due".
    assert claim.wait is not None and 0 < claim.wait <= 1 / SLOW
    attempts = select(func.max(InboxEvent.attempts)).where(InboxEvent.member_id == "portal-a")
    assert db.session.scalar(attempts) == 0


def test_a_full_bucket_alone_tells_the_worker_how_long_until_it_has_room(three) -> None:
    a, _, _ = three
    activity_events(a, 10)
    now = time.time()
    bucket = a.rate_limit
    bucket.level, bucket.drained_at = 36.0, now  # the background ceiling is 35: room in (36 + 1 - 35) / 2 s
    db.session.commit()
    assert ready_in(db.session, ["portal-a"], now) == {"portal-a": pytest.approx(1.0)}
    plan = plan_claim(db.session, utcnow(), limit=50, after=None, clock=now)
    db.session.rollback()
    assert plan.rows == [] and plan.wait == pytest.approx(1.0)
    plan = plan_claim(db.session, utcnow(), limit=50, after=None, clock=now + 1.0)
    assert len(plan.rows) == 10 and plan.wait is None


def test_clicks_are_claimed_before_any_backlog_even_their_own_portals(three) -> None:
    a, b, _ = three
    activity_events(a, 200)
    activity_events(b, 5)
    click(b)
    click(a, activity_id=7)  # A's own click, behind 200 of its events
    claim = Inbox(db.session, turns=1).claim_batch(50)
    names = [(e.member_id, e.event) for e in claim.events]
    assert names[:2] == [("portal-b", CLICK), ("portal-a", CLICK)]
    assert names[2:] == [("portal-a", "ONCRMACTIVITYUPDATE")] * 50


def test_a_click_is_claimed_even_when_its_portals_bucket_is_full(three) -> None:
    a, _, _ = three
    a.rate_limit.rate = SLOW
    db.session.commit()
    activity_events(a, 20)
    click(a)
    fill_bucket(a)
    claim = Inbox(db.session).claim_batch(50)
    assert [e.event for e in claim.events] == [CLICK]  # a person waits: it may use the slots kept for people


def test_the_portal_scan_finds_only_portals_with_due_events(three) -> None:
    a, b, c = three
    activity_events(a, 3)
    activity_events(b, 1)
    click(c)  # a click alone is claimed with the clicks, not given a turn
    inbox = Inbox(db.session, turns=1)
    inbox.claim_batch(50)  # A's turn (and C's click): A's rows are leased, not due
    assert due_portals(db.session, utcnow()) == ["portal-b"]
    assert list(due_in_rotation(db.session, utcnow(), "portal-a")) == ["portal-b"]


def pending_over(portals: int, *, prefix: str = "portal-", leased_every: int = 0) -> list[str]:
    """One due pending event for each of `portals` portals (every `leased_every`-th leased: not due)."""
    now = utcnow()
    names = [f"{prefix}{n:05d}" for n in range(portals)]
    rows = [
        {
            "dedup_key": f"k-{name}",
            "event": "ONCRMACTIVITYUPDATE",
            "member_id": name,
            "payload": {},
            "status": InboxStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now + timedelta(minutes=5) if leased_every and n % leased_every == 0 else now,
            "received_at": now,
        }
        for n, name in enumerate(names)
    ]
    db.session.execute(insert(InboxEvent), rows)
    db.session.commit()
    return names


def test_the_rotation_walks_every_due_portal_after_the_cursor_then_from_the_start(app) -> None:
    names = pending_over(3 * WALK + 5, leased_every=7)  # several walking steps, leased portals among them
    due = [name for n, name in enumerate(names) if n % 7]
    cursor = due[WALK + 3]
    expected = [n for n in due if n > cursor] + [n for n in due if n <= cursor]
    assert list(due_in_rotation(db.session, utcnow(), cursor)) == expected
    assert list(due_in_rotation(db.session, utcnow(), None)) == due
    assert due_portals(db.session, utcnow()) == due


def claim_work(portals: int) -> int:
    """SQLite's virtual-machine steps (in hundreds) of one claim with `portals` portals due: its real work."""
    pending_over(portals)
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0  # go on

    raw = db.session.connection().connection.driver_connection
    raw.set_progress_handler(count, 100)
    try:
        plan = plan_claim(db.session, utcnow(), limit=50, after=None)
    finally:
        raw.set_progress_handler(None, 100)
    db.session.rollback()
    assert len(plan.rows) == 8  # eight turns of one event each
    return steps


@pytest.mark.skipif(bool(POSTGRES_URL), reason="counts SQLite's own work (bench.scale measures both)")
def test_a_claims_work_does_not_grow_with_the_number_of_portals_with_pending_rows(app) -> None:
    few = claim_work(2 * WALK)
    db.session.execute(delete(InboxEvent))
    db.session.commit()
    many = claim_work(40 * WALK)
    # Walking every portal with pending rows cost ~20 times as much for 20 times the portals.
    assert many < few * 1.5, (few, many)


# --- with the worker and the sandbox portal ---


def test_the_worker_processes_other_portals_while_a_full_portal_waits(connected_app, sandbox) -> None:
    busy = install_portal(sandbox, portal=sandbox.portals[0])
    other = install_portal(sandbox, portal=sandbox.portals[1])
    busy.rate_limit.rate, busy.rate_limit.burst = SLOW, 50
    db.session.commit()
    activity_events(busy, 60)
    with sandbox.state.lock:
        [activity_id] = make_activities_on(sandbox.portals[1], 1)
    activity_events(other, 1, start=activity_id)
    fill_bucket(busy)
    calls: list[str] = []
    report = Worker(Inbox(db.session), connect=counting(calls)).run_batch()  # would wait 100 s on A if held
    assert calls == ["batch:ok"] and report.wait is not None
    db.session.expire_all()
    rows = db.session.execute(select(InboxEvent.member_id, InboxEvent.status, InboxEvent.attempts)).all()
    assert {(m, s, n) for m, s, n in rows if m == other.member_id} == {(other.member_id, InboxStatus.DONE, 1)}
    assert {(s, n) for m, s, n in rows if m == busy.member_id} == {(InboxStatus.PENDING, 0)}


def make_activities_on(sandbox_portal, count: int) -> list[int]:
    """To-dos put on one sandbox portal directly (the sandbox's own seeding)."""
    owner = sorted(sandbox_portal.owners)[0]
    now = datetime.now(UTC).replace(microsecond=0)
    before = set(sandbox_portal.crm.activities)
    for _ in range(count):
        add(sandbox_portal, KINDS[3], owner, 1, now)
    return sorted(set(sandbox_portal.crm.activities) - before)


def test_the_worker_carries_out_every_click_before_any_portals_turn(connected_app, sandbox) -> None:
    busy = install_portal(sandbox, portal=sandbox.portals[0])
    other = install_portal(sandbox, portal=sandbox.portals[1])
    ids = make_activities(sandbox, 10)
    activity_events(busy, 10, start=ids[0])
    # Items that are not there: each settled with a note after its calls, as the clicking user.
    click(busy, activity_id=999998, user_token=sandbox.token(1, portal=sandbox.portals[0]))
    click(other, activity_id=999999, user_token=sandbox.token(1, portal=sandbox.portals[1]))
    report = Worker(Inbox(db.session), connect=counting([])).run_batch()
    clicks = db.session.scalars(select(InboxEvent.id).where(InboxEvent.event == CLICK)).all()
    assert sorted(report.settled[:2]) == sorted(clicks) and len(report.settled) == 12


# --- PostgreSQL: workers claiming at once take disjoint rows, and each still interleaves portals ---


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="TEST_DATABASE_URL not set")
def test_concurrent_claims_skip_each_others_locked_rows_and_both_interleave(app, three) -> None:
    a, b, c = three
    activity_events(a, 150)
    activity_events(b, 30)
    activity_events(c, 30)
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with Session(engine) as first, Session(engine) as second:
            one = plan_claim(first, utcnow(), limit=20, after=None, turns=2)  # locks held: not committed
            two = plan_claim(second, utcnow(), limit=20, after=None, turns=3)
            ids_one, ids_two = {r.id for r in one.rows}, {r.id for r in two.rows}
            assert ids_one.isdisjoint(ids_two)
            assert Counter(r.member_id for r in one.rows) == {"portal-a": 20, "portal-b": 20}
            # The second worker skips the rows the first holds and still gives each portal a turn.
            assert Counter(r.member_id for r in two.rows) == {"portal-a": 20, "portal-b": 10, "portal-c": 20}
            first.rollback()
            second.rollback()
    finally:
        engine.dispose()
