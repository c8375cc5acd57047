"""Which due inbox rows a claim takes: clicks first, then a turn per portal, round-robin, ready buckets only.

A global oldest-first claim makes one portal's backlog a queue every other portal stands in (issue #19),
so a claim is built in three steps, all in the caller's transaction:

1. due button clicks (ONCRMTIMELINEITEMACTION) of every portal, oldest first: a person waits on the item,
   which the platform keeps locked until the app answers;
2. the portals with due events in round-robin order after the portal this worker served last, found by a
   loose index scan (one index seek per portal, however long the backlog) walked WALK portals at a time,
   only as far as the turns need (so a claim costs the same with 10 or 10,000 portals pending);
3. a turn for each of the first `turns` of them whose rate-limit bucket has room now: up to `limit` of its
   oldest due events (one `batch` request's worth), the shortest turns first. A portal whose bucket is
   full is skipped, and the claim says how soon the first of them refills, so the worker waits that long
   rather than its idle time.

On PostgreSQL every row is locked `FOR UPDATE SKIP LOCKED`, so workers claiming at once take disjoint rows;
each rotates over the portals on its own. SQLite runs one worker.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any

from sqlalchemy import BindParameter, Select, bindparam, literal_column, select

from app.extensions import AnySession
from app.models import InboxEvent, InboxStatus
from app.portals.ratelimit import ready_in

CLICK = "ONCRMTIMELINEITEMACTION"
WALK = 64  # portals with pending rows walked per step of the portal scan: a few claims' worth of turns
TURNS = 8  # portals served per claim: enough to reach every busy portal quickly, few enough to stay short
# Constants rendered into the SQL, not bound: SQLite uses a partial index only for literal terms.
PENDING: BindParameter[str] = bindparam("pending", InboxStatus.PENDING.value, literal_execute=True)
CLICKED: BindParameter[str] = bindparam("clicked", CLICK, literal_execute=True)


@dataclass(frozen=True)
class Plan:
    """The rows a claim takes, locked, in the order to process them; and when a skipped portal is ready."""

    rows: list[InboxEvent]
    wait: float | None  # seconds until the first skipped portal's bucket has room; None if none was skipped
    last_served: str | None  # the member_id of the last portal given a turn (the rotation's cursor)


def plan_claim(
    session: AnySession,
    now: datetime,
    *,
    limit: int,
    after: str | None,
    turns: int = TURNS,
    clock: float | None = None,
) -> Plan:
    """Lock the rows of one claim: due clicks, then one turn for each of the next ready portals."""
    clicks = list(session.scalars(_locked(_due(now).where(InboxEvent.event == CLICKED), limit)))
    portals = due_in_rotation(session, now, after)
    taken = _Turns()
    # Buckets are read a few portals at a time: with many portals due, only the first few get a turn, and
    # only as many portals are walked as those turns need.
    while len(taken.served) < turns:
        chunk = list(islice(portals, turns))
        if not chunk:
            break
        waits = ready_in(session, chunk, time.time() if clock is None else clock)
        for member_id in chunk:
            if len(taken.served) == turns:
                break
            if waits.get(member_id, 0.0) > 0:
                taken.skipped.append(waits[member_id])
                continue
            query = _due(now).where(InboxEvent.member_id == member_id, InboxEvent.event != CLICKED)
            taken.add(member_id, list(session.scalars(_locked(query, limit))))
    wait = min(taken.skipped) if taken.skipped else None
    return Plan(clicks + taken.rows(), wait, taken.served[-1] if taken.served else after)


@dataclass
class _Turns:
    """The turns a claim has taken so far, and the waits of the portals it skipped."""

    turns: list[list[InboxEvent]] = field(default_factory=list)
    served: list[str] = field(default_factory=list)
    skipped: list[float] = field(default_factory=list)

    def add(self, member_id: str, rows: list[InboxEvent]) -> None:
        """Keep a portal's turn; none (another worker holds its rows: SKIP LOCKED) is no turn."""
        if rows:
            self.turns.append(rows)
            self.served.append(member_id)

    def rows(self) -> list[InboxEvent]:
        """Shortest turns first: a quiet portal's one event need not wait behind a busy portal's fifty
        (whose pace its bucket sets anyway)."""
        return [row for turn in sorted(self.turns, key=len) for row in turn]


def due_portals(session: AnySession, now: datetime) -> list[str]:
    """Every portal with a due pending event other than a click, by member_id."""
    return sorted(due_in_rotation(session, now, None))


def due_in_rotation(session: AnySession, now: datetime, after: str | None) -> Iterator[str]:
    """The portals with a due event other than a click, in round-robin order after `after`, walked lazily.

    Each step walks up to WALK portals with pending rows (`_walk`): a claim that finds its turns in the
    first few reads no more, so its cost does not grow with the number of portals that have pending rows.
    """
    for start, stop in ((after, None), (None, after)) if after is not None else ((None, None),):
        while True:
            walked = _walk(session, now, start)
            for member_id, due in walked:
                if stop is not None and member_id > stop:
                    return
                if due:
                    yield member_id
            if len(walked) < WALK:
                break
            start = walked[-1][0]


def _walk(session: AnySession, now: datetime, start: str | None) -> list[tuple[str, bool]]:
    """Up to WALK portals with pending rows after `start` (from the first if None), each with whether it
    has a due event other than a click: one index seek per portal (a loose index scan of
    `ix_inbox_pending_by_portal`), however long the backlog.
    """
    inbox = InboxEvent.__table__.c
    # Ordered by (member_id, next_attempt_at), which only the partial index of pending rows gives without a
    # sort: PostgreSQL would otherwise walk ix_inbox_member_id, stepping over every done row on the way.
    first = _next_portal()
    if start is not None:
        first = first.where(inbox.member_id > start)
    seed = select(first.scalar_subquery().label("member_id"), literal_column("1").label("depth"))
    walk = seed.cte("pending_portals", recursive=True)
    following = _next_portal().where(inbox.member_id > walk.c.member_id).scalar_subquery()
    step = select(following, walk.c.depth + 1).where(walk.c.member_id.is_not(None), walk.c.depth < WALK)
    walk = walk.union_all(step)
    # The first in index order, not min(): with the click filter, min() would read all of a portal's rows.
    earliest = (
        select(inbox.next_attempt_at)
        .where(inbox.status == PENDING, inbox.member_id == walk.c.member_id, inbox.event != CLICKED)
        .order_by(inbox.next_attempt_at)
        .limit(1)
        .scalar_subquery()
    )
    found = select(walk.c.member_id, earliest <= now).where(walk.c.member_id.is_not(None))
    return sorted((member_id, bool(due)) for member_id, due in session.execute(found))


def _next_portal() -> Select[Any]:
    """The first member_id with pending rows (narrowed by the caller), in the partial index's order."""
    inbox = InboxEvent.__table__.c
    query = select(inbox.member_id).where(inbox.status == PENDING)
    return query.order_by(inbox.member_id, inbox.next_attempt_at).limit(1)


def _due(now: datetime) -> Select[Any]:
    return select(InboxEvent).where(InboxEvent.status == PENDING, InboxEvent.next_attempt_at <= now)


def _locked(query: Select[Any], limit: int) -> Select[Any]:
    """Oldest first, at most `limit`, skipping rows another worker has locked (PostgreSQL)."""
    ordered = query.order_by(InboxEvent.next_attempt_at, InboxEvent.id).limit(limit)
    return ordered.with_for_update(skip_locked=True)
