"""How the app's costs grow with portals and inbox history: 1,000 → 10,000 portals, 100,000 → 10,000,000 rows.

Builds, with bulk SQL on the app's migrated schema (SQLite: recursive CTEs; PostgreSQL: generate_series),
`--steps` of (portals, inbox rows), each grown from the last: portal rows with their rate-limit buckets and
tallies; done rows (99.9 %: processed over the last 14 days, so half are past the 7-day window), and at each
step 5,000 pending rows (a fifth of them claimed: under a worker's lease) and 500 parked failures, all spread
over the portals with a skew (portal k of P gets a share falling as (k/P)^(1/3): the busiest holds ~5 % of
10,000 portals' rows); and one mirrored activity per 20 rows. Portal 0 is the sandbox's portal, installed
for real: the busiest, so each figure below is read for the portal with the most history. At each step,
median and 95th percentile of --repeats runs, in process on a real database, the sandbox over HTTP:

- `GET /metrics` (every process's counters and the database figures);
- the main page's inbox figures for the busiest portal (`overview_with`: counts, oldest, recent, failures);
- the whole admin page (`POST /` from the administrator's frame: the verifying batch, overview, render),
  and the database's share of it (time inside the driver's execute, statements per page);
- an activity page open (`POST /placements/activity-menu`) and its database share;
- the worker's claim (`plan_claim`: due clicks, the portal walk, eight turns; rolled back);
- one retention batch (a DELETE of 1,000 done rows past their window, committed).

Then the claim's plans on the biggest inbox (bench.claim_plans: EXPLAIN QUERY PLAN / EXPLAIN ANALYZE).

Run: .venv/bin/python -m bench.scale [--steps 1000:100000,10000:100000,10000:1000000,10000:10000000]
     [--repeats 20] [--postgres | --database-url URL]   (--database-url: an EMPTY PostgreSQL database)
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="tb-scale-"))

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import Connection, event, text

from app import create_app
from app.extensions import db
from app.inbox.claims import plan_claim
from app.inbox.retention import Policy, _delete_batch
from app.main import service
from app.models import Portal, utcnow
from app.portals.setup import register_portal
from bench import claim_plans
from bench.claim_plans import explain_claim
from bench.client_bench import config
from bench.loadgen import admin_frame, install_portal
from bench.metrics_scale import timed
from bench.page_bench import PLACEMENT
from bench.scratch import scratch_database
from sandbox.testing import RunningSandbox, start_sandbox

STEPS = "1000:100000,10000:100000,10000:1000000,10000:10000000"
PENDING, CLAIMED_SHARE, FAILED = 5000, 5, 500  # rebuilt at each step over its portals; every 5th claimed
CHUNK = 1_000_000  # rows per INSERT statement
PAYLOAD = '{"event":"ONCRMACTIVITYUPDATE","data":{"FIELDS":{"ID":"1"}},"ts":"1","auth":{}}'
ROW = "dedup_key, event, member_id, payload, status, attempts, next_attempt_at, received_at, processed_at"


@dataclass
class Dialect:
    """The few SQL spellings that differ between SQLite and PostgreSQL, and the build's connection."""

    postgres: bool
    connection: Connection | None = None

    def run(self, sql: str, **params: Any) -> None:
        """One statement of the build, committed."""
        assert self.connection is not None, "only within building()"
        self.connection.execute(text(sql), params)
        self.connection.commit()

    def numbers(self) -> str:
        """Rows :start .. :stop - 1 as `n(i)`."""
        if self.postgres:
            return "n(i) AS (SELECT generate_series(CAST(:start AS bigint), CAST(:stop AS bigint) - 1))"
        return "RECURSIVE n(i) AS (SELECT :start UNION ALL SELECT i + 1 FROM n WHERE i + 1 < :stop)"

    def portal(self, index: str) -> str:
        """The member_id of portal number `index`: 0 is the sandbox's (:real), the rest p00001…"""
        name = f"'p' || lpad(({index})::text, 5, '0')" if self.postgres else f"printf('p%05d', {index})"
        return f"CASE WHEN ({index}) = 0 THEN :real ELSE {name} END"

    def skewed(self, portals: int) -> str:
        """A portal number for row i: a hash of i in [0, 1), cubed, times the portals (portal 0 busiest)."""
        unit = "(((i * 2654435761) % 4294967296) / 4294967296.0)"
        scaled = f"{portals} * {unit} * {unit} * {unit}"
        # CAST rounds on PostgreSQL and truncates on SQLite (whose floor() is optional): floor first there.
        return f"CAST(floor({scaled}) AS INTEGER)" if self.postgres else f"CAST({scaled} AS INTEGER)"

    def ago(self, seconds: str) -> str:
        """:at minus `seconds` (an integer expression), as the column stores it (naive UTC)."""
        if self.postgres:
            return f"(CAST(:at AS timestamp) - make_interval(secs => {seconds}))"
        return f"datetime(:at, (-({seconds})) || ' seconds')"

    def key(self, prefix: str) -> str:
        return f"'{prefix}' || lpad(i::text, 12, '0')" if self.postgres else f"printf('{prefix}%012d', i)"

    def payload(self) -> str:
        return f"convert_to('{PAYLOAD}', 'UTF8')" if self.postgres else f"CAST('{PAYLOAD}' AS BLOB)"


