"""GET /metrics: Prometheus text that parses, with counters that move on real requests and portal calls."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import Counter
from sqlalchemy import event, func, select

from app.bitrix24.retry import RetryPolicy
from app.extensions import db
from app.inbox.queue import Inbox
from app.inbox.worker import Worker
from app.metrics import OVERFLOW, TOP_PORTALS, Capped
from app.models import InboxEvent, InboxStatus, utcnow
from app.portals.connections import client_for
from app.portals.store import read_tokens, set_application_token
from sandbox.limits import add_fault
from tests.conftest import store_events
from tests.test_main import open_main_page
from tests.test_worker import make_activities

Sample = tuple[str, frozenset]
COMMENT = re.compile(r"^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$")
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.]+(?:e[+-]?[0-9]+)?|NaN|\+Inf|-Inf)$")
SUFFIXES = ("_bucket", "_sum", "_count")  # a histogram's samples
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)')


def parse(body: str) -> dict[Sample, float]:
    """A small parser of the text format 0.0.4: every line a comment or a sample of a declared family."""
    samples: dict[Sample, float] = {}
    types: dict[str, str] = {}
    for line in body.split("\n")[:-1]:  # the format's lines end in \n only
        comment = COMMENT.match(line)
        if comment:
            if comment.group(1) == "TYPE":
                assert comment.group(3) in {"counter", "gauge", "histogram"}, line
                types[comment.group(2)] = comment.group(3)
            continue
        sample = SAMPLE.match(line)
        assert sample, f"not a sample line: {line!r}"
        name, labels, value = sample.groups()
        stems = [name.removesuffix(x) for x in SUFFIXES if name.endswith(x)]
        family = next((stem for stem in stems if stem in types), name)
        assert family in types, f"{name} has no TYPE line before it"
        pairs = LABEL.findall(labels or "")
        assert ",".join(f'{k}="{v}"' for k, v in pairs) == (labels or ""), line
        samples[(name, frozenset(pairs))] = float(value)
    return samples


def scrape(client) -> dict[Sample, float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    return parse(response.get_data(as_text=True))


def value(samples: dict[Sample, float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def post(client, member_id: str, token: str, name: str, activity_id: int):
    form = {"event": name, "event_handler_id": "7", "ts": "1", "data[FIELDS][ID]": str(activity_id)}
    form |= {"auth[member_id]": member_id, "auth[application_token]": token}
    return client.post("/events", data=form)


def installed_with_token(portal, sandbox):
    set_application_token(portal, sandbox.app.application_token)
    db.session.commit()
    return portal.member_id, sandbox.app.application_token


def test_event_counters_move_with_real_deliveries(portal, sandbox, connected_app) -> None:
    client = connected_app.test_client()
    member_id, token = installed_with_token(portal, sandbox)
    before = scrape(client)
    answers = [
        post(client, member_id, token, "OnCrmActivityAdd", 11),
        post(client, member_id, token, "ONCRMACTIVITYADD", 11),
        post(client, member_id, "0" * 32, "ONCRMACTIVITYADD", 12),
    ]
    assert [a.status_code for a in answers] == [200, 200, 401]
    after = scrape(client)

    def moved(name: str) -> float:
        return value(after, name, event="ONCRMACTIVITYADD") - value(before, name, event="ONCRMACTIVITYADD")

    assert [moved(f"tb_events_{k}_total") for k in ("received", "duplicate", "rejected", "unstored")] == [
        3,
        1,
        1,
        0,
    ]
    assert value(after, "tb_inbox_pending") == 1
    assert value(after, "tb_inbox_lag_seconds") >= 0


def test_processed_events_and_portal_calls_are_counted(portal, sandbox, connected_app) -> None:
    client = connected_app.test_client()
    member_id, token = installed_with_token(portal, sandbox)
    [activity_id] = make_activities(sandbox, 1)
    before = scrape(client)
    assert post(client, member_id, token, "ONCRMACTIVITYADD", activity_id).status_code == 200
    assert post(client, member_id, token, "ONCRMACTIVITYDELETE", 999999).status_code == 200
    Worker(Inbox(db.session)).run(once=True)
    after = scrape(client)
    for name in ("ONCRMACTIVITYADD", "ONCRMACTIVITYDELETE"):
        moved = value(after, "tb_events_processed_total", event=name) - value(
            before, "tb_events_processed_total", event=name
        )
        assert moved == 1, name
    assert value(after, "tb_inbox_pending") == 0 and value(after, "tb_inbox_lag_seconds") == 0
    turns = value(after, "tb_worker_apply_seconds_count") - value(before, "tb_worker_apply_seconds_count")
    assert turns == 1  # one portal's turn
    calls = ("tb_portal_calls_total", {"method": "batch", "outcome": "ok"})
    assert value(after, calls[0], **calls[1]) - value(before, calls[0], **calls[1]) == 1


def test_a_503_and_a_refresh_are_counted(portal, sandbox, connected_app) -> None:
    client = connected_app.test_client()
    before = scrape(client)
    portal_client = client_for(portal)
    portal_client.retry = RetryPolicy(sleep=lambda seconds: None)
    add_fault(sandbox.state, "status", count=1, status=503, method="user.current")
    sandbox.state.tokens[read_tokens(portal).access_token].expires_at = 0
    portal_client.call("user.current")
    after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("tb_portal_limited_total", status="503") == 1
    assert moved("tb_portal_calls_total", method="user.current", outcome="QUERY_LIMIT_EXCEEDED") == 1
    assert moved("tb_portal_calls_total", method="user.current", outcome="ok") == 1
    assert moved("tb_token_refreshes_total") == 1


def test_a_made_up_event_name_is_counted_as_other_and_makes_no_series(portal, sandbox, connected_app) -> None:
    client = connected_app.test_client()
    member_id, _ = installed_with_token(portal, sandbox)
    before = scrape(client)
    answers = [post(client, member_id, "0" * 32, f"ONMADEUP{n}\x1c\u2028", 5) for n in range(3)]
    assert [(a.status_code, a.get_json()["status"]) for a in answers] == [(200, "ignored")] * 3
    after = scrape(client)
    assert (
        value(after, "tb_events_received_total", event="OTHER")
        - value(before, "tb_events_received_total", event="OTHER")
        == 3
    )
    assert not [sample for sample in after if "ONMADEUP" in str(sample)]


def test_300_made_up_event_names_with_the_portals_own_token_store_nothing_and_add_no_series(
    portal, sandbox, connected_app
) -> None:
    client = connected_app.test_client()
    member_id, token = installed_with_token(portal, sandbox)
    before = scrape(client)
    answers = [post(client, member_id, token, f"ONMADEUP{n}", n + 1) for n in range(300)]
    assert {(a.status_code, a.get_json()["status"]) for a in answers} == {(200, "ignored")}
    assert db.session.scalar(select(func.count()).select_from(InboxEvent)) == 0
    after = scrape(client)
    other = ("tb_events_ignored_total", frozenset({("event", "OTHER")}))
    assert set(after) - set(before) <= {other}  # at most the one OTHER series, if no test made it yet
    assert not [sample for sample in after if "ONMADEUP" in str(sample)]
    for name in ("tb_events_received_total", "tb_events_ignored_total"):
        assert value(after, name, event="OTHER") - value(before, name, event="OTHER") == 300
    assert post(client, member_id, token, "ONCRMACTIVITYADD", 1).get_json()["status"] == "accepted"


def test_inbox_rows_of_names_the_manifest_does_not_bind_are_counted_as_one_other_series(
    portal, connected_app
) -> None:
    """Rows stored before /events ignored unbound names must not grow the series when processed."""
    client = connected_app.test_client()
    store_events(
        portal,
        [
            {"event": f"ONOLD{n}", "event_handler_id": "1", "ts": "1", "data": {"FIELDS": {"ID": str(n)}}}
            for n in range(1, 251)
        ],
    )
    before = scrape(client)
    Worker(Inbox(db.session), batch_size=500).run(once=True)  # no portal call: events it does not act on
    after = scrape(client)
    moved = value(after, "tb_events_processed_total", event="OTHER") - value(
        before, "tb_events_processed_total", event="OTHER"
    )
    assert moved == 250
    assert not [sample for sample in after if "ONOLD" in str(sample)]


def test_parked_failures_are_counted_once_and_shown_until_replayed(portal, connected_app) -> None:
    client = connected_app.test_client()
    store_events(portal, [{"event": "ONCRMACTIVITYADD", "event_handler_id": "1", "ts": "1", "data": {}}])
    inbox = Inbox(db.session)
    before = scrape(client)
    claim = inbox.claim_batch()
    inbox.fail(claim, claim.events, "the event names no activity id", permanent=True)
    db.session.commit()
    parked = scrape(client)
    failed = ("tb_events_failed_total", {"event": "ONCRMACTIVITYADD"})
    assert value(parked, failed[0], **failed[1]) - value(before, failed[0], **failed[1]) == 1
    assert value(parked, "tb_inbox_failed") == 1 and value(parked, "tb_inbox_pending") == 0
    assert inbox.replay(claim.events[0].id)
    db.session.commit()
    replayed = scrape(client)
    assert value(replayed, "tb_inbox_failed") == 0 and value(replayed, "tb_inbox_pending") == 1
    assert value(replayed, failed[0], **failed[1]) == value(parked, failed[0], **failed[1])  # a counter


def test_each_busy_portal_shows_its_pending_rows_and_oldest_age_and_the_rest_are_summed(app) -> None:
    now = utcnow()
    portals = TOP_PORTALS + 2  # portal p00 has the most rows, p11 the fewest
    for p in range(portals):
        for n in range(portals - p):
            age = timedelta(minutes=p, seconds=n)  # each portal's oldest row is p minutes and its count s old
            db.session.add(
                InboxEvent(
                    dedup_key=f"p{p}-{n}",
                    event="ONCRMACTIVITYUPDATE",
                    member_id=f"p{p:02d}",
                    payload={},
                    received_at=now - age,
                )
            )
    db.session.add(
        InboxEvent(dedup_key="done", event="X", member_id="p99", payload={}, status=InboxStatus.DONE)
    )
    db.session.commit()
    samples = scrape(app.test_client())
    pending = {
        dict(labels)["member_id"]: v
        for (name, labels), v in samples.items()
        if name == "tb_inbox_portal_pending"
    }
    lags = {
        dict(labels)["member_id"]: v
        for (name, labels), v in samples.items()
        if name == "tb_inbox_portal_lag_seconds"
    }
    named = [f"p{p:02d}" for p in range(TOP_PORTALS)]
    assert pending == {**{m: portals - p for p, m in enumerate(named)}, "other": 2 + 1}
    assert set(lags) == set(pending)
    assert 60 * 3 + 8 <= lags["p03"] <= 60 * 3 + 8 + 60  # p03: 9 rows, the oldest 3 min 8 s old
    assert lags["other"] >= 60 * 11  # the oldest of the folded portals (p11)
    assert value(samples, "tb_inbox_portals_pending") == portals


@contextmanager
def inbox_statements(engine) -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements run on `engine` that read the inbox, with their parameters."""
    seen: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        if re.search(r"\bFROM inbox\b", statement) and statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def full_reads(engine, statements: list[tuple[str, Any]]) -> list[str]:
    """SQLite's plan lines that read the inbox's history: a table scan, or an index but the partial ones."""
    partial = ("ix_inbox_pending_by_portal", "ix_inbox_failed_by_portal")
    bad = []
    with engine.connect() as connection:
        for statement, parameters in statements:
            for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters):
                line = str(row[-1])
                limited = "LIMIT" in statement and "ix_inbox_member_id_id" in line
                # The busiest portals: their groups sorted (as many as portals with pending rows), not rows.
                groups = "GROUP BY" in statement and "LIMIT" in statement and "FOR ORDER BY" in line
                if ("TEMP B-TREE" in line and not groups) or (
                    " inbox" in line and not limited and not any(p in line for p in partial)
                ):
                    bad.append(f"{line}  <=  {statement.split(' FROM ')[0][:60]}")
    return bad


