"""The inbox worker: claim due events, fetch their activities in batches of 50, update the mirror.

ADD, UPDATE and DELETE events of one portal are answered by one `batch` request of up to 50
`crm.activity.get` (several events of one activity share one get). A DELETE is asked too, since anyone holding
the application_token can send one: only an activity the portal no longer has settles its events and marks
the mirror row deleted. Any other failure goes back to the inbox with
backoff, and is parked as failed after the last attempt. Effects and settlement commit together. Then the
portal's enrichment rules set their blocks on what was read, in one more `batch` (app.inbox.enrichment); their
failures are recorded on the rules, not retried from the inbox.

Clicks on the app's configurable-activity buttons (ONCRMTIMELINEITEMACTION) are carried out one by one by
app.inbox.item_actions, each as its clicking user (their own token from the event), each settled (or failed)
on its own right after its portal calls.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from app import metrics
from app.bitrix24 import activities
from app.bitrix24.client import Client
from app.bitrix24.errors import Bitrix24Error, NotFound, OperationTimeLimit
from app.bitrix24.retry import RetryPolicy
from app.extensions import db
from app.inbox import enrichment, item_actions
from app.inbox.heartbeat import Heartbeat
from app.inbox.mirror import mark_deleted, upsert
from app.inbox.offline import WAKE_EVENT, Backstop
from app.inbox.queue import Claim, ClaimedEvent, Inbox
from app.inbox.retention import Pruner
from app.models import Portal
from app.portals.connections import client_for, user_client
from app.portals.store import current_vault, find
from app.portals.uninstalls import Confirmer
from app.portals.vault import UndecryptableSecret

log = logging.getLogger(__name__)
DELETED = "ONCRMACTIVITYDELETE"
# Events whose activity is read from the portal; a deletion too: its sender proves only the application_token.
FETCHED = frozenset({"ONCRMACTIVITYADD", "ONCRMACTIVITYUPDATE", DELETED})
CLICKED = item_actions.EVENT
# A 429 waits in the inbox (retry_at = operating_reset_at), not in a worker holding a lease.
WORKER_RETRY = RetryPolicy(max_reset_wait=0.0)
LEASE_MARGIN = timedelta(seconds=5)  # apply only with this much of the lease left (a commit takes ms)
Connect = Callable[[Portal], Client]
ConnectUser = Callable[[Portal, str], Client]


def clicker_client(portal: Portal, access_token: str) -> Client:
    """A client acting as a clicking user with their own token, with the worker's retries."""
    return _for_the_worker(portal, user_client(portal, access_token, interactive=False))


def worker_client(portal: Portal) -> Client:
    """The portal's app client, with retries fit for a lease-holding worker."""
    return _for_the_worker(portal, client_for(portal))


def _for_the_worker(portal: Portal, client: Client) -> Client:
    """The worker's retries (a 429 waits in the inbox), and its writes kept out of its own offline queue."""
    client.retry = replace(WORKER_RETRY)
    client.auth_connector = portal.offline_connector or ""
    return client


@dataclass
class BatchReport:
    """What one claim became: the ids claimed, settled and failed."""

    claimed: list[int] = field(default_factory=list)
    settled: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    wait: float | None = None  # seconds until a portal skipped for its full bucket has room again