@contextmanager
def building(d: Dialect) -> Iterator[Dialect]:
    """One connection for the build; on SQLite with a 2 GB page cache and no fsync (the build only: a lost
    build is built again), so random index inserts stay in memory. The app's own connections keep FULL."""
    with db.engine.connect() as connection:
        if not d.postgres:
            connection.exec_driver_sql("PRAGMA cache_size=-2000000")
            connection.exec_driver_sql("PRAGMA synchronous=OFF")
        d.connection = connection
        try:
            yield d
        finally:
            d.connection = None
            if not d.postgres:
                connection.exec_driver_sql("PRAGMA cache_size=-2000")
                connection.exec_driver_sql("PRAGMA synchronous=FULL")


def add_portals(d: Dialect, start: int, stop: int, real: str) -> None:
    """Portals start..stop-1 (never 0: the sandbox's is installed for real), their buckets and tallies."""
    at = utcnow().replace(tzinfo=None)
    d.run(
        f"WITH {d.numbers()} INSERT INTO portals (member_id, domain, client_endpoint, scope, state, "  # noqa: S608
        "access_token_enc, refresh_token_enc, token_version, generation, created_at, updated_at) "
        f"SELECT {d.portal('i')}, {d.portal('i')} || '.example.test', "
        f"'https://' || {d.portal('i')} || '.example.test/rest/', 'crm', 'active', 'sealed', 'sealed', 0, 1, "
        ":at, :at FROM n",
        start=max(start, 1),
        stop=stop,
        real=real,
        at=at,
    )
    d.run(
        "INSERT INTO rate_limits (portal_id, level, drained_at) SELECT id, 0, 0 FROM portals "
        "WHERE id NOT IN (SELECT portal_id FROM rate_limits)"
    )


def add_done(d: Dialect, start: int, stop: int, portals: int, real: str) -> None:
    """Done rows start..stop-1, skewed over the portals, processed over the last 14 days."""
    at = utcnow().replace(tzinfo=None)
    processed = d.ago("(i * 7919) % 1209600")
    statement = (
        f"WITH {d.numbers()} INSERT INTO inbox ({ROW}) SELECT {d.key('d')}, "  # noqa: S608
        f"'ONCRMACTIVITYUPDATE', {d.portal(d.skewed(portals))}, {d.payload()}, 'done', 1, "
        f"{processed}, {processed}, {processed} FROM n"
    )
    for chunk in range(start, stop, CHUNK):
        d.run(statement, start=chunk, stop=min(chunk + CHUNK, stop), real=real, at=at)


def reset_backlog(d: Dialect, step: int, portals: int, real: str) -> None:
    """Today's backlog over this step's portals: pending rows (every 5th claimed) and parked failures."""
    d.run("DELETE FROM inbox WHERE status IN ('pending', 'failed')")
    at = utcnow().replace(tzinfo=None)
    lease = d.ago("-300")  # a claim's lease runs five minutes ahead
    waited = d.ago("i % 120")
    d.run(
        f"WITH {d.numbers()} INSERT INTO inbox ({ROW}) SELECT {d.key(f'q{step}-')}, "  # noqa: S608
        f"'ONCRMACTIVITYUPDATE', {d.portal(d.skewed(portals))}, {d.payload()}, 'pending', "
        f"CASE WHEN i % {CLAIMED_SHARE} = 0 THEN 1 ELSE 0 END, "
        f"CASE WHEN i % {CLAIMED_SHARE} = 0 THEN {lease} ELSE {waited} END, {waited}, NULL FROM n",
        start=0,
        stop=PENDING,
        real=real,
        at=at,
    )
    d.run(
        f"WITH {d.numbers()} INSERT INTO inbox ({ROW}) SELECT {d.key(f'f{step}-')}, "  # noqa: S608
        f"'ONCRMACTIVITYUPDATE', {d.portal(d.skewed(portals))}, {d.payload()}, 'failed', 5, "
        f"{d.ago('3600 + i')}, {d.ago('7200 + i')}, {d.ago('3600 + i')} FROM n",
        start=0,
        stop=FAILED,
        real=real,
        at=at,
    )


