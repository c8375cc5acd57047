"""The backstop: changes no online event brought in (the app or its database was down) are caught up here.

Where the portal's plan has the offline queue's reserve mode (`feature.get rest_offline_extended`), the
activity events are also bound offline (app.portals.registration), and the worker drains the queue when
ONOFFLINEEVENT wakes it and on a timer: `event.offline.get clear=0` reserves a batch under a process_id,
each record becomes an inbox row (the same idempotent mirror path as online events; its dedup key is the
record's ID and TIMESTAMP_X, so a record read twice is stored once), the rows are committed, and only then is
the batch cleared (`event.offline.clear`) — a record the app cannot apply is marked `event.offline.error`.
A crash between reserving and clearing leaves the batch reserved under its process_id; the timer lists
reserved records (`event.offline.list`) and takes them again, which the dedup key makes harmless. A change
made while a record is reserved is a new record (the platform's merge key includes PROCESS_ID), so clearing
a batch never drops it.

Where the plan lacks it, the backstop is the periodic reconcile (`>LAST_UPDATED`, app.inbox.mirror.reconcile),
which cannot see deletions. Each portal's mode is kept on its row (`backstop`) and shown on the health view.
Vendor pages: api-reference/events/offline-events.md, event-offline-get/-clear/-error/-list.md,
on-offline-event.md, common/system/feature-get.md.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from app.bitrix24.client import Client
from app.bitrix24.errors import Bitrix24Error
from app.extensions import db
from app.inbox.mirror import dialect_insert, reconcile
from app.inbox.queue import INBOX, entity_id
from app.models import SERVED, InboxStatus, Portal, utcnow
from app.portals.plan import EVENTS, RECONCILE, choose, features

log = logging.getLogger(__name__)
WAKE_EVENT = "ONOFFLINEEVENT"
PAGE = 50  # event.offline.get's default limit
FEATURES_TTL = timedelta(hours=6)  # a plan can change; ask again this often
RECONCILE_OVERLAP = timedelta(minutes=2)  # LAST_UPDATED has second resolution and clocks differ
FIRST_RECONCILE = timedelta(hours=1)  # how far back the first reconcile of a portal reads
RECOVER_EVERY = 5  # timer rounds between two looks for batches left reserved (one event.offline.list each)
Connect = Callable[[Portal], Client]


@dataclass
class Drained:
    """What one drain of a portal did."""

    mode: str
    stored: int = 0  # records that became inbox rows (not already there)
    taken: int = 0  # records read from the queue
    errors: int = 0  # records marked with event.offline.error
    recovered: int = 0  # reserved batches taken again after a lost answer or a crash
    reconciled: int = 0  # activities read by the reconcile (reconcile mode)


def ensure_mode(portal: Portal, client: Client, *, now: datetime) -> str:
    """The portal's backstop mode, asking the portal again when it was never asked or FEATURES_TTL ago."""
    checked = portal.backstop_checked_at
    if portal.backstop is None or checked is None or now - checked >= FEATURES_TTL:
        portal.backstop, portal.offline_connector = choose(*features(client))
        portal.backstop_checked_at = now
        db.session.commit()
    client.auth_connector = portal.offline_connector or ""
    return portal.backstop or RECONCILE


def drain(portal: Portal, client: Client, *, now: datetime, recover: bool = False) -> Drained:
    """Catch one portal up by its mode; `recover` also retakes batches left reserved (the timer does)."""
    mode = ensure_mode(portal, client, now=now)
    if mode == RECONCILE:
        return Drained(mode, reconciled=_reconcile(portal, client, now=now))
    done = Drained(mode)
    if recover:
        for process_id in reserved_processes(client):
            done.recovered += 1
            _take(portal, client, process_id, done)
    while _take(portal, client, None, done) == PAGE:
        pass
    portal.backstop_ran_at = now
    db.session.commit()
    return done


def reserved_processes(client: Client) -> list[str]:
    """process_ids that still hold records (event-offline-list.md: PROCESS_ID is listed and filterable)."""
    rows = client.call("event.offline.list", {"filter": {"!PROCESS_ID": ""}, "order": {"ID": "ASC"}})
    seen: dict[str, None] = {}
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, dict) and row.get("PROCESS_ID"):
            seen[str(row["PROCESS_ID"])] = None
    return list(seen)


def _take(portal: Portal, client: Client, process_id: str | None, done: Drained) -> int:
    """Reserve (or re-read) one batch, store it in the inbox, commit, then clear it; return its size."""
    params: dict[str, Any] = {"clear": 0, "limit": PAGE}
    if process_id is not None:
        params["process_id"] = process_id
    answer = client.call("event.offline.get", params)
    events = (
        [e for e in answer.get("events") or [] if isinstance(e, dict)] if isinstance(answer, dict) else []
    )
    process_id = str(answer.get("process_id") or process_id or "") if isinstance(answer, dict) else ""
    if not events or not process_id:
        return 0
    rows: list[dict[str, Any]] = []
    bad: list[dict[str, Any]] = []
    for record in events:
        row = inbox_row(portal.member_id, record, utcnow())
        if row is None:
            bad.append(record)
        else:
            rows.append(row)
    done.taken += len(events)
    done.stored += store(rows)
    db.session.commit()  # only committed records are cleared: nothing is lost between the two
    if bad:
        ids = [str(r.get("MESSAGE_ID", "")) for r in bad]
        client.call("event.offline.error", {"process_id": process_id, "message_id": ids})
        done.errors += len(bad)
        log.warning(
            "member_id=%s: %d offline records name no activity; marked as errors", portal.member_id, len(bad)
        )
    client.call("event.offline.clear", {"process_id": process_id})
    return len(events)


