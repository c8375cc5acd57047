"""Prometheus metrics with prometheus_client in multiprocess mode: every process counts, every scrape sums.

Each gunicorn worker, each inbox worker (`flask --app app worker`) and each one-off command of one host
writes its counters and histograms to files in one directory (app.metrics.directory, PROMETHEUS_MULTIPROC_DIR,
default instance/prometheus); `/metrics` sums them all (app.metrics.exposition), so every scrape shows the
same totals whichever process answers. The inbox gauges are read from the database per scrape, from the
partial indexes of pending and failed rows only (app.metrics.inbox): a scrape costs the same at any history.

Labels stay bounded: an `event` label is a name the manifest binds or OTHER (app.events.views), and every
labelled metric takes at most MAX_SERIES label sets per process (the archive of finished processes too);
later ones count as OTHER.
"""

from __future__ import annotations

import atexit
import threading
from typing import Generic, TypeVar

from app.metrics.directory import MAX_SERIES, OVERFLOW, fold_own, prepare

DIRECTORY = prepare()  # before prometheus_client is imported: it chooses multiprocess mode at import
atexit.register(fold_own, DIRECTORY)  # in gunicorn's forked workers too: the handler asks for its own pid

from prometheus_client import Counter, Histogram  # noqa: E402
from prometheus_client import values as _values  # noqa: E402

if not getattr(_values.ValueClass, "_multiprocess", False):  # pragma: no cover - a start-up ordering bug
    raise RuntimeError("prometheus_client was imported before PROMETHEUS_MULTIPROC_DIR was set")

from app.metrics.inbox import (  # noqa: E402
    OTHER_PORTALS,
    TOP_PORTALS,
    InboxFigures,
    PortalBacklog,
    inbox_figures,
    portal_backlogs,
)

__all__ = [
    "MAX_SERIES",
    "OTHER_PORTALS",
    "OVERFLOW",
    "TOP_PORTALS",
    "InboxFigures",
    "PortalBacklog",
    "inbox_figures",
    "portal_backlogs",
]

LIMITED = {"QUERY_LIMIT_EXCEEDED": "503", "OPERATION_TIME_LIMIT": "429"}


Metric = TypeVar("Metric", Counter, Histogram)


class Capped(Generic[Metric]):
    """A labelled metric that takes at most `cap` label sets in this process; later ones count as OTHER."""

    def __init__(self, metric: Metric, cap: int = MAX_SERIES) -> None:
        self.metric: Metric = metric
        self.cap = cap
        self._seen: set[tuple[str, ...]] = set()
        self._lock = threading.Lock()
        self._children: dict[tuple[str, ...], Metric] = {}  # admitted label sets only: at most `cap`

    def labels(self, *values: str) -> Metric:
        # A known series without a lock or prometheus_client's own label checks: POST /events counts
        # on every request (the GIL makes the dict read safe; a miss takes the slow path).
        child = self._children.get(values)
        if child is not None:
            return child
        key = tuple(values)
        with self._lock:
            if key not in self._seen:
                if len(self._seen) >= self.cap:
                    key = (OVERFLOW,) * len(key)
                else:
                    self._seen.add(key)
        child = self.metric.labels(*key)
        if key == values:
            self._children[key] = child
        return child


def _events(kind: str, text: str) -> Capped[Counter]:
    return Capped(Counter(f"tb_events_{kind}_total", text, ["event"]))


EVENTS = {
    "received": _events("received", "Activity events posted to /events, by event name."),
    "rejected": _events("rejected", "Events refused with 401 (unknown portal or bad token)."),
    "duplicate": _events("duplicate", "Verified events already in the inbox, answered 200."),
    "unstored": _events("unstored", "Verified events answered 503: their group commit failed."),
    "ignored": _events("ignored", "Events the manifest does not bind, answered 200 and not stored."),
    "processed": _events("processed", "Inbox events a worker settled (done), by event."),
    "failed": _events("failed", "Inbox events parked as failed after their last attempt, by event."),
    "retried": _events("retried", "Failed attempts on inbox events, scheduled again with backoff."),
}
PORTAL_CALLS = Capped(
    Counter(
        "tb_portal_calls_total", "HTTP attempts to portals, by method and outcome.", ["method", "outcome"]
    )
)
LIMITED_CALLS = Counter(
    "tb_portal_limited_total", "Portal answers 503 QUERY_LIMIT_EXCEEDED and 429 time limit.", ["status"]
)
REFRESHES = Counter("tb_token_refreshes_total", "OAuth token refreshes made.")
THROTTLED = Counter(
    "tb_frames_throttled_total",
    "Page opens refused unsent: too many refused frame tokens, by scope.",
    ["scope"],
)
EVENTS_SECONDS = Histogram(
    "tb_events_request_seconds",
    "Time POST /events took, from routing to the answer (the group commit included).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
PAGE_SECONDS = Capped(
    Histogram(
        "tb_page_open_seconds",
        "Time a frame page took to answer (its portal calls included), by page.",
        ["page"],
        buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    )
)
APPLY_SECONDS = Histogram(
    "tb_worker_apply_seconds",
    "Time the inbox worker took for one portal's turn: portal calls, mirror writes, settle.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)


def count_event(kind: str, event: str, amount: int = 1) -> None:
    """Count events: received, rejected, duplicate, unstored, ignored; or processed, failed, retried."""
    EVENTS[kind].labels(event.upper()[:64]).inc(amount)


def observe_call(method: str, outcome: str) -> None:
    """The Client's observe hook: one HTTP attempt to a portal."""
    PORTAL_CALLS.labels(method[:100], outcome[:64]).inc()
    if outcome in LIMITED:
        LIMITED_CALLS.labels(LIMITED[outcome]).inc()


def count_throttled(scope: str) -> None:
    """A page open refused by the unverified-token throttle ("portal" or "address")."""
    THROTTLED.labels(scope).inc()


def observe_refresh(member_id: str) -> None:
    """PortalCredentials' on_refresh hook."""
    REFRESHES.inc()
