"""/metrics and the main page's inbox figures at 1 and 10 million inbox rows: do they grow with history?

Builds an inbox with bulk SQL (SQLite: a recursive CTE; PostgreSQL: generate_series) on the app's own schema
(its migrations): a fixed 1,000 pending rows over 100 portals and 100 parked failures, then done rows over
1,000 portals up to each size (payloads of ~80 bytes: the size of a row does not change what an index-only
read costs). At each size it times, in the app, median and 95th percentile of --repeats runs:

- `GET /metrics` through the test client: the database figures and the exposition of every process's
  counters (prometheus_client multiprocess mode);
- the main page's inbox figures for one portal (counts, oldest pending, worker health, recent events and
  failures): what `overview_with` reads from the inbox;

and, once, the queries the app ran before (a GROUP BY over every row for the scrape's per-event gauges,
and a portal's counts by status), on the same rows.

Run: .venv/bin/python -m bench.metrics_scale [--sizes 1000000,10000000] [--database-url URL | --postgres]
(--database-url: an EMPTY PostgreSQL database; --postgres: a throwaway local cluster, as bench.drill starts.)
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="tb-metrics-scale-"))

from cryptography.fernet import Fernet
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import event, text

from app import create_app
from app.extensions import db
from app.inbox.heartbeat import worker_health
from app.main import service
from app.models import Portal, utcnow
from bench.scratch import scratch_database

PORTALS = 1000
PAYLOAD = '{"event":"ONCRMACTIVITYUPDATE","data":{"FIELDS":{"ID":"1"}},"ts":"1","auth":{}}'
OLD_SCRAPE = [  # app/metrics.py before 0006_metrics13: every row, grouped, on every scrape
    "SELECT event, status, count(*) FROM inbox GROUP BY event, status",
    "SELECT min(received_at) FROM inbox WHERE status = 'pending'",
    "SELECT member_id, count(*), min(received_at) FROM inbox WHERE status = 'pending' GROUP BY member_id",
]
OLD_PAGE = "SELECT status, count(*) FROM inbox WHERE member_id = :m GROUP BY status"  # the portal's history
ROW = "dedup_key, event, member_id, payload, status, attempts, next_attempt_at, last_error, received_at, " + (
    "processed_at"
)


# The statements are built from this module's constants only (no input): S608 does not apply.
def sqlite_rows(status: str, key: str, member: str) -> str:
    return (
        "WITH RECURSIVE n(i) AS (SELECT :start UNION ALL SELECT i + 1 FROM n WHERE i + 1 < :stop) "  # noqa: S608
        f"INSERT INTO inbox ({ROW}) SELECT printf('{key}%063d', i), 'ONCRMACTIVITYUPDATE', {member}, "
        f"'{PAYLOAD}', '{status}', 1, :at, NULL, :at, :at FROM n"
    )


def postgres_rows(status: str, key: str, member: str) -> str:
    return (
        f"INSERT INTO inbox ({ROW}) SELECT '{key}' || lpad(i::text, 63, '0'), 'ONCRMACTIVITYUPDATE', "  # noqa: S608
        f"{member}, convert_to('{PAYLOAD}', 'UTF8'), '{status}', 1, :at, NULL, :at, :at "
        "FROM generate_series(:start, :stop - 1) AS i"
    )


def insert_rows(postgres: bool, status: str, start: int, stop: int, *, portals: int, key: str) -> None:
    """Rows start..stop-1 of one status, spread over `portals` portals, in one statement per million."""
    member = f"'p' || lpad((i % {portals})::text, 4, '0')" if postgres else f"printf('p%04d', i % {portals})"
    statement = text((postgres_rows if postgres else sqlite_rows)(status, key, member))
    at = (utcnow() - timedelta(minutes=5)).replace(tzinfo=None)  # UTCDateTime stores naive UTC
    for chunk in range(start, stop, 1_000_000):
        db.session.execute(statement, {"start": chunk, "stop": min(chunk + 1_000_000, stop), "at": at})
        db.session.commit()


def build(postgres: bool, rows: int, done: int) -> int:
    """Grow the done rows to `rows` (from `done`); the first call adds the pending and failed rows too."""
    if done == 0:
        insert_rows(postgres, "pending", 0, 1000, portals=100, key="q")
        insert_rows(postgres, "failed", 0, 100, portals=100, key="f")
    insert_rows(postgres, "done", done, rows, portals=PORTALS, key="d")
    db.session.execute(text("DELETE FROM inbox_tallies"))  # what app.inbox.queue keeps as rows settle
    db.session.execute(
        text(
            "INSERT INTO inbox_tallies (member_id, done) "
            "SELECT member_id, count(*) FROM inbox WHERE status = 'done' GROUP BY member_id"
        )
    )
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    return rows


def timed(action: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """Median and 95th percentile of `repeats` runs, in ms."""
    runs = []
    for _ in range(repeats):
        began = time.perf_counter()
        action()
        runs.append((time.perf_counter() - began) * 1000)
    runs.sort()
    return statistics.median(runs), runs[min(len(runs) - 1, round(0.95 * (len(runs) - 1)))]


def main_page_figures(member_id: str) -> None:
    """What the administrators' page reads from the inbox for one portal (app.main.service)."""
    service.overview_with(Portal(member_id=member_id), None, "")
    db.session.rollback()


