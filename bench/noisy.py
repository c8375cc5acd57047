"""A noisy neighbour: one portal's bulk backlog while two others send a trickle of events and clicks.

Used by bench/fairness_bench.py and as the drill's last phase. Like drill_stack, it imports nothing from the
app: the backlog is stored in the inbox at once (see `insert_backlog`), the quiet portals' events are
posted to `/events` as a portal posts them (form-encoded, with its application_token), clicks are fired by
the sandbox (`/_sandbox/timeline-action`, delivered to the app like every event), and the figures are read
from the inbox table and the sandbox's request counts.

The backlog's events name activities the portal does not have: each `batch` of 50 `crm.activity.get` costs
the busy portal one request all the same (the worker marks them deleted), which is what the bucket counts.
Clicks name no existing item either: the worker reads the item (one call), finds nothing and settles it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import requests
from sqlalchemy import bindparam, create_engine, text

from bench.drill_stack import Stack, sandbox_control, wait_until

CLICK = "ONCRMTIMELINEITEMACTION"
HEADERS = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "Bitrix24 Webhook Engine"}
NOISY_IDS = 50_000_000  # activity ids of the backlog (none exists on the portal)
WARM_UP = 15.0  # seconds after the backlog is in before A's rate is measured: its burst is spent by then
TARGETS = {"quiet_p99_s": 2.0, "click_s": 1.0, "drain_ratio": 0.9}


@dataclass(frozen=True)
class Neighbour:
    """A portal as the phase sees it (bench.drill_load.PortalInfo has these fields)."""

    member_id: str
    domain: str
    application_token: str


@dataclass(frozen=True)
class Phase:
    """The shape of the phase: the backlog, the trickle's pace and length, the busy portal's bucket rate."""

    backlog: int = 10_000
    seconds: float = 60.0  # of trickle, after the backlog is in
    event_every: float = 0.5  # one event to one of the quiet portals, alternating
    click_every: float = 2.0  # one click on one of the quiet portals, alternating
    bucket_rate: float = 2.0  # requests/s of the busy portal's plan (standard: 2/s, burst 50)


def event_body(portal: Neighbour, event: str, activity_id: int, ts: int) -> str:
    """An activity event as the portal posts it (notes §2.1)."""
    pairs = [
        ("event", event),
        ("event_handler_id", "1"),
        ("data[FIELDS][ID]", str(activity_id)),
        ("ts", str(ts)),
        ("auth[domain]", portal.domain),
        ("auth[member_id]", portal.member_id),
        ("auth[application_token]", portal.application_token),
    ]
    return urlencode(pairs)


def insert_backlog(database_url: str, busy: Neighbour, phase: Phase) -> float:
    """Put the busy portal's backlog in the inbox at once, as the receiver stores events; return the time.

    Inserted in one transaction rather than posted: on this shared 2-core machine /events takes about 100
    posts/s while the worker drains 100 events/s, so a posted backlog would never build up. The rows are
    the receiver's (app.inbox.queue.inbox_row): pending, due now, the payload without tokens.
    """
    now = datetime.now(UTC).replace(tzinfo=None)
    salt = secrets.token_hex(8)
    rows = [
        {
            "dedup_key": hashlib.sha256(f"{salt}:{n}".encode()).hexdigest(),
            "event": "ONCRMACTIVITYUPDATE",
            "member_id": busy.member_id,
            "payload": json.dumps(
                {
                    "event": "ONCRMACTIVITYUPDATE",
                    "event_handler_id": "1",
                    "data": {"FIELDS": {"ID": str(NOISY_IDS + n)}},
                    "ts": str(1_700_000_000 + n),
                    "auth": {"domain": busy.domain, "member_id": busy.member_id},
                }
            ).encode(),  # bytes: the column is binary since 0007 (plain JSON text still reads, app.models)
            "at": now,
        }
        for n in range(phase.backlog)
    ]
    insert = text(
        "INSERT INTO inbox (dedup_key, event, member_id, payload, status, attempts, next_attempt_at, "
        "received_at) VALUES (:dedup_key, :event, :member_id, :payload, 'pending', 0, :at, :at)"
    )
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            for start in range(0, len(rows), 5000):
                connection.execute(insert, rows[start : start + 5000])
    finally:
        engine.dispose()
    return time.time()


def warm_up(stack: Stack, portals: list[Neighbour]) -> None:
    """One event for each portal, processed before the phase: the workers' first portal calls (modules,
    credentials, connections) are not what the phase measures."""
    session = requests.Session()
    for n, portal in enumerate(portals):
        body = event_body(portal, "ONCRMACTIVITYUPDATE", NOISY_IDS - 1_000_000 - n, 1_600_000_000 + n)
        session.post(f"{stack.app_url}/events", data=body, headers=HEADERS, timeout=30).raise_for_status()
    engine = create_engine(stack.database_url)
    try:
        wait_until(lambda: _pending_rows(engine) == 0, 60, "the warm-up events to be processed", every=0.2)
    finally:
        engine.dispose()


def _pending_rows(engine: Any) -> int:
    query = text("SELECT count(*) FROM inbox WHERE status = 'pending'")
    with engine.connect() as connection:
        return int(connection.execute(query).scalar() or 0)


def trickle(stack: Stack, quiet: list[Neighbour], phase: Phase) -> dict[str, int]:
    """Events and clicks for the quiet portals at a steady pace for `phase.seconds`; return what was sent."""
    sent = {"events": 0, "clicks": 0, "refused": 0}
    session = requests.Session()
    began = time.monotonic()
    next_click = began
    for n in _ticks(began, phase):
        portal = quiet[n % len(quiet)]
        body = event_body(portal, "ONCRMACTIVITYUPDATE", NOISY_IDS - 1 - n, 1_800_000_000 + n)
        answer = session.post(f"{stack.app_url}/events", data=body, headers=HEADERS, timeout=30)
        sent["events" if answer.status_code == 200 else "refused"] += 1
        if time.monotonic() >= next_click:
            clicked = quiet[sent["clicks"] % len(quiet)]
            data = {"activityId": NOISY_IDS - 1 - n, "id": "done", "rev": "1"}
            sandbox_control(stack, "timeline-action", {"domain": clicked.domain, "user_id": 1, "data": data})
            sent["clicks"] += 1
            next_click += phase.click_every
    return sent


def _ticks(began: float, phase: Phase) -> Iterator[int]:
    n = 0
    while time.monotonic() - began < phase.seconds:
        yield n
        n += 1
        time.sleep(max(0.0, began + n * phase.event_every - time.monotonic()))


def portal_requests(stack: Stack, domain: str) -> int:
    """How many requests a portal's bucket took (the sandbox counts them).

    Every method counts, as the bucket counts every call the worker makes (batches, event.offline.*, single
    calls); the sandbox's own 503 refusals took no slot."""
    rows = sandbox_control(stack, "requests", method="GET")["requests"]
    return sum(r["count"] for r in rows if r["domain"] == domain and r["status"] != 503)


