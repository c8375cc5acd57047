"""Frame tokens the portal has not vouched for yet, throttled per portal and per client address (shared)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, Engine, Table, bindparam, case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.extensions import AnySession
from app.models import VerifyThrottle

TABLE: Table = VerifyThrottle.__table__  # type: ignore[assignment]
# A refused token costs a unit; a bucket drains from full to empty in WINDOW seconds, so PER_PORTAL refused
# tokens a minute may reach a portal (a sixth of a standard plan's 2 requests/s), PER_ADDRESS from one client.
# While a bucket is empty a token is sent after one read and counted only if refused (a person's open costs
# no write); once refusals are in the bucket, every token takes its unit before it is sent and gives it back
# if accepted, so requests in flight cannot overshoot the budget beyond those already in flight at the start.
# A picker's token, vouched for when its page opened, is refused in advance by its address's budget only
# (`count` adds its refusal to the portal's): a flood of made-up tokens stops new opens, not open pages.
WINDOW = 60.0
PER_PORTAL = 20
PER_ADDRESS = 5


class Throttled(Exception):
    """Too many unverified tokens came for this portal or from this address; `retry_after` seconds."""

    def __init__(self, scope: str, retry_after: int) -> None:
        super().__init__(f"{scope} throttled for {retry_after} s")
        self.scope = scope
        self.retry_after = retry_after


@dataclass(frozen=True)
class Budget:
    """One bucket: its row's key and how many unverified tokens it holds."""

    scope: str  # "portal" or "address"
    key: str
    limit: int

    @property
    def rate(self) -> float:
        return self.limit / WINDOW


def budgets(member_id: str, address: str) -> tuple[Budget, ...]:
    """The portal's bucket and the client address's bucket."""
    return (
        Budget("portal", f"portal:{member_id}"[:96], PER_PORTAL),
        Budget("address", f"address:{address}"[:96], PER_ADDRESS),
    )


@dataclass(frozen=True)
class Reservation:
    """One token on its way to the portal: `taken` when its units were taken before it was sent."""

    engine: Engine
    budgets: tuple[Budget, ...]
    clock: Callable[[], float]
    taken: bool

    def release(self) -> None:
        """The portal vouched for the token, or never judged it: give back what was taken."""
        if not self.taken:
            return
        now = self.clock()
        with self.engine.begin() as connection:
            for budget in self.budgets:
                level = _level(budget, now)
                connection.execute(
                    update(TABLE)
                    .where(TABLE.c.key == budget.key)
                    .values(level=case((level > 1, level - 1), else_=0.0), drained_at=now)
                )

    def keep(self) -> None:
        """The portal refused the token: it counts against every budget (already, if it was taken)."""
        if self.taken:
            return
        now = self.clock()
        with self.engine.begin() as connection:
            for budget in self.budgets:
                _take(connection, budget, now, capped=False)


def reserve(
    engine: Engine,
    wanted: tuple[Budget, ...],
    *,
    session: AnySession | None = None,
    clock: Callable[[], float] = time.time,
) -> Reservation:
    """Let a token go to the portal unless a budget is full (Throttled); take its units if any are in use.

    A refusal, and a person's open while all is quiet, only read: in `session` (the request's own, so no
    second connection) when given.
    """
    now = clock()
    levels = _levels(engine, session, wanted, now)
    for budget, level in zip(wanted, levels, strict=True):
        if level + 1 > budget.limit:
            raise Throttled(budget.scope, _retry_after(budget, level))
    if not any(levels):
        return Reservation(engine, wanted, clock, taken=False)
    with engine.begin() as connection:  # a Throttled raised inside rolls back the units already taken
        for budget in wanted:
            wait = _take(connection, budget, now, capped=True)
            if wait > 0:
                raise Throttled(budget.scope, max(1, math.ceil(wait)))
    return Reservation(engine, wanted, clock, taken=True)


def count(engine: Engine, refused: Sequence[Budget], *, clock: Callable[[], float] = time.time) -> None:
    """Count a refused token in budgets that were not asked before it was sent."""
    if refused:
        Reservation(engine, tuple(refused), clock, taken=False).keep()


# Every page open reads the budgets: the statement is built once (building it per call cost ~0.1 ms).
LEVELS = select(TABLE.c.key, TABLE.c.level, TABLE.c.drained_at).where(
    TABLE.c.key.in_(bindparam("keys", expanding=True))
)


def _levels(
    engine: Engine, session: AnySession | None, wanted: tuple[Budget, ...], now: float
) -> list[float]:
    """Every budget's level now (0.0 without a row), in one read."""
    keys = {"keys": [budget.key for budget in wanted]}
    if session is not None:
        rows = session.execute(LEVELS, keys).all()
    else:
        with engine.connect() as connection:
            rows = list(connection.execute(LEVELS, keys).all())
    found = {key: (level, drained_at) for key, level, drained_at in rows}
    return [_drained(budget, *found.get(budget.key, (0.0, now)), now) for budget in wanted]


def _drained(budget: Budget, level: float, drained_at: float, now: float) -> float:
    return max(0.0, level - (now - drained_at) * budget.rate)


def _retry_after(budget: Budget, level: float) -> int:
    return max(1, math.ceil((level + 1 - budget.limit) / budget.rate))


def _take(connection: Connection, budget: Budget, now: float, *, capped: bool) -> float:
    """Add a unit (0.0), else (`capped` and full) return how long until one is free; makes a missing row."""
    level = _level(budget, now)
    room = [level + 1 <= budget.limit] if capped else []
    taken = connection.execute(
        update(TABLE).where(TABLE.c.key == budget.key, *room).values(level=level + 1, drained_at=now)
    )
    if taken.rowcount == 1:
        return 0.0
    current = connection.execute(select(level).where(TABLE.c.key == budget.key)).scalar()
    if current is not None:
        return (current + 1 - budget.limit) / budget.rate
    _sweep(connection, now)
    insert = (postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert)(TABLE)
    connection.execute(insert.values(key=budget.key, level=0.0, drained_at=now).on_conflict_do_nothing())
    return _take(connection, budget, now, capped=capped)


def _level(budget: Budget, now: float) -> ColumnElement[float]:
    """The bucket's level at `now`, drained since it was last written, never below zero (SQL)."""
    drained = TABLE.c.level - (now - TABLE.c.drained_at) * budget.rate
    return case((drained > 0, drained), else_=0.0)


def _sweep(connection: Connection, now: float) -> None:
    """Rows idle for a whole window are empty: a new key (an address seen first) clears them out."""
    connection.execute(delete(TABLE).where(TABLE.c.drained_at < now - WINDOW))
