"""The event inbox: accepted events stored once, claimed under a lease, settled or retried with backoff.

Claims are leases, not open transactions. `claim_batch` locks due rows, chosen fairly across portals by
app.inbox.claims, with `FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite runs one worker), stamps them
`next_attempt_at = now + lease` and `attempts + 1`, and commits at once. The worker then calls the portal
with no transaction open, and settles or fails the rows only while they still carry its lease (the fence). So:

- a worker killed at any point (SIGKILL included) loses nothing: its rows stay `pending` and come due
  again when the lease runs out; nothing in memory had to be saved;
- no row lock or transaction is held across portal calls, which may wait on the rate limit for seconds
  (on SQLite an open write would stall the receiver);
- `attempts` counts claims, so an event that crashes every worker that takes it is parked, not retried
  for ever;
- a worker slower than its lease can meet a second claim of the same row; its settle then misses the
  fence and changes nothing, and its mirror writes are idempotent upserts.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import Row, Table, update
from sqlalchemy.dialects import postgresql, sqlite

from app import metrics
from app.extensions import AnySession
from app.inbox.claims import TURNS, plan_claim
from app.inputs import as_id
from app.models import InboxEvent, InboxStatus, InboxTally, utcnow

INBOX: Table = InboxEvent.__table__  # type: ignore[assignment]
TALLIES: Table = InboxTally.__table__  # type: ignore[assignment]
# What of the auth block is kept: never a token (style.md: no secret in the database in clear text), nor
# what the row and the portal's row hold already (member_id, domain, endpoints; 0007_retention).
KEPT_AUTH = ("user_id", "status", "scope")
MAX_ERROR = 2000
ITEM_ACTIONS = frozenset({"ONCRMTIMELINEITEMACTION"})  # clicks on a configurable activity's buttons

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter between attempts, and the attempt after which an event is parked."""

    base: float = 30.0  # seconds before the second attempt (at most)
    cap: float = 3600.0
    max_attempts: int = 8
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def delay(self, attempts: int) -> timedelta:
        """How long to wait after failed attempt number `attempts` (1-based): half to all of base·2^(n-1)."""
        ceiling = min(self.cap, self.base * 2 ** max(attempts - 1, 0))
        return timedelta(seconds=ceiling * self.rng.uniform(0.5, 1.0))


@dataclass(frozen=True)
class ClaimedEvent:
    """An inbox row as claimed: plain data, so nothing lazy-loads while the portal is being called."""

    id: int
    event: str
    member_id: str
    payload: dict[str, Any]
    attempts: int
    user_token_enc: str | None = None  # a click's clicking user's token, sealed by the vault

    @property
    def activity_id(self) -> int | None:
        """The entity id the event names (`data[FIELDS][ID]`), if it is a positive integer."""
        return entity_id(self.payload)


@dataclass(frozen=True)
class Claim:
    """One claimed batch and its lease: settle and fail act only on rows still under this lease."""

    lease_until: datetime
    events: list[ClaimedEvent]
    wait: float | None = (
        None  # seconds until a portal skipped for its full bucket has room (app.inbox.claims)
    )


def dedup_key(member_id: str, event: dict[str, Any]) -> str:
    """sha256 of (member_id, EVENT, event_handler_id, what it is about, ts): the portal sends no event id.

    An activity event is about `data[FIELDS][ID]`. A button click (ONCRMTIMELINEITEMACTION) names no FIELDS:
    it is about its whole `data` (activityId, the action id, actionParams, entity) and the user who clicked
    (notes §3.6), so two clicks in the same second on other buttons, items or by other users stay apart,
    while a redelivered identical body gets the same key.
    """
    name = str(event.get("event", "")).upper()
    about = _click(event) if name in ITEM_ACTIONS else _raw_entity_id(event)
    parts = [member_id, name, str(event.get("event_handler_id", "")), about, str(event.get("ts", ""))]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def _click(event: dict[str, Any]) -> str:
    """The canonical text of a click: its data (keys sorted), the clicking user and their token's digest.

    `auth[user_id]` alone is only a claim: a forged click naming the same user, button and second would make
    the real one a duplicate. The token is the portal's own (a redelivery carries the same), so it keeps
    them apart.
    """
    auth = event.get("auth")
    auth = auth if isinstance(auth, dict) else {}
    token = str(auth.get("access_token", ""))
    clicked = {
        "data": event.get("data"),
        "user_id": str(auth.get("user_id", "")),
        "token": hashlib.sha256(token.encode()).hexdigest() if token else "",
    }
    return json.dumps(clicked, sort_keys=True, separators=(",", ":"), default=str)


def entity_id(payload: dict[str, Any]) -> int | None:
    """The positive integer id in `data[FIELDS][ID]`, else None."""
    raw = _raw_entity_id(payload)
    return as_id(raw)


def _raw_entity_id(event: dict[str, Any]) -> str:
    data = event.get("data")
    fields = data.get("FIELDS") if isinstance(data, dict) else None
    value = fields.get("ID") if isinstance(fields, dict) else None
    return str(value) if isinstance(value, str | int) else ""


def stored_payload(event: dict[str, Any]) -> dict[str, Any]:
    """The event as kept in the inbox: everything but the tokens of its auth block."""
    raw = event.get("auth")
    auth: dict[str, Any] = raw if isinstance(raw, dict) else {}
    kept = {key: auth[key] for key in KEPT_AUTH if key in auth}
    return {**{key: value for key, value in event.items() if key != "auth"}, "auth": kept}


