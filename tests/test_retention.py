"""Retention: done rows past their window and expired parked failures deleted in batches; nothing else."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from app.config import ConfigError, load_config
from app.extensions import db
from app.inbox.queue import Inbox
from app.inbox.retention import LOCK_KEY, Policy, Pruner, count_expired, policy_from, prune
from app.inbox.worker import Worker
from app.models import InboxEvent, InboxStatus, utcnow

NOW = utcnow()  # the prune command reads the clock
DAY = timedelta(days=1)


def add(status: InboxStatus, processed_days_ago: float | None, *, received_days_ago: float = 40) -> int:
    """One inbox row of `status`, processed that many days before NOW (None: not processed)."""
    received = NOW - received_days_ago * DAY
    row = InboxEvent(
        dedup_key=f"k{db.session.query(InboxEvent).count()}-{status}-{processed_days_ago}",
        event="ONCRMACTIVITYADD",
        member_id="m",
        payload={"event": "ONCRMACTIVITYADD", "data": {"FIELDS": {"ID": "1"}}},
        status=status,
        received_at=received,
        next_attempt_at=received,
        processed_at=None if processed_days_ago is None else NOW - processed_days_ago * DAY,
    )
    db.session.add(row)
    db.session.commit()
    return row.id


def ids() -> set[int]:
    db.session.expire_all()
    return set(db.session.scalars(select(InboxEvent.id)))


def test_only_done_rows_past_the_window_and_expired_failures_are_deleted(app) -> None:
    old_done = [add(InboxStatus.DONE, days) for days in (7.01, 8, 20)]
    kept = {
        add(InboxStatus.DONE, 6.99),
        add(InboxStatus.PENDING, None),  # due for weeks: still never deleted
        add(InboxStatus.FAILED, 29),  # parked, within its 30 days
    }
    claimed = add(InboxStatus.PENDING, None)  # a lease: pending with its next attempt in the future
    db.session.get(InboxEvent, claimed).next_attempt_at = NOW + timedelta(minutes=5)
    db.session.commit()
    expired_failure = add(InboxStatus.FAILED, 31)
    pauses: list[float] = []

    pruned = prune(db.session, Policy(batch=2, pause=0.01), NOW, sleep=pauses.append)

    assert (pruned.done, pruned.failed, pruned.more, pruned.skipped) == (3, 1, False, False)
    assert ids() == kept | {claimed}
    assert not set(old_done) & ids() and expired_failure not in ids()
    assert pauses == [0.01] * 2  # failed: 1 statement; done: 2 rows, 1 row → three statements, two pauses


def test_a_replayed_failure_is_pending_again_and_kept(app, db) -> None:
    parked = add(InboxStatus.FAILED, 45)
    assert Inbox(db.session, clock=lambda: NOW).replay(parked)
    db.session.commit()
    assert prune(db.session, Policy(), NOW, sleep=lambda _: None).failed == 0
    assert parked in ids()


def test_statements_are_bounded_and_the_pruner_goes_on_while_behind(app) -> None:
    for days in range(8, 13):
        add(InboxStatus.DONE, days)
    clock = [NOW]
    pruner = Pruner(
        Policy(batch=2),
        every=timedelta(minutes=10),
        statements=2,
        clock=lambda: clock[0],
        sleep=lambda _: None,
    )

    first = pruner.run_due(db.session)
    assert first is not None and (first.done, first.more) == (2, True)  # one statement went to failed rows
    second = pruner.run_due(db.session)  # behind: at once, not after ten minutes
    assert second is not None and second.done == 2 and second.more
    third = pruner.run_due(db.session)
    assert third is not None and third.done == 1 and not third.more
    assert pruner.run_due(db.session) is None  # caught up: the next round waits its ten minutes
    clock[0] = NOW + timedelta(minutes=10)
    assert pruner.run_due(db.session) == type(first)()
    assert ids() == set()


def test_the_worker_prunes_as_a_duty(app) -> None:
    gone, kept = add(InboxStatus.DONE, 9), add(InboxStatus.DONE, 1)
    pruner = Pruner(Policy(), clock=lambda: NOW, sleep=lambda _: None)
    Worker(Inbox(db.session, clock=lambda: NOW), pruner=pruner).run(once=True)
    assert ids() == {kept} and gone not in ids()


def test_prune_command_dry_run_counts_and_then_deletes(app, runner) -> None:
    add(InboxStatus.DONE, 300)
    add(InboxStatus.DONE, 8)
    add(InboxStatus.FAILED, 300)
    add(InboxStatus.DONE, 1)
    dry = runner.invoke(args=["events", "prune", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would delete 2 done and 1 failed events" in dry.output
    assert "done after 7 days, parked failures after 30 days" in dry.output
    assert len(ids()) == 4
    done = runner.invoke(args=["events", "prune", "--batch", "1"])
    assert done.exit_code == 0, done.output
    assert "deleted 2 done and 1 failed events" in done.output
    assert len(ids()) == 1


def test_windows_come_from_the_config_and_shorter_than_a_day_is_refused(tmp_path: Path) -> None:
    base = {"APP_ENV": "testing"}
    config = load_config({**base, "INBOX_KEEP_DONE_DAYS": "2", "INBOX_KEEP_FAILED_DAYS": "90"}, tmp_path)
    assert policy_from(config) == Policy(keep_done=2 * DAY, keep_failed=90 * DAY)
    assert policy_from(load_config(base, tmp_path)) == Policy()
    for name in ("INBOX_KEEP_DONE_DAYS", "INBOX_KEEP_FAILED_DAYS"):
        with pytest.raises(ConfigError, match=f"{name} must be a whole number of at least 1"):
            load_config({**base, name: "0"}, tmp_path)


def test_dry_run_and_prune_agree(app) -> None:
    for days in (1, 8, 9, 31, 40):
        add(InboxStatus.DONE, days)
        add(InboxStatus.FAILED, days)
    counted = count_expired(db.session, Policy(), NOW)
    pruned = prune(db.session, Policy(), NOW, sleep=lambda _: None)
    assert (counted.done, counted.failed) == (pruned.done, pruned.failed) == (4, 2)


def test_a_second_process_skips_while_one_prunes(app, database_url: str) -> None:
    """PostgreSQL: the advisory lock keeps pruning to one process; the other deletes nothing."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the prune lock is PostgreSQL's (SQLite has one writer at a time)")
    row = add(InboxStatus.DONE, 9)
    other = create_engine(database_url)
    with other.begin() as connection:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        pruned = prune(db.session, Policy(), NOW, sleep=lambda _: None)
        assert pruned.skipped and pruned.done == 0 and row in ids()
    other.dispose()
    assert prune(db.session, Policy(), NOW, sleep=lambda _: None).done == 1
