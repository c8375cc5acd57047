"""Worker heartbeats: each inbox worker process upserts its row as it loops; the health check reads them.

A worker whose row has not moved for ALIVE_FOR is taken for dead (killed, its dyno gone, never started);
when events are pending and no worker is alive, /healthz and the administrators' page say for how long
nothing has processed them.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from app.extensions import AnySession
from app.inbox.claims import PENDING
from app.models import InboxEvent, WorkerHeartbeat, utcnow

ALIVE_FOR = timedelta(seconds=60)  # a loop takes ~1 s idle; a batch waiting on the rate limit, seconds
BEAT_EVERY = timedelta(seconds=5)  # an idle worker writes its row this often, not every second
FORGET_AFTER = timedelta(days=1)  # rows of workers gone this long are deleted by the next worker


def worker_id() -> str:
    """host:pid:random: unique per process, readable in the table."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"


class Heartbeat:
    """One worker process's row: `beat` after every loop, `remove` when it stops cleanly."""

    def __init__(
        self,
        session: AnySession,
        *,
        clock: Callable[[], datetime] = utcnow,
        every: timedelta = BEAT_EVERY,
        name: str | None = None,
    ) -> None:
        self.session = session
        self.clock = clock
        self.every = every
        self.name = name or worker_id()
        self._last: datetime | None = None

    def beat(self, claimed: int) -> None:
        """Record that the loop ran (and claimed `claimed` events); idle beats are written every `every`."""
        now = self.clock()
        if not claimed and self._last is not None and now - self._last < self.every:
            return
        row = self.session.get(WorkerHeartbeat, self.name)
        if row is None:
            self.session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.beat_at < now - FORGET_AFTER))
            row = WorkerHeartbeat(worker_id=self.name, started_at=now, processed=0)
            self.session.add(row)
        row.beat_at = now
        if claimed:
            row.processed = (row.processed or 0) + claimed
            row.processed_at = now
        self.session.commit()
        self._last = now

    def remove(self) -> None:
        """A worker that stops cleanly is at once no longer counted as alive."""
        self.session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.worker_id == self.name))
        self.session.commit()


@dataclass(frozen=True)
class WorkerHealth:
    """Whether events wait with nobody to process them, and since when (whole minutes, at least 1)."""

    alive: int
    pending: int
    idle_minutes: int

    @property
    def stalled(self) -> bool:
        return self.pending > 0 and self.alive == 0


def alive_workers(session: AnySession, now: datetime) -> int:
    """Workers whose row moved within ALIVE_FOR."""
    query = (
        select(func.count()).select_from(WorkerHeartbeat).where(WorkerHeartbeat.beat_at >= now - ALIVE_FOR)
    )
    return int(session.scalar(query) or 0)


def worker_health(session: AnySession, now: datetime | None = None) -> WorkerHealth:
    """Live workers, pending events, and minutes since any worker last processed one (or the oldest waits)."""
    now = now or utcnow()
    alive = alive_workers(session, now)
    pending, oldest = session.execute(
        # literal: the partial index of pending rows, not a scan of every row ever received
        select(func.count(), func.min(InboxEvent.received_at)).where(InboxEvent.status == PENDING)
    ).one()
    last = session.scalar(select(func.max(WorkerHeartbeat.processed_at)))
    # Events that arrived after the last batch have waited since they arrived; older ones since that batch.
    since = max((t for t in (last, oldest) if t is not None), default=now)
    idle = max(1, int((now - since).total_seconds() // 60))
    return WorkerHealth(alive=alive, pending=int(pending or 0), idle_minutes=idle)