def test_a_scrape_and_the_main_page_read_no_done_row(connected_app, sandbox, portal, database_url) -> None:
    """Counts come from the partial indexes of pending and failed rows and the tally (issue #18)."""
    if not database_url.startswith("sqlite"):
        pytest.skip("the plan is read with SQLite's EXPLAIN QUERY PLAN")
    now = utcnow()
    for n, status in enumerate([InboxStatus.DONE] * 30 + [InboxStatus.FAILED, InboxStatus.PENDING]):
        db.session.add(
            InboxEvent(
                dedup_key=f"k{n}",
                event="ONCRMACTIVITYADD",
                member_id=portal.member_id,
                payload={},
                status=status,
                received_at=now,
            )
        )
    db.session.commit()
    with inbox_statements(db.engine) as scrape_reads:
        samples = scrape(connected_app.test_client())
    assert value(samples, "tb_inbox_pending") == 1 and value(samples, "tb_inbox_failed") == 1
    with inbox_statements(db.engine) as page_reads:
        html = open_main_page(connected_app.test_client(), sandbox).get_data(as_text=True)
    assert '<span class="tb-count" data-status="failed">failed 1</span>' in html
    assert scrape_reads and page_reads
    assert full_reads(db.engine, scrape_reads) == []
    assert full_reads(db.engine, page_reads) == []


