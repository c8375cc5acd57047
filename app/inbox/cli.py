"""`flask --app app worker` and `flask --app app events list|replay|reconcile|prune`: the inbox by hand."""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import FrameType

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError

from app.bitrix24.errors import Bitrix24Error
from app.extensions import db
from app.inbox.claims import TURNS
from app.inbox.heartbeat import Heartbeat
from app.inbox.mirror import reconcile
from app.inbox.offline import Backstop
from app.inbox.queue import Backoff, Inbox
from app.inbox.retention import Pruner, count_expired, policy_from, prune
from app.inbox.worker import BatchReport, Worker, worker_client
from app.models import InboxEvent, InboxStatus, utcnow
from app.portals.connections import client_for, oauth_client
from app.portals.store import find
from app.portals.uninstalls import Confirmer

# A dropped or refused database connection: wait and go on. Other database errors are bugs: they stop it.
DATABASE_GONE = (OperationalError, InterfaceError)
events_cli = AppGroup("events", help="Inspect, replay and reconcile activity events.")


@click.command("worker")
@click.option("--once", is_flag=True, help="Stop when nothing is due instead of waiting for more.")
@click.option("--max-batches", type=click.IntRange(min=1), help="Stop after this many batches.")
@click.option(
    "--batch-size", default=50, show_default=True, type=click.IntRange(1, 500), help="Events per portal turn."
)
@click.option(
    "--turns", default=TURNS, show_default=True, type=click.IntRange(1, 100), help="Portals served per claim."
)
# Short, because a click waits on the next poll and a person waits on the click (an idle poll is a few
# index seeks).
@click.option("--idle", default=0.25, show_default=True, help="Seconds to wait when nothing is due.")
@click.option("--lease", default=300.0, show_default=True, help="Seconds a claim is held before retry.")
@click.option("--max-attempts", default=8, show_default=True, type=click.IntRange(min=1))
@click.option("--backoff", default=30.0, show_default=True, help="Seconds before the second attempt.")
@click.option(
    "--backstop-every",
    default=60.0,
    show_default=True,
    help="Seconds between drains of every portal's offline queue (or reconciles); 0: never.",
)
@click.option(
    "--prune-every",
    default=600.0,
    show_default=True,
    help="Seconds between retention rounds (INBOX_KEEP_DONE_DAYS, INBOX_KEEP_FAILED_DAYS); 0: never.",
)
def worker(
    once: bool,
    max_batches: int | None,
    batch_size: int,
    turns: int,
    idle: float,
    lease: float,
    max_attempts: int,
    backoff: float,
    backstop_every: float,
    prune_every: float,
) -> None:
    """Process the event inbox until SIGTERM (which finishes the batch in hand first)."""
    inbox = Inbox(
        db.session,
        lease=timedelta(seconds=lease),
        backoff=Backoff(base=backoff, max_attempts=max_attempts),
        turns=turns,
    )
    backstop = (
        Backstop(worker_client, every=timedelta(seconds=backstop_every)) if backstop_every > 0 else None
    )
    heartbeat = Heartbeat(db.session)
    uninstalls = Confirmer(oauth_client, lambda: current_app.extensions["vault"])
    policy = policy_from(current_app.config)
    pruner = Pruner(policy, every=timedelta(seconds=prune_every)) if prune_every > 0 else None
    runner = Worker(
        inbox,
        batch_size=batch_size,
        idle_wait=idle,
        on_batch=_echo_batch,
        backstop=backstop,
        heartbeat=heartbeat,
        uninstalls=uninstalls,
        pruner=pruner,
    )

    def stop(signum: int, frame: FrameType | None) -> None:
        click.echo("stopping after the current batch", err=True)
        runner.stop()

    # SIGINT too: Ctrl-C on `make run` reaches every process of the terminal's group.
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    shape = f"turns of {batch_size} events, {turns} portals a claim"
    click.echo(f"worker started: {shape}, lease {lease:g} s, {max_attempts} attempts")
    try:
        batches = run_through_outages(runner, once=once, max_batches=max_batches)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        with contextlib.suppress(*DATABASE_GONE):
            heartbeat.remove()
    click.echo(f"worker stopped after {batches} batches")