class Worker:
    """Drains the inbox; `stop()` (SIGTERM) ends the loop after the batch in hand."""

    def __init__(
        self,
        inbox: Inbox,
        *,
        connect: Connect = worker_client,
        batch_size: int = 50,
        idle_wait: float = 1.0,
        on_batch: Callable[[BatchReport], None] | None = None,
        backstop: Backstop | None = None,
        heartbeat: Heartbeat | None = None,
        uninstalls: Confirmer | None = None,
        connect_user: ConnectUser = clicker_client,
        pruner: Pruner | None = None,
    ) -> None:
        self.connect_user = connect_user
        self.pruner = pruner
        self.inbox = inbox
        self.uninstalls = uninstalls
        self.backstop = backstop
        self.heartbeat = heartbeat
        self.connect = connect
        self.batch_size = batch_size
        self.idle_wait = idle_wait
        self.on_batch = on_batch
        self._stopping = threading.Event()

    def stop(self) -> None:
        """Finish the current batch, then return from `run`."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def run(self, *, once: bool = False, max_batches: int | None = None) -> int:
        """Process batches until stopped (or, with `once`, until nothing is due); return the batch count."""
        batches = 0
        while not self.stopping and (max_batches is None or batches < max_batches):
            report = self.run_batch()
            if self.heartbeat is not None:
                self.heartbeat.beat(len(report.claimed))
            if self.backstop is not None:
                self.backstop.run_due()  # its records land in the inbox, so the next batch takes them
            self._duties()
            if report.claimed:
                batches += 1
                continue
            if once and report.wait is None:
                break
            # Due work held back by a full bucket comes ready sooner than the idle poll: keep its pace.
            self._stopping.wait(min(self.idle_wait, report.wait or self.idle_wait))
        return batches

    def _duties(self) -> None:
        """The worker's periodic duties, each when due; a failure is logged and waits a round."""
        # Settle ONAPPUNINSTALLs with the platform (portals.uninstalls); delete inbox rows past their
        # retention window (inbox.retention).
        duties = {"confirming uninstalls": self.uninstalls, "inbox retention": self.pruner}
        for name, duty in duties.items():
            if duty is None:
                continue
            try:
                duty.run_due(db.session)
            except Exception:  # an odd answer must not stop the inbox
                db.session.rollback()
                log.exception("%s failed; tried again next round", name)

    def run_batch(self) -> BatchReport:
        """Claim one batch and process it: every portal's clicks first, then each portal's turn."""
        claim = self.inbox.claim_batch(self.batch_size)
        report = BatchReport(claimed=[event.id for event in claim.events], wait=claim.wait)
        clicks = [e for e in claim.events if e.event == CLICKED]
        for member_id, events in _by_portal(clicks).items():
            self._process_portal(claim, member_id, events, report)
        for member_id, events in _by_portal([e for e in claim.events if e.event != CLICKED]).items():
            self._process_portal(claim, member_id, events, report)
        if claim.events and self.on_batch is not None:
            self.on_batch(report)
        return report

    def _process_portal(
        self, claim: Claim, member_id: str, events: list[ClaimedEvent], report: BatchReport
    ) -> None:
        """No-op events first (no portal call), then button clicks, then one batch fetch."""
        started = time.perf_counter()
        try:
            fetch = self._settle_local(claim, member_id, events, report)
            clicks = [e for e in events if e.event == CLICKED]
            if clicks:
                self._carry_out(claim, member_id, clicks, report)
            if fetch:
                self._fetch_and_settle(claim, member_id, fetch, report)
        except Exception as error:  # a bug or odd data must not stop the other portals' events
            db.session.rollback()
            log.exception("member_id=%s: batch failed unexpectedly", member_id)
            unsettled = [e for e in events if e.id not in report.settled and e.id not in report.failed]
            self._failed(claim, unsettled, f"unexpected error: {type(error).__name__}: {error}", report)
            db.session.commit()
        finally:
            metrics.APPLY_SECONDS.observe(time.perf_counter() - started)

    def _settle_local(
        self, claim: Claim, member_id: str, events: list[ClaimedEvent], report: BatchReport
    ) -> list[ClaimedEvent]:
        """Apply what needs no portal call; return the events whose activity must be fetched."""
        fetch = [e for e in events if e.event in FETCHED and e.activity_id is not None]
        nameless = [e for e in events if e.event in FETCHED and e.activity_id is None]
        others = [e for e in events if e.event not in FETCHED | {CLICKED}]
        if self.backstop is not None and any(e.event == WAKE_EVENT for e in others):
            self.backstop.wake(member_id)
        self._settled(claim, others, report, note=None)
        self._failed(claim, nameless, "the event names no activity id", report, permanent=True)
        db.session.commit()
        return fetch

    def _fetch_and_settle(
        self, claim: Claim, member_id: str, events: list[ClaimedEvent], report: BatchReport
    ) -> None:
        try:
            client = self._connect(member_id)
            results = self._fetch(client, events)
        except Bitrix24Error as error:
            db.session.rollback()
            self._failed(claim, events, str(error), report, retry_at=_reset_at(error))
            db.session.commit()
            return
        if self._lease_lapsing(claim):
            log.warning(
                "member_id=%s: the lease on %d events ran out while the portal was called; "
                "left to the next claim, nothing applied",
                member_id,
                len(events),
            )
            return
        self._apply(claim, member_id, events, results, report)
        db.session.commit()
        self._enrich(client, member_id, results)

    def _lease_lapsing(self, claim: Claim) -> bool:
        """Whether the claim's lease is over (or nearly): another worker may hold these events by now.

        The settle is fenced by the lease, but the mirror writes and the enrichment beside it are not:
        applied after the lease, they would be a second processing of events another claim also processes
        (the limiter can hold a call for longer than a short lease).
        """
        margin = min(LEASE_MARGIN, self.inbox.lease / 10)
        return self.inbox.clock() >= claim.lease_until - margin

    def _carry_out(
        self, claim: Claim, member_id: str, events: list[ClaimedEvent], report: BatchReport
    ) -> None:
        """Carry out button clicks as their clicking users, one at a time; each settles or fails at once."""
        portal = find(member_id)
        if portal is None:
            self._failed(claim, events, f"no installed portal {member_id}", report)
            db.session.commit()
            return
        for event in events:
            db.session.rollback()  # hold no transaction while the portal is called
            try:
                client = self._clicker(portal, event)
                outcome = item_actions.carry_out(client, event.payload, now=self.inbox.clock())
            except Bitrix24Error as error:
                self._failed(claim, [event], str(error), report, retry_at=_reset_at(error))
            else:
                if outcome.settled:
                    self._settled(claim, [event], report, note=outcome.note)
                else:
                    self._failed(claim, [event], outcome.note or "refused", report, permanent=True)
            db.session.commit()

    def _clicker(self, portal: Portal, event: ClaimedEvent) -> Client | None:
        """A client acting with the click's own user token (sealed in the inbox row), or None without one."""
        if not event.user_token_enc:
            return None
        try:
            token = current_vault().decrypt(
                event.user_token_enc, member_id=portal.member_id, field="user_token"
            )
        except UndecryptableSecret:
            log.warning("member_id=%s: a click's user token cannot be decrypted; dropped", portal.member_id)
            return None
        return self.connect_user(portal, token)

    def _connect(self, member_id: str) -> Client:
        portal = find(member_id)
        if portal is None:
            raise Bitrix24Error("PORTAL_NOT_FOUND", f"no installed portal {member_id}")
        return self.connect(portal)

    def _fetch(self, client: Client, events: list[ClaimedEvent]) -> dict[int, Any]:
        """One `batch` request per 50 distinct activities; per-activity results or typed errors."""
        db.session.rollback()  # hold no transaction while the portal is called
        ids = sorted({e.activity_id for e in events if e.activity_id is not None})
        answers = client.run_batch({str(i): activities.get(i) for i in ids})
        return {int(key): value for key, value in answers.items()}

    def _enrich(self, client: Client, member_id: str, results: dict[int, Any]) -> None:
        """Set the matching rules' blocks on what was read: one batch, outcomes recorded, never retried."""
        fetched = [r for r in results.values() if isinstance(r, activities.Activity)]
        planned = enrichment.plan(db.session, member_id, fetched)
        db.session.commit()  # keeps the invalid-template records; no transaction while the portal is called
        if not planned:
            return
        answers = enrichment.send(client, planned)
        outcome = enrichment.record(db.session, member_id, planned, answers)
        db.session.commit()
        log.info(
            "member_id=%s: blocks set on %d activities, %d unsuitable, %d failed",
            member_id,
            len(outcome.applied),
            len(outcome.unsuitable),
            len(outcome.failed),
        )

    def _apply(
        self,
        claim: Claim,
        member_id: str,
        events: list[ClaimedEvent],
        results: dict[int, Any],
        report: BatchReport,
    ) -> None:
        """Upsert what was read, mark what is gone, and settle or fail each event accordingly."""
        seen_at = self.inbox.clock()
        for activity in results.values():
            if isinstance(activity, activities.Activity):
                upsert(db.session, member_id, activity, seen_at=seen_at)
        gone = [i for i, r in results.items() if isinstance(r, NotFound)]
        mark_deleted(db.session, member_id, gone, seen_at=seen_at)
        done = [e for e in events if isinstance(results.get(e.activity_id or 0), activities.Activity)]
        missing = [e for e in events if e.activity_id in gone]
        self._settled(claim, missing, report, note="activity not found")
        self._settled(claim, done, report, note=None)
        for event in (e for e in events if e not in done and e not in missing):
            error = results.get(event.activity_id or 0, Bitrix24Error("NO_RESULT", "the batch had no answer"))
            self._failed(claim, [event], str(error), report)

    def _settled(
        self, claim: Claim, events: list[ClaimedEvent], report: BatchReport, *, note: str | None
    ) -> None:
        owned = self.inbox.settle(claim, [e.id for e in events], note=note)
        report.settled.extend(e.id for e in events)
        if owned < len(events):
            log.warning("%d events were claimed again by another worker before settling", len(events) - owned)

    def _failed(
        self,
        claim: Claim,
        events: list[ClaimedEvent],
        error: str,
        report: BatchReport,
        *,
        retry_at: datetime | None = None,
        permanent: bool = False,
    ) -> None:
        if not events:
            return
        log.warning("%d events failed: %s", len(events), error)
        self.inbox.fail(claim, events, error, retry_at=retry_at, permanent=permanent)
        report.failed.extend(e.id for e in events)


def _by_portal(events: list[ClaimedEvent]) -> dict[str, list[ClaimedEvent]]:
    """The events grouped by portal, in the claim's order (app.inbox.claims puts the portals in turn)."""
    grouped: dict[str, list[ClaimedEvent]] = defaultdict(list)
    for event in events:
        grouped[event.member_id].append(event)
    return grouped


def _reset_at(error: Bitrix24Error) -> datetime | None:
    """When a 429 lifts, so the events wait for it in the inbox."""
    if isinstance(error, OperationTimeLimit) and error.reset_at:
        return datetime.fromtimestamp(error.reset_at, UTC)
    return None