def test_a_page_open_is_timed(connected_app, sandbox, portal) -> None:
    client = connected_app.test_client()
    before = scrape(client)
    assert open_main_page(client, sandbox).status_code == 200
    after = scrape(client)
    count = ("tb_page_open_seconds_count", {"page": "main"})
    assert value(after, count[0], **count[1]) - value(before, count[0], **count[1]) == 1


def test_without_a_scrape_token_only_the_hosts_own_networks_read_metrics(connected_app) -> None:
    client = connected_app.test_client()
    for address in ("127.0.0.1", "10.1.2.3", "192.168.0.9", "::1"):
        assert client.get("/metrics", environ_base={"REMOTE_ADDR": address}).status_code == 200, address
    refused = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert refused.status_code == 403 and "METRICS_TOKEN" in refused.get_data(as_text=True)


def test_with_a_scrape_token_only_its_bearer_reads_metrics(connected_app, monkeypatch) -> None:
    monkeypatch.setitem(connected_app.config, "METRICS_TOKEN", "s" * 40)
    client = connected_app.test_client()
    public = {"REMOTE_ADDR": "203.0.113.7"}
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer " + "s" * 39}, environ_base=public)
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"] == "Bearer"
    right = client.get("/metrics", headers={"Authorization": "Bearer " + "s" * 40}, environ_base=public)
    assert right.status_code == 200 and "tb_" in right.get_data(as_text=True)


def test_a_capped_metric_keeps_its_first_label_sets_and_counts_later_ones_as_other() -> None:
    capped = Capped(Counter("tb_test_capped_total", "A test counter.", ["event"]), cap=2)
    first, second = capped.labels("A"), capped.labels("B")
    assert capped.labels("A") is first and capped.labels("B") is second  # the known series, kept
    for name in ("C", "D", "A"):
        capped.labels(name).inc()
    other = capped.metric.labels(OVERFLOW)
    assert capped.labels("C") is other and capped.labels("D") is other
    assert other._value.get() == 2 and first._value.get() == 1
    assert set(capped._children) == {("A",), ("B",)}  # what it remembers stays within its cap