def run_phase(stack: Stack, busy: Neighbour, quiet: list[Neighbour], phase: Phase) -> dict[str, Any]:
    """The whole phase: backlog, trickle, wait for the quiet portals, then the figures."""
    load_before = _load()
    warm_up(stack, [busy, *quiet])
    began = time.time()
    posted = insert_backlog(stack.database_url, busy, phase)
    print(f"  backlog of {phase.backlog} stored in {posted - began:.1f} s", flush=True)
    sampler = _RateSampler(stack, busy.domain, posted + WARM_UP)
    sampler.start()
    sent = trickle(stack, quiet, phase)
    ended = time.time()
    window = sampler.stop(ended)
    engine = create_engine(stack.database_url, pool_pre_ping=True)
    try:
        _wait_for_quiet(engine, quiet, posted, 60.0)
        figures = _figures(engine, busy, quiet, posted)
    finally:
        engine.dispose()
    rate = window["requests"] / window["seconds"] if window["seconds"] > 0 else 0.0
    figures.update(
        backlog=phase.backlog,
        backlog_store_seconds=round(posted - began, 1),
        trickle_seconds=round(ended - posted, 1),
        sent=sent,
        busy_requests_per_s=round(rate, 3),
        busy_bucket_rate=phase.bucket_rate,
        busy_drain_ratio=round(rate / phase.bucket_rate, 3),
        busy_window_s=round(window["seconds"], 1),
        busy_ran_dry=window["ran_dry"],
        load_average=[load_before, _load()],
    )
    figures["ok"] = meets_targets(figures)
    return figures