def inbox_row(member_id: str, record: dict[str, Any], now: datetime) -> dict[str, Any] | None:
    """An offline record as an inbox row, or None when it is not an activity event naming an activity."""
    name = str(record.get("EVENT_NAME", "")).upper()
    payload = {
        "event": name,
        "data": record.get("EVENT_DATA") if isinstance(record.get("EVENT_DATA"), dict) else {},
        "ts": str(record.get("TIMESTAMP_X", "")),
        "offline": {key: record.get(key) for key in ("ID", "MESSAGE_ID", "TIMESTAMP_X")},
        "auth": {"member_id": member_id, **_user(record.get("EVENT_ADDITIONAL"))},
    }
    if name not in EVENTS or entity_id(payload) is None:
        return None
    return {
        "dedup_key": dedup_key(member_id, record),
        "event": name,
        "member_id": member_id,
        "payload": payload,
        "status": InboxStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "received_at": now,
    }


def dedup_key(member_id: str, record: dict[str, Any]) -> str:
    """sha256 of (member_id, "offline", record ID, TIMESTAMP_X): one change of one record, however often read.

    A later change of the same activity updates the record's TIMESTAMP_X (or makes a new record, if the old
    one is reserved), so it gets a new key: a change is never folded into one already stored.
    """
    parts = [member_id, "offline", str(record.get("ID", "")), str(record.get("TIMESTAMP_X", ""))]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def _user(additional: Any) -> dict[str, Any]:
    """event.offline.get's EVENT_ADDITIONAL is {"user_id": …} for a user's change."""
    return (
        {"user_id": additional["user_id"]} if isinstance(additional, dict) and "user_id" in additional else {}
    )


def store(rows: list[dict[str, Any]]) -> int:
    """Insert the rows the inbox does not hold yet; return how many were new. The caller commits."""
    if not rows:
        return 0
    statement = dialect_insert(db.session, INBOX).values(rows)
    inserted = db.session.execute(
        statement.on_conflict_do_nothing(index_elements=["dedup_key"]).returning(INBOX.c.id)
    )
    return len(inserted.all())


def _reconcile(portal: Portal, client: Client, *, now: datetime) -> int:
    """Reconcile mode: read what changed since the last run (less an overlap); deletions stay unseen."""
    since = (portal.backstop_ran_at or now - FIRST_RECONCILE) - RECONCILE_OVERLAP
    repair = reconcile(db.session, client, portal.member_id, since=since, now=now)
    portal.backstop_ran_at = now
    db.session.commit()
    return repair.changed


class Backstop:
    """Runs drains for the worker: woken portals at once, every active portal each `every`."""

    def __init__(self, connect: Connect, *, every: timedelta, clock: Callable[[], datetime] = utcnow) -> None:
        self.connect = connect
        self.every = every
        self.clock = clock
        self.woken: set[str] = set()
        self.last_round: datetime | None = None
        self.rounds = 0  # timer rounds so far

    def wake(self, member_id: str) -> None:
        """ONOFFLINEEVENT: the portal's queue has records."""
        self.woken.add(member_id)

    def run_due(self) -> list[Drained]:
        """Drain what is due: every active portal on the timer (with recovery), else the woken ones."""
        now = self.clock()
        timed = self.last_round is None or now - self.last_round >= self.every
        if timed:
            self.last_round = now
            members = list(db.session.scalars(select(Portal.member_id).where(Portal.state.in_(SERVED))))
        else:
            members = sorted(self.woken)
        self.woken.clear()
        return [d for d in (self._one(m, now, recover=timed) for m in members) if d is not None]

    def _one(self, member_id: str, now: datetime, *, recover: bool) -> Drained | None:
        """Drain one portal; a portal error is logged and left to the next round (nothing was cleared)."""
        portal = db.session.scalar(select(Portal).where(Portal.member_id == member_id))
        if portal is None or portal.state not in SERVED:
            return None
        try:
            return drain(portal, self.connect(portal), now=now, recover=recover)
        except Bitrix24Error as error:
            db.session.rollback()
            log.warning("member_id=%s: backstop not run: %s", member_id, error)
        except (KeyError, TypeError, ValueError, AttributeError):  # odd data must not stop the worker
            db.session.rollback()
            log.exception("member_id=%s: backstop failed unexpectedly; left to the next round", member_id)
        return None
