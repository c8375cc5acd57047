"""The fair claim's cost with many portals and a big backlog: its statements' plans (EXPLAIN) and timings.

`explain_claim(url)` reads a live database (the fairness bench calls it with the backlog in place); run as a
module it builds its own inbox first: one portal with --backlog pending rows, --portals more with 3 each,
and 50,000 done rows, then ANALYZEs and explains. On SQLite `EXPLAIN QUERY PLAN`, on PostgreSQL
`EXPLAIN ANALYZE` (the claim's locks are taken and rolled back: nothing changes).

Run: .venv/bin/python -m bench.claim_plans [--database-url postgresql+psycopg://…] [--backlog 100000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text
from sqlalchemy.orm import Session

from app.extensions import db
from app.inbox.claims import CLICKED, _due, _locked, due_portals, plan_claim
from app.models import InboxEvent, utcnow


def statements(session: Session) -> dict[str, Any]:
    """The claim's three statements as it runs them: clicks, the portal walk's first step, a portal's turn."""
    now = utcnow()
    busiest = session.execute(
        text("SELECT member_id FROM inbox WHERE status = 'pending' GROUP BY member_id ORDER BY count(*) DESC")
    ).scalar()
    captured: list[Any] = []
    execute = session.execute

    def capture(statement: Any, *args: Any, **kwargs: Any) -> Any:
        captured.append(statement)
        return execute(statement, *args, **kwargs)

    session.execute = capture  # type: ignore[method-assign]
    try:
        due_portals(session, now)
    finally:
        session.execute = execute  # type: ignore[method-assign]
    turn = _due(now).where(InboxEvent.member_id == (busiest or ""), InboxEvent.event != CLICKED)
    return {
        "clicks": _locked(_due(now).where(InboxEvent.event == CLICKED), 50),
        "portals": captured[0],
        "turn": _locked(turn, 50),
    }


def explain_claim(url: str, *, repeats: int = 5) -> dict[str, Any]:
    """Plans of the claim's statements and the time of whole claims (rolled back) on this database."""
    engine = create_engine(url)
    postgres = engine.dialect.name == "postgresql"
    plans: dict[str, list[str]] = {}
    with Session(engine) as session:
        pending = session.execute(text("SELECT count(*) FROM inbox WHERE status = 'pending'")).scalar()
        for name, statement in statements(session).items():
            sql = str(statement.compile(engine, compile_kwargs={"literal_binds": True}))
            prefix = "EXPLAIN ANALYZE " if postgres else "EXPLAIN QUERY PLAN "
            plans[name] = [
                str(row[0] if postgres else row[-1]) for row in session.execute(text(prefix + sql))
            ]
            session.rollback()
        timings = []
        for _ in range(repeats):
            began = time.perf_counter()
            plan = plan_claim(session, utcnow(), limit=50, after=None)
            timings.append(round((time.perf_counter() - began) * 1000, 2))
            session.rollback()
        portals = len(due_portals(session, utcnow()))
    engine.dispose()
    return {
        "database": engine.dialect.name,
        "pending": pending,
        "due_portals": portals,
        "claimed_rows": len(plan.rows),
        "claim_ms": timings,
        "plans": plans,
    }


def build(url: str, backlog: int, portals: int) -> None:
    """A synthetic inbox: one big backlog, many small ones, and done rows beside them."""
    engine = create_engine(url)
    db.metadata.create_all(engine)
    now = utcnow()

    def row(key: str, member_id: str, status: str, at: Any) -> dict[str, Any]:
        return {
            "dedup_key": key,
            "event": "ONCRMACTIVITYUPDATE",
            "member_id": member_id,
            "payload": {},
            "status": status,
            "attempts": 0,
            "next_attempt_at": at,
            "received_at": at,
        }

    rows = [
        row(f"a{i}", "busy-portal", "pending", now - timedelta(seconds=backlog - i)) for i in range(backlog)
    ]
    rows += [row(f"p{p}-{i}", f"portal-{p:05d}", "pending", now) for p in range(portals) for i in range(3)]
    rows += [row(f"d{i}", f"portal-{i % 500:05d}", "done", now) for i in range(50_000)]
    with engine.begin() as connection:
        for start in range(0, len(rows), 5000):
            connection.execute(insert(InboxEvent.__table__), rows[start : start + 5000])
        connection.execute(text("ANALYZE inbox" if engine.dialect.name == "postgresql" else "ANALYZE"))
    engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default="", help="an EMPTY PostgreSQL database (default: SQLite)")
    parser.add_argument("--backlog", type=int, default=100_000)
    parser.add_argument("--portals", type=int, default=1000)
    args = parser.parse_args(argv)
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp(prefix='tb-claims-')) / 'claims.sqlite3'}"
    build(url, args.backlog, args.portals)
    try:
        report = explain_claim(url)
    finally:
        engine = create_engine(url)
        db.metadata.drop_all(engine)
        engine.dispose()
    found = f"{report['pending']} pending rows, {report['due_portals']} portals with due rows"
    print(f"{report['database']}: {found}")
    print_plans(report)


def print_plans(report: dict[str, Any]) -> None:
    """Whole claims' times and each statement's plan, as explain_claim found them."""
    what = f"clicks, portal walk, buckets, {report['claimed_rows']} rows locked"
    print(f"whole claims ({what}): {report['claim_ms']} ms")
    for name, plan in report["plans"].items():
        print(f"-- {name}")
        for line in plan:
            print(f"   {line}")


if __name__ == "__main__":
    main()
