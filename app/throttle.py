"""Frame tokens the portal has not vouched for yet, throttled per portal and per client address (shared)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, Engine, Table, case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.models import VerifyThrottle

TABLE: Table = VerifyThrottle.__table__  # type: ignore[assignment]
# A token costs a unit before it is sent; one the portal accepts gives it back, one it refuses keeps it.
# A bucket drains from full to empty in WINDOW seconds: PER_PORTAL refused tokens a minute may reach a
# portal (a sixth of a standard plan's 2 requests/s), PER_ADDRESS from one client address.
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
    """Units taken from every budget for one token in flight."""

    engine: Engine
    budgets: tuple[Budget, ...]
    clock: Callable[[], float]

    def refund(self) -> None:
        """The portal vouched for the token, or never judged it: give the units back."""
        now = self.clock()
        with self.engine.begin() as connection:
            for budget in self.budgets:
                level = _level(budget, now)
                connection.execute(
                    update(TABLE)
                    .where(TABLE.c.key == budget.key)
                    .values(level=case((level > 1, level - 1), else_=0.0), drained_at=now)
                )


def reserve(
    engine: Engine, wanted: tuple[Budget, ...], *, clock: Callable[[], float] = time.time
) -> Reservation:
    """Take a unit from every budget before the token is sent; Throttled, taking none, if one is full."""
    now = clock()
    with engine.connect() as connection:  # a flood's refusals only read: no write lock, no fsync
        for budget in wanted:
            _refuse_if_full(connection, budget, now)
    with engine.begin() as connection:  # a Throttled raised inside rolls back the units already taken
        for budget in wanted:
            wait = _take(connection, budget, now)
            if wait > 0:
                raise Throttled(budget.scope, max(1, math.ceil(wait)))
    return Reservation(engine, wanted, clock)


def _refuse_if_full(connection: Connection, budget: Budget, now: float) -> None:
    """Throttled when the budget has no unit left (a read; the take below decides under the write)."""
    level = connection.execute(select(_level(budget, now)).where(TABLE.c.key == budget.key)).scalar()
    if level is not None and level + 1 > budget.limit:
        wait = (level + 1 - budget.limit) / budget.rate
        raise Throttled(budget.scope, max(1, math.ceil(wait)))


def _take(connection: Connection, budget: Budget, now: float) -> float:
    """Take a unit (0.0), else return how long until one is free; a missing row is made first."""
    level = _level(budget, now)
    taken = connection.execute(
        update(TABLE)
        .where(TABLE.c.key == budget.key, level + 1 <= budget.limit)
        .values(level=level + 1, drained_at=now)
    )
    if taken.rowcount == 1:
        return 0.0
    current = connection.execute(select(level).where(TABLE.c.key == budget.key)).scalar()
    if current is not None:
        return (current + 1 - budget.limit) / budget.rate
    _sweep(connection, now)
    insert = (postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert)(TABLE)
    connection.execute(insert.values(key=budget.key, level=0.0, drained_at=now).on_conflict_do_nothing())
    return _take(connection, budget, now)


def _level(budget: Budget, now: float) -> ColumnElement[float]:
    """The bucket's level at `now`, drained since it was last written, never below zero (SQL)."""
    drained = TABLE.c.level - (now - TABLE.c.drained_at) * budget.rate
    return case((drained > 0, drained), else_=0.0)


def _sweep(connection: Connection, now: float) -> None:
    """Rows idle for a whole window are empty: a new key (an address seen first) clears them out."""
    connection.execute(delete(TABLE).where(TABLE.c.drained_at < now - WINDOW))
