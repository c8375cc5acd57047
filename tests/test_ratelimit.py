"""The shared bucket: calls nobody waits on leave a fifth of it to the people opening pages."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import RateLimitBucket
from app.portals.ratelimit import DatabaseRateLimiter, Limits, limiter_for


class Waited(Exception):
    """The limiter wanted to sleep: the bucket had no slot for this caller."""


def never_sleep(seconds: float) -> None:
    raise Waited(seconds)


def takes(limiter: DatabaseRateLimiter) -> int:
    """How many slots the limiter takes before it would have to wait (the clock stands still)."""
    taken = 0
    while True:
        try:
            limiter.acquire()
        except Waited:
            return taken
        taken += 1


def test_a_page_finds_slots_the_worker_left_free(portal, connected_app) -> None:
    portal.rate_limit = RateLimitBucket(rate=2.0, burst=50)
    db.session.commit()
    limits = Limits(rate=2.0, burst=50)
    background = limiter_for(db.engine, portal, interactive=False)
    people = limiter_for(db.engine, portal, interactive=True)
    for limiter in (background, people):
        limiter.clock, limiter.sleep = (lambda: 1000.0), never_sleep
    assert takes(background) == limits.background == 35  # 50 - 5 headroom - 10 kept for people
    assert takes(people) == limits.usable - limits.background == 10
    assert takes(background) == 0


@pytest.mark.parametrize(
    ("burst", "usable", "background"), [(50, 45, 35), (250, 225, 175), (2, 1, 1), (1, 1, 1)]
)
def test_every_bucket_keeps_a_slot_for_each_kind_of_caller(burst: int, usable: int, background: int) -> None:
    limits = Limits(rate=1.0, burst=burst)
    assert (limits.usable, limits.background) == (usable, background)


def statements_of(action) -> list[str]:
    """The SQL statements `action` runs on the app's engine."""
    from sqlalchemy import event

    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, many) -> None:
        seen.append(statement.split()[0].upper())

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return seen


def test_a_limiter_made_from_a_portal_with_its_bucket_takes_a_slot_in_one_update(
    portal, connected_app
) -> None:
    """A page open's client (limiter_for with the portal's bucket loaded) does not look for the row first."""
    from app.portals import store

    found = store.find(portal.member_id)
    limiter = limiter_for(db.engine, found, interactive=True)  # reads the portal's bucket (its overrides)
    assert statements_of(limiter.acquire) == ["UPDATE"]
    fresh = DatabaseRateLimiter(db.engine, portal.id, Limits(rate=2.0, burst=50))  # no row known: looks once
    assert statements_of(fresh.acquire) == ["SELECT", "UPDATE"]
    assert statements_of(fresh.acquire) == ["UPDATE"]
