"""Retention: processed inbox rows deleted after their window, parked failures after theirs, in small batches.

A done row has served its purpose once its window (INBOX_KEEP_DONE_DAYS, default 7) is over: its effects
are in the mirror, its count in `inbox_tallies`. A parked failure waits for a fix and `events replay`; it
expires when it was parked more than INBOX_KEEP_FAILED_DAYS (default 30) ago (`processed_at`, which a
replay clears). Pending rows, claimed ones included (a claim is a pending row under a lease), are never
deleted: every statement names its status, the database checks it again on each row it deletes, and a
replayed row is pending again.

Deleting a row forgets its dedup key, so the same event delivered after the window would be stored again.
None comes that late: the portal's queue server calls a handler once, a few seconds after the change
(vendor api-reference/events/index.md: no redelivery is described); an offline record read twice is read
again within the backstop's minutes (app.inbox.offline's recovery); and a click's user token expires
within the hour (notes §2.2), so a late replay of a click fails at the portal. The window is at least a
day (app.config), far beyond any of these.

Each statement deletes at most `batch` rows, oldest first, found by the partial index of done rows by
processed_at (failed rows by their own partial index); a short pause between statements leaves the
database to the receiver and the worker. On PostgreSQL a transaction-scoped advisory lock keeps pruning
to one process at a time (another worker skips its turn); SQLite has one writer at a time anyway.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import TextClause, bindparam, text

from app.extensions import AnySession
from app.models import UTCDateTime, utcnow

log = logging.getLogger(__name__)
LOCK_KEY = 0x7462_7072_756E_6531  # "tbprune1": pg_try_advisory_xact_lock's key for pruning
KINDS = ("failed", "done")  # the statuses retention deletes, failures first (there are few)
# One statement per kind, its status literal so SQLite and PostgreSQL read that status's partial index;
# checked again in the outer WHERE, so a row replayed meanwhile (pending again) is not deleted.
DELETE = {
    "done": (
        "DELETE FROM inbox WHERE id IN (SELECT id FROM inbox WHERE status = 'done' AND processed_at < :cut "
        "ORDER BY processed_at LIMIT :batch) AND status = 'done' AND processed_at < :cut"
    ),
    "failed": (
        "DELETE FROM inbox WHERE id IN (SELECT id FROM inbox WHERE status = 'failed' AND processed_at < :cut "
        "ORDER BY processed_at LIMIT :batch) AND status = 'failed' AND processed_at < :cut"
    ),
}
COUNT = {
    "done": "SELECT count(*) FROM inbox WHERE status = 'done' AND processed_at < :cut",
    "failed": "SELECT count(*) FROM inbox WHERE status = 'failed' AND processed_at < :cut",
}


@dataclass(frozen=True)
class Policy:
    """How long rows are kept, and how they are deleted."""

    keep_done: timedelta = timedelta(days=7)
    keep_failed: timedelta = timedelta(days=30)
    batch: int = 1000  # rows per DELETE
    pause: float = 0.05  # seconds between two DELETEs

    def cut(self, kind: str, now: datetime) -> datetime:
        """Rows of `kind` processed (done or parked) before this moment are past their window."""
        return now - (self.keep_done if kind == "done" else self.keep_failed)


@dataclass
class Pruned:
    """What one prune deleted (or, for a dry run, would delete); `more`: its statements ran out first."""

    done: int = 0
    failed: int = 0
    more: bool = False
    skipped: bool = False  # another process holds the prune lock


def policy_from(config: Mapping[str, object]) -> Policy:
    """The app's retention windows (INBOX_KEEP_DONE_DAYS, INBOX_KEEP_FAILED_DAYS, whole days)."""
    done = int(str(config.get("INBOX_KEEP_DONE_DAYS", 7)))
    failed = int(str(config.get("INBOX_KEEP_FAILED_DAYS", 30)))
    return Policy(keep_done=timedelta(days=done), keep_failed=timedelta(days=failed))


def count_expired(session: AnySession, policy: Policy, now: datetime) -> Pruned:
    """What a prune would delete now: done and failed rows past their windows (a dry run)."""
    found = {kind: _count(session, kind, policy.cut(kind, now)) for kind in KINDS}
    session.rollback()
    return Pruned(done=found["done"], failed=found["failed"])


def _count(session: AnySession, kind: str, cut: datetime) -> int:
    return int(session.scalar(_sql(COUNT[kind]), {"cut": cut}) or 0)


def prune(
    session: AnySession,
    policy: Policy,
    now: datetime,
    *,
    max_statements: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Pruned:
    """Delete expired rows, `policy.batch` per statement, each its own transaction; failures first."""
    pruned, statements = Pruned(), 0
    for kind in KINDS:
        deleted = policy.batch
        while deleted == policy.batch:
            if max_statements is not None and statements >= max_statements:
                pruned.more = True
                return pruned
            if statements:
                sleep(policy.pause)
            statements += 1
            found = _delete_batch(session, kind, policy, now)
            if found is None:
                pruned.skipped = True
                return pruned
            deleted = found
            setattr(pruned, kind, getattr(pruned, kind) + deleted)
    return pruned


def _delete_batch(session: AnySession, kind: str, policy: Policy, now: datetime) -> int | None:
    """One DELETE of at most `policy.batch` rows, committed; None when another process is pruning."""
    if session.get_bind().dialect.name == "postgresql":
        held = session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        if not held:
            session.rollback()
            return None
    result = session.execute(_sql(DELETE[kind]), {"cut": policy.cut(kind, now), "batch": policy.batch})
    session.commit()  # ends the transaction, and with it the advisory lock
    return int(getattr(result, "rowcount", 0) or 0)


def _sql(sql: str) -> TextClause:
    """The statement with `cut` bound as the column's type: naive UTC, as processed_at is stored."""
    return text(sql).bindparams(bindparam("cut", type_=UTCDateTime()))


class Pruner:
    """The worker's duty: every `every`, a few DELETEs; while rows remain past the window, each round."""

    def __init__(
        self,
        policy: Policy,
        *,
        every: timedelta = timedelta(minutes=10),
        statements: int = 5,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.policy, self.every, self.statements = policy, every, statements
        self.clock, self.sleep = clock, sleep
        self.last_round: datetime | None = None
        self.behind = False  # the last round stopped with rows left: go on next round

    def run_due(self, session: AnySession) -> Pruned | None:
        """A round if one is due (a bounded one: the inbox's events come first); None otherwise."""
        now = self.clock()
        if not self.behind and self.last_round is not None and now - self.last_round < self.every:
            return None
        self.last_round = now
        pruned = prune(session, self.policy, now, max_statements=self.statements, sleep=self.sleep)
        self.behind = pruned.more
        if pruned.done or pruned.failed:
            log.info("inbox retention: %d done and %d expired failures deleted", pruned.done, pruned.failed)
        if pruned.failed:
            log.warning("inbox retention: %d parked failures expired unreplayed", pruned.failed)
        return pruned
