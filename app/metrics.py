"""Prometheus metrics: in-process counters (a dict increment under a lock) and the inbox read per scrape.

Counters live in the process that counted them: under gunicorn each worker process reports its own on
the scrape that reaches it. The inbox figures (processed, failed, pending, lag) come from the database,
so they are the same whichever process answers.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from app.claims import PENDING
from app.extensions import AnySession
from app.heartbeat import alive_workers
from app.models import InboxEvent, InboxStatus

MAX_SERIES = 200  # per metric; a portal-chosen label (an event name) must not grow memory for ever
OVERFLOW = "OTHER"
# The per-portal backlog gauges name the busiest portals only (by pending rows): bounded label values
# however many portals a deployment serves. The rest are one series, member_id="other".
TOP_PORTALS = 10
OTHER_PORTALS = "other"
PER_PROCESS = " Counted in this process only: each web process reports its own."
HELP = {
    "tb_events_received_total": "Activity events posted to /events, by event name." + PER_PROCESS,
    "tb_events_rejected_total": "Events refused with 401 (unknown portal or bad token)." + PER_PROCESS,
    "tb_events_duplicate_total": "Verified events already in the inbox, answered 200." + PER_PROCESS,
    "tb_events_unstored_total": "Verified events answered 503: their group commit failed." + PER_PROCESS,
    "tb_events_ignored_total": "Events the manifest does not bind, answered 200 and not stored."
    + PER_PROCESS,
    "tb_portal_calls_total": "HTTP attempts to portals, by method and outcome." + PER_PROCESS,
    "tb_portal_limited_total": "Portal answers 503 QUERY_LIMIT_EXCEEDED and 429 time limit." + PER_PROCESS,
    "tb_token_refreshes_total": "OAuth token refreshes made." + PER_PROCESS,
    "tb_frames_throttled_total": "Page opens refused unsent: too many refused frame tokens, by scope."
    + PER_PROCESS,
}
LIMITED = {"QUERY_LIMIT_EXCEEDED": "503", "OPERATION_TIME_LIMIT": "429"}

Labels = tuple[tuple[str, str], ...]


class Counters:
    """Monotonic counters keyed by name and labels; safe across request threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, dict[Labels, float]] = {}

    def inc(self, name: str, labels: Mapping[str, str] | None = None, amount: float = 1.0) -> None:
        """Add `amount` to one series."""
        key = tuple(sorted((labels or {}).items()))
        with self._lock:
            series = self._values.setdefault(name, {})
            if key not in series and len(series) >= MAX_SERIES:
                key = tuple((label, OVERFLOW) for label, _ in key)
            series[key] = series.get(key, 0.0) + amount

    def value(self, name: str, labels: Mapping[str, str] | None = None) -> float:
        """One series' current value (0 if never counted)."""
        with self._lock:
            return self._values.get(name, {}).get(tuple(sorted((labels or {}).items())), 0.0)

    def snapshot(self) -> dict[str, dict[Labels, float]]:
        with self._lock:
            return {name: dict(series) for name, series in self._values.items()}


COUNTERS = Counters()


def count_event(kind: str, event: str) -> None:
    """Count an event posted to /events: received, rejected, duplicate, unstored or ignored."""
    COUNTERS.inc(f"tb_events_{kind}_total", {"event": event.upper()[:64]})


def observe_call(method: str, outcome: str) -> None:
    """The Client's observe hook: one HTTP attempt to a portal."""
    COUNTERS.inc("tb_portal_calls_total", {"method": method[:100], "outcome": outcome[:64]})
    if outcome in LIMITED:
        COUNTERS.inc("tb_portal_limited_total", {"status": LIMITED[outcome]})


def count_throttled(scope: str) -> None:
    """A page open refused by the unverified-token throttle ("portal" or "address")."""
    COUNTERS.inc("tb_frames_throttled_total", {"scope": scope})


def observe_refresh(member_id: str) -> None:
    """PortalCredentials' on_refresh hook."""
    COUNTERS.inc("tb_token_refreshes_total")


@dataclass(frozen=True)
class PortalBacklog:
    """One portal's pending inbox rows and the age of its oldest, in seconds."""

    member_id: str
    pending: int
    lag_seconds: float