def inbox_row(event: dict[str, Any], member_id: str, now: datetime) -> dict[str, Any]:
    """The values of a verified event's new inbox row: pending, due at once."""
    return {
        "dedup_key": dedup_key(member_id, event),
        "event": str(event.get("event", "")).upper()[:64],
        "member_id": member_id,
        "payload": stored_payload(event),
        "status": InboxStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "received_at": now,
        "user_token_enc": None,  # a click's sealed user token (app.events.views); every row has the key
    }


class Inbox:
    """The store the worker drains (POST /events fills it through app.inbox.writer); the caller commits."""

    def __init__(
        self,
        session: AnySession,
        *,
        clock: Clock = utcnow,
        lease: timedelta = timedelta(minutes=5),
        backoff: Backoff | None = None,
        turns: int = TURNS,
    ) -> None:
        self.session = session
        self.clock = clock
        self.lease = lease
        self.backoff = backoff or Backoff()
        self.turns = turns
        self._last_served: str | None = None  # this worker's round-robin cursor over portals

    def claim_batch(self, limit: int = 50) -> Claim:
        """Lease due rows fairly (inbox.claims: clicks first, then a turn per ready portal); commits."""
        now = self.clock()
        lease_until = now + self.lease
        plan = plan_claim(self.session, now, limit=limit, after=self._last_served, turns=self.turns)
        self._last_served = plan.last_served
        claimed = []
        for row in plan.rows:
            row.attempts += 1
            if row.attempts > self.backoff.max_attempts:  # its workers kept dying: park it
                self._park(row, now, "abandoned: the worker processing it stopped before finishing")
                _count("failed", [row])
                continue
            row.next_attempt_at = lease_until
            claimed.append(
                ClaimedEvent(
                    row.id, row.event, row.member_id, dict(row.payload), row.attempts, row.user_token_enc
                )
            )
        self.session.commit()
        return Claim(lease_until, claimed, wait=plan.wait)

    def settle(self, claim: Claim, ids: Sequence[int], *, note: str | None = None) -> int:
        """Mark claimed events done; return how many were still under this claim's lease.

        The portals' tallies of processed events move in the same transaction (the main page reads them).
        """
        settled = self._finish(claim, ids, status=InboxStatus.DONE, last_error=note)
        for member_id, n in sorted(Counter(row.member_id for row in settled).items()):  # one lock order
            self._tally(member_id, n)
        _count("processed", settled)
        return len(settled)

    def fail(
        self,
        claim: Claim,
        events: Sequence[ClaimedEvent],
        error: str,
        *,
        retry_at: datetime | None = None,
        permanent: bool = False,
    ) -> int:
        """Schedule claimed events again after the backoff (or `retry_at`), or park them as failed."""
        now = self.clock()
        message = error[:MAX_ERROR]
        owned = 0
        for event in events:
            if permanent or event.attempts >= self.backoff.max_attempts:
                parked = self._finish(claim, [event.id], status=InboxStatus.FAILED, last_error=message)
                _count("failed", parked)
                owned += len(parked)
                continue
            due = max(now + self.backoff.delay(event.attempts), retry_at or now)
            retried = self._update_leased(claim, [event.id], next_attempt_at=due, last_error=message)
            _count("retried", retried)
            owned += len(retried)
        return owned

    def replay(self, event_id: int) -> bool:
        """Put a failed (parked) event back to pending with a fresh count of attempts; the caller commits."""
        result = self.session.execute(
            update(INBOX)
            .where(INBOX.c.id == event_id, INBOX.c.status == InboxStatus.FAILED)
            .values(status=InboxStatus.PENDING, attempts=0, next_attempt_at=self.clock(), processed_at=None)
        )
        return bool(getattr(result, "rowcount", 0))

    def _finish(
        self, claim: Claim, ids: Sequence[int], *, status: InboxStatus, last_error: str | None
    ) -> list[Row[Any]]:
        # A click's sealed user token is erased with its settling: it served this one click only.
        return self._update_leased(
            claim, ids, status=status, processed_at=self.clock(), last_error=last_error, user_token_enc=None
        )

    def _update_leased(self, claim: Claim, ids: Sequence[int], **values: Any) -> list[Row[Any]]:
        """Update rows only while they are pending under this claim's lease (the fence); return those rows."""
        if not ids:
            return []
        result = self.session.execute(
            update(INBOX)
            .where(
                INBOX.c.id.in_(list(ids)),
                INBOX.c.status == InboxStatus.PENDING,
                INBOX.c.next_attempt_at == claim.lease_until,
            )
            .values(**values)
            .returning(INBOX.c.member_id, INBOX.c.event)
        )
        return list(result.all())

    def _tally(self, member_id: str, done: int) -> None:
        """Add `done` to the portal's count of processed events (an upsert: its first creates the row)."""
        insert = postgresql.insert if self.session.get_bind().dialect.name == "postgresql" else sqlite.insert
        statement = insert(TALLIES).values(member_id=member_id, done=done)
        self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[TALLIES.c.member_id], set_={"done": TALLIES.c.done + statement.excluded.done}
            )
        )

    def _park(self, row: InboxEvent, now: datetime, error: str) -> None:
        row.status = InboxStatus.FAILED
        row.user_token_enc = None
        row.processed_at = now
        row.last_error = error


def _count(kind: str, rows: Sequence[Row[Any]] | Sequence[InboxEvent]) -> None:
    """Count the rows an update changed, by event name (a name the manifest binds, else OTHER)."""
    known = current_app.extensions["manifest"].events if has_app_context() else frozenset()
    for event, n in Counter(str(row.event) for row in rows).items():
        metrics.count_event(kind, event if event in known else metrics.OVERFLOW, n)