def add_activities(d: Dialect, start: int, stop: int, portals: int, real: str) -> None:
    """One mirrored activity per 20 inbox rows, with the rows' skew."""
    d.run(
        f"WITH {d.numbers()} INSERT INTO activities (member_id, activity_id, fields, deleted, "  # noqa: S608
        f"updated_at) SELECT {d.portal(d.skewed(portals))}, 1000000 + i, '{{}}', "
        "CASE WHEN i % 10 = 0 THEN TRUE ELSE FALSE END, :at FROM n",
        start=start,
        stop=stop,
        real=real,
        at=utcnow().replace(tzinfo=None),
    )


def retally(d: Dialect) -> None:
    """inbox_tallies as app.inbox.queue keeps it: each portal's done rows."""
    d.run("DELETE FROM inbox_tallies")
    d.run(
        "INSERT INTO inbox_tallies (member_id, done) "
        "SELECT member_id, count(*) FROM inbox WHERE status = 'done' GROUP BY member_id"
    )
    if d.postgres:  # what autovacuum gives a live table: statistics, and the visibility map that lets
        # the partial indexes' counts read the index only (a freshly bulk-loaded table sends every entry
        # of an index-only scan to the heap until it is vacuumed)
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as vacuum:
            vacuum.exec_driver_sql("VACUUM (ANALYZE)")
        return
    d.run("ANALYZE")
    d.run("PRAGMA wal_checkpoint(TRUNCATE)")  # the build's WAL folded into the file, as in a quiet database


@dataclass
class Built:
    """What the database holds so far."""

    portals: int = 1  # the sandbox's portal, installed for real
    rows: int = 0
    step: int = 0


def grow(d: Dialect, built: Built, portals: int, rows: int, real: str) -> None:
    """Grow the database to `portals` portals and `rows` done rows, then lay a fresh backlog."""
    if portals > built.portals:
        add_portals(d, built.portals, portals, real)
    if rows > built.rows:
        add_done(d, built.rows, rows, portals, real)
        add_activities(d, built.rows // 20, rows // 20, portals, real)
    built.portals, built.rows, built.step = max(portals, built.portals), max(rows, built.rows), built.step + 1
    reset_backlog(d, built.step, built.portals, real)
    retally(d)


@dataclass
class DbTime:
    """Time inside the driver's execute and statements run, while `watching`."""

    seconds: float = 0.0
    statements: int = 0
    started: list[float] = field(default_factory=list)

    def before(self, *args: Any) -> None:
        self.started.append(time.perf_counter())

    def after(self, *args: Any) -> None:
        if self.started:
            self.seconds += time.perf_counter() - self.started.pop()
            self.statements += 1


@contextmanager
def watching(tally: DbTime) -> Iterator[DbTime]:
    event.listen(db.engine, "before_cursor_execute", tally.before)
    event.listen(db.engine, "after_cursor_execute", tally.after)
    try:
        yield tally
    finally:
        event.remove(db.engine, "before_cursor_execute", tally.before)
        event.remove(db.engine, "after_cursor_execute", tally.after)


def with_db_share(action: Callable[[], None], repeats: int) -> dict[str, Any]:
    """p50/p95 of `action`, its median CPU time in this thread, its mean database time and statements per run.

    The CPU time is what a loaded machine does not inflate: waiting for a core (or an fsync) is not CPU. On
    SQLite it includes the database's work (in this thread); PostgreSQL's runs in the server's processes.
    """
    tally, cpu = DbTime(), []

    def counted() -> None:
        began = time.thread_time()
        action()
        cpu.append((time.thread_time() - began) * 1000)

    with watching(tally):
        figures = timed(counted, repeats)
    return {
        "time": figures,
        "cpu": statistics.median(cpu),
        "db_ms": tally.seconds * 1000 / repeats,
        "statements": tally.statements / repeats,
    }


def frame_post(app: Flask, sandbox: RunningSandbox, **options: Any) -> Callable[[], None]:
    """A POST of the administrator's frame (a fresh AUTH_ID each time); refuses anything but the page."""
    client = app.test_client()
    activity_ids = sorted(sandbox.portal.crm.activities)
    count = iter(range(10**9))

    def post() -> None:
        if options:
            opened = {**options, "options": {"ID": activity_ids[next(count) % len(activity_ids)]}}
        else:
            opened = {}
        path, fields = admin_frame(sandbox, sandbox.portal, **opened)
        response = client.post(path, data=fields)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code} {response.data[:200]!r}")

    return post


def claim_once() -> None:
    plan_claim(db.session, utcnow(), limit=50, after=None)
    db.session.rollback()