def plans(app: Flask) -> list[str]:
    """How the database reads the inbox for one scrape and one main page's figures (each plan line once)."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if " inbox" in statement and statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert app.test_client().get("/metrics").status_code == 200
        main_page_figures("p0007")
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    postgres = db.engine.dialect.name == "postgresql"
    lines: list[str] = []
    with db.engine.connect() as connection:
        for statement, parameters in seen:
            explain = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
            for row in connection.exec_driver_sql(explain + statement, parameters):
                line = str(row[0] if postgres else row[-1]).strip()
                if ("inbox" in line or "Index" in line) and line not in lines:
                    lines.append(line)
    return lines


def measure(app: Flask, rows: int, repeats: int, old: bool) -> dict[str, Any]:
    client = app.test_client()
    assert client.get("/metrics").status_code == 200
    scrape = timed(lambda: client.get("/metrics"), repeats)
    page = timed(lambda: main_page_figures("p0007"), repeats)
    figures: dict[str, Any] = {"rows": rows, "scrape": scrape, "page": page}
    if old:
        began = time.perf_counter()
        for statement in OLD_SCRAPE:
            db.session.execute(text(statement)).all()
        figures["old_scrape"] = (time.perf_counter() - began) * 1000
        began = time.perf_counter()
        db.session.execute(text(OLD_PAGE), {"m": "p0007"}).all()
        figures["old_page"] = (time.perf_counter() - began) * 1000
        db.session.rollback()
    health = worker_health(db.session)
    figures["pending"] = health.pending
    return figures


def report(figures: dict[str, Any]) -> str:
    scrape, page = figures["scrape"], figures["page"]
    line = (
        f"{figures['rows']:>11,} rows | /metrics {scrape[0]:7.2f} ms (p95 {scrape[1]:7.2f}) | "
        f"main page inbox figures {page[0]:6.2f} ms (p95 {page[1]:6.2f})"
    )
    if "old_scrape" in figures:
        old = f"scrape queries {figures['old_scrape']:9.1f} ms, page counts {figures['old_page']:7.1f} ms"
        line += f" | before: {old}"
    return line


def run(url: str, sizes: list[int], repeats: int, old: bool) -> None:
    app = create_app(
        {
            "APP_ENV": "testing",
            "SECRET_KEY": "metrics-scale-" + "s" * 40,
            "TOKEN_KEYS": [Fernet.generate_key().decode()],
            "SQLALCHEMY_DATABASE_URI": url,
        }
    )
    with app.app_context():
        upgrade()
        postgres = db.engine.dialect.name == "postgresql"
        print(
            f"{db.engine.dialect.name}: 1,000 pending rows (100 portals), 100 failed, "
            f"done rows over {PORTALS} portals"
        )
        done = 0
        for size in sizes:
            began = time.perf_counter()
            done = build(postgres, size, done)
            print(f"  built {size:,} done rows in {time.perf_counter() - began:.0f} s", flush=True)
            print("  " + report(measure(app, size, repeats, old)), flush=True)
            for line in plans(app):
                print(f"      plan: {line}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000000,10000000", help="done rows at each measurement")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--database-url", default="", help="an EMPTY PostgreSQL database (default: SQLite)")
    parser.add_argument("--postgres", action="store_true", help="start a throwaway local PostgreSQL cluster")
    parser.add_argument("--no-old", action="store_true", help="skip the queries of before (slow at 10M)")
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    with scratch_database(args.database_url, postgres=args.postgres, prefix="tb-metrics-scale-") as url:
        run(url, sizes, args.repeats, not args.no_old)


if __name__ == "__main__":
    main()