def run_through_outages(
    runner: Worker, *, once: bool, max_batches: int | None, sleep: Callable[[float], None] = time.sleep
) -> int:
    """Run the worker; a lost database (a restart, a failover) is waited out with backoff, not an exit.

    Nothing is lost either way (claims are leases), but a worker that exits on the first dropped connection
    leaves the inbox undrained until something restarts it.
    """
    batches, wait = 0, 1.0
    while True:
        try:
            left = None if max_batches is None else max_batches - batches
            return batches + runner.run(once=once, max_batches=left)
        except DATABASE_GONE as error:
            with contextlib.suppress(Exception):
                db.session.rollback()
            db.session.remove()
            click.echo(f"database unavailable ({type(error).__name__}); trying again in {wait:g} s", err=True)
            sleep(wait)
            if runner.stopping:
                return batches
            wait = min(wait * 2, 30.0)


def _echo_batch(report: BatchReport) -> None:
    click.echo(
        f"batch: {len(report.claimed)} claimed, {len(report.settled)} done, {len(report.failed)} failed"
    )


@events_cli.command("list")
@click.option("--failed", is_flag=True, help="Only events parked as failed.")
@click.option("--portal", "member_id", help="Only this portal's events (member_id).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1))
def list_events(failed: bool, member_id: str | None, limit: int) -> None:
    """The newest inbox events, one line each: id, event, portal, status, attempts, next try, error."""
    query = select(InboxEvent).order_by(InboxEvent.id.desc()).limit(limit)
    if failed:
        query = query.where(InboxEvent.status == InboxStatus.FAILED)
    if member_id:
        query = query.where(InboxEvent.member_id == member_id)
    rows = list(db.session.scalars(query))
    click.echo(f"{'ID':>8} {'EVENT':<22} {'MEMBER_ID':<34} {'STATUS':<8} {'TRIES':>5} {'NEXT':<20} ERROR")
    for row in rows:
        click.echo(
            f"{row.id:>8} {row.event:<22} {row.member_id:<34} {row.status.value:<8} {row.attempts:>5} "
            f"{row.next_attempt_at:%Y-%m-%d %H:%M:%S} {(row.last_error or '')[:80]}"
        )
    click.echo(f"{len(rows)} event{'s' if len(rows) != 1 else ''}")


@events_cli.command("replay")
@click.argument("event_id", type=int)
def replay_event(event_id: int) -> None:
    """Put a failed (parked) event back to pending, with a fresh count of attempts."""
    if not Inbox(db.session).replay(event_id):
        raise click.ClickException(f"no failed event with id {event_id}")
    db.session.commit()
    click.echo(f"event {event_id} is pending again")


@events_cli.command("prune")
@click.option("--dry-run", is_flag=True, help="Count the rows past their window; delete nothing.")
@click.option(
    "--batch", default=1000, show_default=True, type=click.IntRange(1, 10**5), help="Rows per DELETE."
)
def prune_events(dry_run: bool, batch: int) -> None:
    """Delete done events past INBOX_KEEP_DONE_DAYS and parked failures past INBOX_KEEP_FAILED_DAYS."""
    policy = replace(policy_from(current_app.config), batch=batch)
    windows = f"done after {policy.keep_done.days} days, parked failures after {policy.keep_failed.days} days"
    if dry_run:
        found = count_expired(db.session, policy, utcnow())
        click.echo(f"would delete {found.done} done and {found.failed} failed events ({windows})")
        return
    pruned = prune(db.session, policy, utcnow())
    if pruned.skipped:
        raise click.ClickException("another process is pruning the inbox now; nothing deleted by this one")
    click.echo(f"deleted {pruned.done} done and {pruned.failed} failed events ({windows})")


@events_cli.command("reconcile")
@click.option("--portal", "member_id", required=True, help="The portal's member_id.")
@click.option(
    "--since", required=True, help="ISO 8601 time, e.g. 2026-11-24T10:00:00+00:00 (UTC if no offset)."
)
def reconcile_events(member_id: str, since: str) -> None:
    """Repair the mirror from the portal: upsert every activity changed since the given time."""
    portal = find(member_id)
    if portal is None:
        raise click.ClickException(f"no portal with member_id {member_id}")
    moment = _parse_since(since)
    try:
        repair = reconcile(db.session, client_for(portal), member_id, since=moment, now=datetime.now(UTC))
    except Bitrix24Error as error:
        db.session.rollback()
        raise click.ClickException(f"the portal refused: {error}") from None
    db.session.commit()
    click.echo(
        f"{repair.changed} activities changed since {moment.isoformat()}: "
        f"{repair.added} added, {repair.updated} updated"
    )


def _parse_since(raw: str) -> datetime:
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise click.BadParameter(f"{raw!r} is not an ISO 8601 time", param_hint="--since") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