def prune_once(policy: Policy) -> None:
    if not _delete_batch(db.session, "done", policy, utcnow()):
        raise RuntimeError("no done row past its window")


def measure(app: Flask, sandbox: RunningSandbox, repeats: int) -> dict[str, Any]:
    """Each cost once warmed, then `repeats` times."""
    client = app.test_client()
    real = Portal(member_id=sandbox.portal.member_id)

    def scrape() -> None:
        assert client.get("/metrics").status_code == 200

    def counts() -> None:
        service.overview_with(real, None, "")
        db.session.rollback()

    admin, page = frame_post(app, sandbox), frame_post(app, sandbox, placement=PLACEMENT)
    actions = {"scrape": scrape, "counts": counts, "admin": admin, "page": page, "claim": claim_once}
    for action in actions.values():
        action()
    figures = {name: with_db_share(action, repeats) for name, action in actions.items()}
    policy = Policy()
    figures["prune"] = with_db_share(lambda: prune_once(policy), max(3, repeats // 4))
    return figures


COLUMNS = (
    ("scrape", "/metrics"),
    ("counts", "main page counts"),
    ("admin", "admin page"),
    ("page", "page open"),
    ("claim", "claim"),
    ("prune", "prune batch"),
)


def header() -> str:
    cells = " | ".join(f"{label:>33}" for _, label in COLUMNS)
    return f"{'portals':>7} | {'rows':>11} | {cells}"


def line(portals: int, rows: int, figures: dict[str, Any]) -> str:
    """p50 (p95) ms, CPU ms, and the database's share for the pages: `db x.x ms/n`."""
    cells = []
    for name, _ in COLUMNS:
        p50, p95 = figures[name]["time"]
        cell = f"{p50:6.2f} ({p95:6.2f}) cpu {figures[name]['cpu']:5.2f}"
        if name in ("admin", "page"):
            cell += f" db {figures[name]['db_ms']:4.1f}/{figures[name]['statements']:.0f}"
        cells.append(f"{cell:>33}")
    return f"{portals:>7,} | {rows:>11,} | " + " | ".join(cells)


def run(url: str, steps: list[tuple[int, int]], repeats: int) -> None:
    sandbox = start_sandbox(portals=1)
    try:
        app = create_app(config(url, sandbox))
        with app.app_context():
            upgrade()
            register_portal(install_portal(sandbox))  # binds the placements, as the installer does
            db.session.commit()
            sandbox.configure(limits_enabled=False)
            d = Dialect(db.engine.dialect.name == "postgresql")
            real, built = sandbox.portal.member_id, Built()
            print(
                f"{db.engine.dialect.name}: ms p50 (p95) of {repeats} runs, cpu: this thread's CPU ms (p50); "
                "pages: database ms/statements"
            )
            print(header(), flush=True)
            for portals, rows in steps:
                began = time.perf_counter()
                with building(d):
                    grow(d, built, portals, rows, real)
                built_in = time.perf_counter() - began
                print(line(portals, rows, measure(app, sandbox, repeats)) + f"  (built in {built_in:.0f} s)")
            db.session.remove()
        print_plans(url)
    finally:
        sandbox.stop()


def print_plans(url: str) -> None:
    """The claim's statements' plans and whole claims on the biggest inbox (bench.claim_plans)."""
    report = explain_claim(url)
    print(f"the claim on {report['pending']} pending rows, {report['due_portals']} portals due:")
    claim_plans.print_plans(report)


def parse_steps(value: str) -> list[tuple[int, int]]:
    """ "1000:100000,…" as (portals, rows) pairs, each at least the one before."""
    steps = [tuple(int(n) for n in pair.split(":")) for pair in value.split(",")]
    if any(len(s) != 2 or s[0] < 1 or s[1] < 0 for s in steps):
        raise argparse.ArgumentTypeError("steps are portals:rows pairs, e.g. 1000:100000")
    pairs = [(s[0], s[1]) for s in steps]
    if any(b[0] < a[0] or b[1] < a[1] for a, b in pairwise(pairs)):
        raise argparse.ArgumentTypeError(
            "each step must have at least the portals and rows of the one before"
        )
    return pairs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=parse_steps, default=parse_steps(STEPS), help="portals:rows,…")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--database-url", default="", help="an EMPTY PostgreSQL database (default: SQLite)")
    parser.add_argument("--postgres", action="store_true", help="start a throwaway local PostgreSQL cluster")
    args = parser.parse_args(argv)
    with scratch_database(args.database_url, postgres=args.postgres, prefix="tb-scale-") as url:
        run(url, args.steps, args.repeats)


if __name__ == "__main__":
    main()