@dataclass(frozen=True)
class InboxFigures:
    by_status: dict[tuple[str, str], int]  # (event, status) -> rows
    pending: int
    lag_seconds: float
    workers_alive: int = 0  # inbox workers whose heartbeat moved within app.heartbeat.ALIVE_FOR
    portals: list[PortalBacklog] = field(default_factory=list)  # portals with pending rows, busiest first


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


def busiest(backlogs: list[PortalBacklog], top: int = TOP_PORTALS) -> list[PortalBacklog]:
    """The `top` busiest portals, then the others folded into one (their sum, their oldest age)."""
    named, rest = backlogs[:top], backlogs[top:]
    if not rest:
        return named
    folded = PortalBacklog(OTHER_PORTALS, sum(b.pending for b in rest), max(b.lag_seconds for b in rest))
    return [*named, folded]


def inbox_figures(session: AnySession, now: datetime, *, known: Collection[str]) -> InboxFigures:
    """Rows per event and status, and the age of the oldest pending event.

    Events outside `known` (the manifest's: rows stored before /events ignored others) count as OTHER.
    """
    rows = session.execute(
        select(InboxEvent.event, InboxEvent.status, func.count()).group_by(
            InboxEvent.event, InboxEvent.status
        )
    ).all()
    by_status: dict[tuple[str, str], int] = {}
    for event, status, count in rows:
        key = (event if event in known else OVERFLOW, str(getattr(status, "value", status)))
        by_status[key] = by_status.get(key, 0) + count
    oldest = session.scalar(select(func.min(InboxEvent.received_at)).where(InboxEvent.status == PENDING))
    pending = sum(count for (_, status), count in by_status.items() if status == InboxStatus.PENDING.value)
    lag = max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    return InboxFigures(by_status, pending, lag, alive_workers(session, now), portal_backlogs(session, now))


def render(figures: InboxFigures, counters: Counters = COUNTERS) -> str:
    """The Prometheus text exposition format, version 0.0.4."""
    lines: list[str] = []
    snapshot = counters.snapshot()
    for name, text in HELP.items():
        _family(lines, name, "counter", text, snapshot.get(name, {}).items())
    inbox = "Inbox rows by event and status (done = processed), read from the database."
    for status in ("done", "failed"):
        series = [
            ((("event", event),), count)
            for (event, st), count in sorted(figures.by_status.items())
            if st == status
        ]
        label = "processed" if status == "done" else "failed"
        _family(lines, f"tb_events_{label}", "gauge", inbox, series)
    _family(lines, "tb_inbox_pending", "gauge", "Pending inbox rows (database).", [((), figures.pending)])
    lag = "Age in seconds of the oldest pending inbox event, 0 when none (database)."
    _family(lines, "tb_inbox_lag_seconds", "gauge", lag, [((), figures.lag_seconds)])
    alive = "Inbox workers whose heartbeat moved in the last minute (database)."
    _family(lines, "tb_workers_alive", "gauge", alive, [((), figures.workers_alive)])
    _portal_families(lines, figures.portals)
    return "\n".join(lines) + "\n"


def _portal_families(lines: list[str], backlogs: list[PortalBacklog]) -> None:
    """Which portal is busy: the top portals' pending rows and oldest age, the rest as member_id="other"."""
    shown = busiest(backlogs)
    suffix = f' The {TOP_PORTALS} portals with most pending rows; the rest summed as member_id="other".'
    pending = [((("member_id", b.member_id),), b.pending) for b in shown]
    _family(lines, "tb_inbox_portal_pending", "gauge", "Pending inbox rows of a portal." + suffix, pending)
    lags = [((("member_id", b.member_id),), b.lag_seconds) for b in shown]
    text = "Age in seconds of a portal's oldest pending event." + suffix
    _family(lines, "tb_inbox_portal_lag_seconds", "gauge", text, lags)
    count = "Portals with pending inbox rows (database)."
    _family(lines, "tb_inbox_portals_pending", "gauge", count, [((), len(backlogs))])


def _family(
    lines: list[str], name: str, kind: str, text: str, series: Iterable[tuple[Labels, float]]
) -> None:
    lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
    for labels, value in sorted(series):
        lines.append(f"{name}{_labels(labels)} {_number(value)}")


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{key}="{_escape(value)}"' for key, value in labels)
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
