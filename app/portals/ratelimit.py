"""A per-portal request-rate bucket in the database, shared by every process; people wait a bounded time."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Float, Select, Table, Update, bindparam, case, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.bitrix24.errors import PortalBusy
from app.extensions import AnySession
from app.models import Portal, RateLimitBucket

# notes §5.6: enterprise plans drain 5/s with a bucket of 250, the others 2/s with 50.
PLANS = {"ent": (5.0, 250)}
BUCKETS: Table = RateLimitBucket.__table__  # type: ignore[assignment]
DEFAULT_PLAN = (2.0, 50)
# The longest a person's request waits for a slot: a thread held longer is a thread another portal's
# pages (and /healthz) cannot have, so past it the page says "busy, try again in N s" instead. A portal's own
# 503 marks its bucket full, and the people who arrive together then queue at its drain rate (2/s on standard
# plans): 5 s lets ten of them through before anyone is told to come back (2 s told the fifth, in the drill).
INTERACTIVE_WAIT = 5.0


@dataclass(frozen=True)
class Limits:
    rate: float  # requests drained per second
    burst: int  # bucket size

    @property
    def usable(self) -> int:
        """The part of the bucket we fill: requests taken in order can arrive bunched (network, scheduling),
        and at a full bucket any bunching is a 503, so a tenth (at least one slot) stays free as headroom."""
        return max(1, self.burst - max(1, self.burst // 10))

    @property
    def background(self) -> int:
        """What calls nobody is waiting on (the worker, cron) may fill: a fifth more stays for people,
        so a page opened while the worker drains a backlog finds a slot instead of a queue."""
        return max(1, self.usable - max(1, self.burst // 5))

    def wait(self, level: float, drained_at: float, now: float, ceiling: int) -> float:
        """Seconds until a bucket at `level` (as of `drained_at`) has room for one call under `ceiling`."""
        level_now = max(level - (now - drained_at) * self.rate, 0.0)
        return max((level_now + 1 - ceiling) / self.rate, 0.0)


def limits_for(license_family: str | None, *, rate: float | None = None, burst: int | None = None) -> Limits:
    """A portal's limits from its plan, with per-portal overrides."""
    plan_rate, plan_burst = PLANS.get(license_family or "", DEFAULT_PLAN)
    return Limits(rate or plan_rate, burst or plan_burst)


def _statements() -> tuple[Update, Select[Any]]:
    """The limiter's two statements, built once: building them per call cost a page open ~0.35 ms of CPU."""
    bucket, now, drain = BUCKETS.c, bindparam("now", type_=Float), bindparam("drain", type_=Float)
    drained = bucket.level - (now - bucket.drained_at) * drain
    level_now = case((drained > 0, drained), else_=0.0)
    mine = bucket.portal_id == bindparam("portal")
    take = (
        update(BUCKETS)
        .where(mine, level_now + 1 <= bindparam("ceiling"))
        .values(level=level_now + 1, drained_at=case((bucket.drained_at > now, bucket.drained_at), else_=now))
    )
    return take, select(level_now).where(mine)


# TAKE: one conditional UPDATE drains the bucket to `now` and takes a slot under `ceiling`, atomically.
# LEVEL: the drained level, read when TAKE found no room.
TAKE, LEVEL = _statements()


class DatabaseRateLimiter:
    """A leaky bucket whose level lives in `rate_limits`; one conditional UPDATE takes a slot atomically."""

    def __init__(
        self,
        engine: Engine,
        portal_id: int,
        limits: Limits,
        *,
        ceiling: int | None = None,
        max_wait: float | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        row_exists: bool = False,
    ) -> None:
        self.engine = engine
        self.portal_id = portal_id
        self.limits = limits
        self.ceiling = ceiling or limits.usable  # how full this caller may make the bucket
        self.max_wait = max_wait  # None: wait as long as it takes (nobody is waiting on the call)
        self.clock = clock
        self.sleep = sleep
        self._row_exists = row_exists  # the caller read the row: acquire need not look for it

    def acquire(self) -> None:
        """Wait until the bucket has room for one request, then take it; PortalBusy past `max_wait`."""
        self._ensure_row()
        started = self.clock()
        while True:
            now = self.clock()
            wait = self._try_take(now)
            if wait <= 0:
                return
            if self.max_wait is not None and now - started + wait > self.max_wait:
                raise PortalBusy(max(1, math.ceil(wait)))
            self.sleep(wait)

    def overflowed(self) -> None:
        """The portal said 503 anyway (another app on the same IP?): treat the bucket as full."""
        with self.engine.begin() as connection:
            connection.execute(
                update(RateLimitBucket)
                .where(RateLimitBucket.portal_id == self.portal_id)
                .values(level=float(self.limits.usable), drained_at=self.clock())
            )

    def _try_take(self, now: float) -> float:
        """Take a slot if there is one (0.0), else return how long until there will be."""
        values = {"now": now, "drain": self.limits.rate, "portal": self.portal_id, "ceiling": self.ceiling}
        with self.engine.begin() as connection:
            if connection.execute(TAKE, values).rowcount == 1:
                return 0.0
            level = connection.execute(LEVEL, values).scalar_one()
        return max((level + 1 - self.ceiling) / self.limits.rate, 0.005)

    def _ensure_row(self) -> None:
        """Create the portal's bucket row once; later calls of this limiter skip the check."""
        if self._row_exists:
            return
        with self.engine.begin() as connection:
            exists = connection.execute(
                select(RateLimitBucket.portal_id).where(RateLimitBucket.portal_id == self.portal_id)
            ).first()
        if not exists:
            try:
                with self.engine.begin() as connection:
                    connection.execute(
                        insert(RateLimitBucket).values(portal_id=self.portal_id, level=0.0, drained_at=0.0)
                    )
            except IntegrityError:
                pass  # another process created it first
        self._row_exists = True


def ready_in(session: AnySession, member_ids: Sequence[str], now: float) -> dict[str, float]:
    """Read-only: seconds until each portal's bucket has room for one background call (0.0: room now).

    Portals without a bucket row yet are absent (nothing called them: room now).
    """
    if not member_ids:
        return {}
    bucket = BUCKETS.c
    rows = session.execute(
        select(
            Portal.member_id,
            Portal.license_family,
            bucket.level,
            bucket.drained_at,
            bucket.rate,
            bucket.burst,
        )
        .join(RateLimitBucket, bucket.portal_id == Portal.id)
        .where(Portal.member_id.in_(list(member_ids)))
    )
    waits = {}
    for member_id, family, level, drained_at, rate, burst in rows:
        limits = limits_for(family, rate=rate, burst=burst)
        waits[member_id] = limits.wait(level, drained_at, now, limits.background)
    return waits


def limiter_for(engine: Engine, portal: Portal, *, interactive: bool) -> DatabaseRateLimiter:
    """The shared limiter of a portal, sized by its plan and overrides; people may fill more of it."""
    override = portal.rate_limit
    limits = limits_for(
        portal.license_family,
        rate=override.rate if override else None,
        burst=override.burst if override else None,
    )
    return DatabaseRateLimiter(
        engine,
        portal.id,
        limits,
        ceiling=limits.usable if interactive else limits.background,
        max_wait=INTERACTIVE_WAIT if interactive else None,
        row_exists=override is not None,  # rows go only with their portal (ON DELETE CASCADE)
    )