class _RateSampler:
    """Counts the busy portal's requests over the measuring window, and notices a backlog run dry."""

    def __init__(self, stack: Stack, domain: str, start_at: float) -> None:
        self.stack, self.domain, self.start_at = stack, domain, start_at
        self.first: tuple[float, int] | None = None
        self.thread = threading.Thread(target=self._begin, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _begin(self) -> None:
        time.sleep(max(0.0, self.start_at - time.time()))
        self.first = (time.time(), portal_requests(self.stack, self.domain))

    def stop(self, ended: float) -> dict[str, Any]:
        self.thread.join()
        assert self.first is not None
        at, count = self.first
        last = portal_requests(self.stack, self.domain)
        ran_dry = _pending(self.stack, self.domain) == 0
        return {"requests": last - count, "seconds": max(0.0, time.time() - at), "ran_dry": ran_dry}


def _pending(stack: Stack, domain: str) -> int:
    engine = create_engine(stack.database_url)
    try:
        with engine.connect() as connection:
            query = text(
                "SELECT count(*) FROM inbox JOIN portals ON portals.member_id = inbox.member_id "
                "WHERE inbox.status = 'pending' AND portals.domain = :domain"
            )
            return int(connection.execute(query, {"domain": domain}).scalar() or 0)
    finally:
        engine.dispose()


def _wait_for_quiet(engine: Any, quiet: list[Neighbour], since: float, timeout: float) -> None:
    """Until the quiet portals have nothing pending (or the timeout; the figures then count what is left)."""
    deadline = time.monotonic() + timeout
    members = [q.member_id for q in quiet]
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            left = connection.execute(
                text("SELECT count(*) FROM inbox WHERE status = 'pending' AND member_id IN :m").bindparams(
                    bindparam("m", expanding=True)
                ),
                {"m": members},
            ).scalar()
        if not left:
            return
        time.sleep(0.5)


def _figures(engine: Any, busy: Neighbour, quiet: list[Neighbour], since: float) -> dict[str, Any]:
    """Lags (received → processed) of the quiet portals' events and clicks, from the inbox."""
    query = text(
        "SELECT member_id, event, status, received_at, processed_at FROM inbox "
        "WHERE member_id IN :m AND received_at >= :since"
    ).bindparams(bindparam("m", expanding=True))
    moment = datetime.fromtimestamp(since, UTC).replace(tzinfo=None)
    with engine.connect() as connection:
        rows = connection.execute(query, {"m": [q.member_id for q in quiet], "since": moment}).all()
    lags: dict[str, list[float]] = {}
    slowest: list[tuple[float, float, str]] = []
    unfinished = 0
    for member_id, event, status, received, processed in rows:
        if status != "done" or processed is None:
            unfinished += 1
            continue
        kind = "clicks" if event == CLICK else member_id
        lag = (_at(processed) - _at(received)).total_seconds()
        lags.setdefault(kind, []).append(lag)
        slowest.append((round(lag, 3), round(_at(received).replace(tzinfo=UTC).timestamp() - since, 1), kind))
    by_portal = {q.domain: _summary(lags.get(q.member_id, [])) for q in quiet}
    return {
        "busy": busy.domain,
        "quiet": by_portal,
        "clicks": _summary(lags.get("clicks", [])),
        "unfinished": unfinished,
        # (lag s, received s after the backlog, portal or "clicks"): when the slowest ones happened
        "slowest": sorted(slowest, reverse=True)[:6],
    }


def _at(value: Any) -> datetime:
    """A timestamp column as read with plain SQL (naive UTC; SQLite gives text)."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_s": round(percentile(values, 0.50), 3),
        "p99_s": round(percentile(values, 0.99), 3),
        "max_s": round(max(values), 3) if values else 0.0,
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)] if ordered else 0.0


def meets_targets(figures: dict[str, Any]) -> bool:
    """B's and C's p99 ≤ 2 s, clicks' p99 ≤ 1 s, A's drain ≥ 0.9 of its bucket, nothing left unfinished."""
    quiet_ok = all(q["n"] and q["p99_s"] <= TARGETS["quiet_p99_s"] for q in figures["quiet"].values())
    clicks = figures["clicks"]
    clicks_ok = bool(clicks["n"]) and clicks["p99_s"] <= TARGETS["click_s"]
    drain_ok = figures["busy_drain_ratio"] >= TARGETS["drain_ratio"]
    return bool(quiet_ok and clicks_ok and drain_ok and not figures["unfinished"])


def lines(figures: dict[str, Any]) -> list[str]:
    """The phase's figures as a few lines of text (the benchmark prints them, the drill's report too)."""
    out = [
        f"busy portal {figures['busy']}: a backlog of {figures['backlog']} events; "
        f"{figures['busy_requests_per_s']} requests/s over "
        f"{figures['busy_window_s']} s vs its bucket's {figures['busy_bucket_rate']}/s: "
        f"ratio {figures['busy_drain_ratio']} (target >= {TARGETS['drain_ratio']})"
        + (" (ITS BACKLOG RAN DRY inside the window)" if figures["busy_ran_dry"] else ""),
    ]
    for domain, q in figures["quiet"].items():
        out.append(
            f"quiet portal {domain}: {q['n']} events, lag p50 {q['p50_s']} s, p99 {q['p99_s']} s, "
            f"max {q['max_s']} s (target p99 <= {TARGETS['quiet_p99_s']} s)"
        )
    c = figures["clicks"]
    out.append(
        f"clicks on the quiet portals: {c['n']}, latency p50 {c['p50_s']} s, p99 {c['p99_s']} s, "
        f"max {c['max_s']} s (target p99 <= {TARGETS['click_s']} s)"
    )
    out.append(f"slowest (lag s, s after the backlog, what): {figures['slowest']}")
    out.append(
        f"unfinished: {figures['unfinished']}; load average (1 min) before/after: "
        f"{figures['load_average'][0]} / {figures['load_average'][1]}; "
        f"targets {'MET' if figures['ok'] else 'MISSED'}"
    )
    return out


def _load() -> float:
    with contextlib.suppress(OSError):
        return round(os.getloadavg()[0], 2)
    return -1.0
