"""The inbox as /metrics and the main page read it: pending and failed rows only, never the history.

Every query here names its status literally, so the database reads a partial index (app.models: pending rows
by portal, failed rows by portal) that holds only the rows in that state; done rows, which grow with every
event ever processed, are never touched. Totals of processed and failed events are registry counters
(app.metrics), and a portal's processed count is its row in `inbox_tallies` (app.inbox.queue keeps it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import BindParameter, bindparam, func, select

from app.extensions import AnySession
from app.inbox.claims import PENDING
from app.inbox.heartbeat import alive_workers
from app.models import InboxEvent, InboxStatus

# The per-portal backlog gauges name the busiest portals only (by pending rows): bounded label values
# however many portals a deployment serves. The rest are one series, member_id="other".
TOP_PORTALS = 10
OTHER_PORTALS = "other"
FAILED: BindParameter[str] = bindparam("failed", InboxStatus.FAILED.value, literal_execute=True)


@dataclass(frozen=True)
class PortalBacklog:
    """One portal's pending inbox rows and the age of its oldest, in seconds."""

    member_id: str
    pending: int
    lag_seconds: float


@dataclass(frozen=True)
class InboxFigures:
    pending: int
    lag_seconds: float
    failed: int = 0  # rows parked as failed now (waiting for a fix and `events replay`)
    workers_alive: int = 0  # inbox workers whose heartbeat moved within app.inbox.heartbeat.ALIVE_FOR
    # The TOP_PORTALS busiest portals, then the rest folded into one (OTHER_PORTALS): what the gauges show.
    portals: list[PortalBacklog] = field(default_factory=list)
    portals_pending: int = 0  # how many portals have pending rows


def portal_backlogs(
    session: AnySession, now: datetime, *, member_id: str | None = None
) -> list[PortalBacklog]:
    """Each portal's (or one portal's) pending rows and oldest pending age, busiest first."""
    query = (
        select(InboxEvent.member_id, func.count(), func.min(InboxEvent.received_at))
        .where(InboxEvent.status == PENDING)  # literal: SQLite reads the partial index of pending rows
        .group_by(InboxEvent.member_id)
    )
    if member_id is not None:
        query = query.where(InboxEvent.member_id == member_id)
    rows = session.execute(query).all()
    backlogs = [PortalBacklog(m, int(n), max((now - oldest).total_seconds(), 0.0)) for m, n, oldest in rows]
    return sorted(backlogs, key=lambda b: (-b.pending, -b.lag_seconds, b.member_id))


def failed_rows(session: AnySession, *, member_id: str | None = None) -> int:
    """Rows parked as failed (of one portal), counted in the partial index of failed rows."""
    query = select(func.count()).select_from(InboxEvent).where(InboxEvent.status == FAILED)
    if member_id is not None:
        query = query.where(InboxEvent.member_id == member_id)
    return int(session.scalar(query) or 0)


def inbox_figures(session: AnySession, now: datetime) -> InboxFigures:
    """Pending rows and the oldest one's age (in all and for the busiest portals), parked failures, workers.

    Aggregated in the database: however many portals have pending rows, a scrape reads back a few rows.
    """
    top, portals, pending, oldest = _busiest_portals(session, now)
    rest = _rest(session, now, top, pending)
    lag = _age(now, oldest)
    return InboxFigures(
        pending, lag, failed_rows(session), alive_workers(session, now), [*top, *rest], portals
    )


def _busiest_portals(
    session: AnySession, now: datetime
) -> tuple[list[PortalBacklog], int, int, datetime | None]:
    """The TOP_PORTALS portals with most pending rows (the oldest first among equals), busiest first; and,
    from the same one pass over the partial index (window totals over the groups), how many portals have
    pending rows, how many rows in all, and the oldest one's time."""
    grouped = (
        select(
            InboxEvent.member_id,
            func.count().label("n"),
            func.min(InboxEvent.received_at).label("oldest"),
        )
        .where(InboxEvent.status == PENDING)
        .group_by(InboxEvent.member_id)
        .subquery()
    )
    g = grouped.c
    query = (
        select(
            g.member_id, g.n, g.oldest, func.count().over(), func.sum(g.n).over(), func.min(g.oldest).over()
        )
        .order_by(g.n.desc(), g.oldest, g.member_id)
        .limit(TOP_PORTALS)
    )
    rows = session.execute(query).all()
    if not rows:
        return [], 0, 0, None
    top = [PortalBacklog(m, int(n), _age(now, at)) for m, n, at, *_ in rows]
    return top, int(rows[0][3]), int(rows[0][4]), rows[0][5]


def _rest(session: AnySession, now: datetime, top: list[PortalBacklog], pending: int) -> list[PortalBacklog]:
    """The portals past the busiest folded into one (their sum, their oldest age); none if there are none."""
    rest = pending - sum(b.pending for b in top)
    if rest <= 0:
        return []
    oldest = session.scalar(
        select(func.min(InboxEvent.received_at)).where(
            InboxEvent.status == PENDING, InboxEvent.member_id.not_in([b.member_id for b in top])
        )
    )
    return [PortalBacklog(OTHER_PORTALS, rest, _age(now, oldest))]


def _age(now: datetime, at: datetime | None) -> float:
    return max((now - at).total_seconds(), 0.0) if at is not None else 0.0


class InboxCollector(Collector):
    """The figures read for one scrape, as gauges beside the registry's counters."""

    def __init__(self, figures: InboxFigures) -> None:
        self.figures = figures

    def collect(self) -> Iterator[GaugeMetricFamily]:
        f = self.figures
        yield GaugeMetricFamily("tb_inbox_pending", "Pending inbox rows (database).", value=f.pending)
        lag = "Age in seconds of the oldest pending inbox event, 0 when none (database)."
        yield GaugeMetricFamily("tb_inbox_lag_seconds", lag, value=f.lag_seconds)
        failed = "Inbox rows parked as failed now, waiting for `events replay` (database)."
        yield GaugeMetricFamily("tb_inbox_failed", failed, value=f.failed)
        alive = "Inbox workers whose heartbeat moved in the last minute (database)."
        yield GaugeMetricFamily("tb_workers_alive", alive, value=f.workers_alive)
        yield from _portal_families(f.portals)
        count = "Portals with pending inbox rows (database)."
        yield GaugeMetricFamily("tb_inbox_portals_pending", count, value=f.portals_pending)


def _portal_families(backlogs: list[PortalBacklog]) -> Iterator[GaugeMetricFamily]:
    """Which portal is busy: the top portals' pending rows and oldest age, the rest as member_id="other"."""
    suffix = f' The {TOP_PORTALS} portals with most pending rows; the rest summed as member_id="other".'
    pending = GaugeMetricFamily(
        "tb_inbox_portal_pending", "Pending inbox rows of a portal." + suffix, labels=["member_id"]
    )
    lags = GaugeMetricFamily(
        "tb_inbox_portal_lag_seconds",
        "Age in seconds of a portal's oldest pending event." + suffix,
        labels=["member_id"],
    )
    for backlog in backlogs:
        pending.add_metric([backlog.member_id], backlog.pending)
        lags.add_metric([backlog.member_id], backlog.lag_seconds)
    yield pending
    yield lags
