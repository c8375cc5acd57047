"""POST /events under gunicorn against a bare Flask endpoint under the same gunicorn, measured in one run.

- throughput and p99 latency of /events (every accepted event committed before its 200: group commit)
  against bench/bare_app.py (reads the form, answers 200), same gunicorn settings, same load, same run;
  target: /events >= 0.5 of bare;
- zero loss: the inbox holds exactly the events answered "accepted", no more, no fewer;
- portal requests per processed event: the worker drains the accepted events against the sandbox.

The load generator is spawned processes of threads, each thread posting real event bodies (form-encoded,
as a portal sends them, every one distinct) over one keep-alive connection to 127.0.0.1 for `--seconds`.

Run: .venv/bin/python -m bench.events_bench [--database-url postgresql+psycopg://…/db] [--seconds 10]
With a PostgreSQL URL the bench creates its own database beside the named one and drops it afterwards.
"""

from __future__ import annotations

import argparse
import http.client
import math
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import create_engine, func, make_url, select, text

from app import create_app
from app.extensions import db
from app.inbox.queue import Inbox
from app.inbox.worker import Worker, worker_client
from app.models import InboxEvent, InboxStatus
from app.portals.store import set_application_token
from bench.client_bench import config as bench_config
from bench.loadgen import install_portal
from sandbox.crm.seed import KINDS, add
from sandbox.testing import start_sandbox

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # the load generator posts nowhere else
ACTIVITY_POOL = 2000  # real to-dos the events name; (activity, ts) keeps every event distinct


@dataclass
class Load:
    """What one load run saw."""

    seconds: float
    latencies: list[float] = field(default_factory=list)
    answers: Counter = field(default_factory=Counter)  # "200:accepted", "503", "error:…"
    accepted: set[tuple[int, str]] = field(default_factory=set)  # (activity id, ts) answered "accepted"
    server_cpu: float = 0.0  # CPU seconds the gunicorn workers spent, user + system

    @property
    def cpu_per_request(self) -> float:
        """Server CPU milliseconds per answered request: unlike req/s, not skewed by other load."""
        return self.server_cpu / len(self.latencies) * 1000 if self.latencies else 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def p(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)] * 1000 if ordered else 0.0


def main() -> None:
    args = parse_args()
    sandbox = start_sandbox(portals=1)
    try:
        with bench_database(args.database_url) as url:
            report = run(args, sandbox, url)
    finally:
        sandbox.stop()
    print_report(args, report)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default="", help="default: a temporary SQLite file")
    parser.add_argument("--seconds", type=float, default=10.0, help="load time per server")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=8, help="gunicorn threads per worker")
    parser.add_argument("--loaders", type=int, default=2, help="load generator processes")
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections in all")
    return parser.parse_args()


@contextmanager
def bench_database(url: str) -> Iterator[str]:
    """A temporary SQLite file, or a fresh PostgreSQL database next to `url`'s, dropped afterwards."""
    if not url:
        yield f"sqlite:///{tempfile.mkdtemp(prefix='tb-events-bench-')}/bench.sqlite3"
        return
    name = f"tb_events_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(args: argparse.Namespace, sandbox: Any, url: str) -> dict[str, Any]:
    app = create_app(bench_config(url, sandbox))
    with app.app_context():
        db.create_all()
        member_id, token = installed_portal(sandbox)
        activities = make_activities(sandbox, ACTIVITY_POOL)
        db.session.remove()
        db.engine.dispose()  # gunicorn's processes open their own connections
        env = server_env(app.config, args.threads)
        bare = measure(args, ["bench.bare_app:app"], env, member_id, token, activities)
        events = measure(args, ["app:create_app()"], env, member_id, token, activities)
        stored = stored_events()
        requests_made, processed = drain(sandbox)
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
    return {
        "url": make_url(url).get_backend_name(),
        "bare": bare,
        "events": events,
        "stored": stored,
        "portal_requests": requests_made,
        "processed": processed,
    }


def installed_portal(sandbox: Any) -> tuple[str, str]:
    sandbox.reset()
    sandbox.configure(limits_enabled=False)
    portal = install_portal(sandbox)
    token = sandbox.app.application_token
    set_application_token(portal, token)
    db.session.commit()
    return portal.member_id, token


def make_activities(sandbox: Any, count: int) -> list[int]:
    """Put `count` to-dos on the sandbox portal (its own seeding), so the worker reads real activities."""
    portal = sandbox.portal
    owner = sorted(portal.owners)[0]
    now = datetime.now(UTC).replace(microsecond=0)
    with sandbox.state.lock:
        before = set(portal.crm.activities)
        for _ in range(count):
            add(portal, KINDS[3], owner, 1, now)
        return sorted(set(portal.crm.activities) - before)


def server_env(config: Any, threads: int) -> dict[str, str]:
    return {
        "WEB_THREADS": str(threads),
        **os.environ,
        "APP_ENV": "testing",
        "SECRET_KEY": config["SECRET_KEY"],
        "TOKEN_KEYS": ",".join(config["TOKEN_KEYS"]),
        "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
        "LOG_LEVEL": "WARNING",
    }


def measure(
    args: argparse.Namespace,
    target: list[str],
    env: dict[str, str],
    member_id: str,
    token: str,
    ids: list[int],
) -> Load:
    """Serve `target` under gunicorn, load it for `args.seconds`, stop it."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "--preload", "--worker-class", "gthread"]
    command += ["--workers", str(args.workers), "--threads", str(args.threads), "--keep-alive", "30"]
    command += ["--bind", f"{HOST}:{port}", "--log-level", "warning", *target]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        wait_for_port(port)
        before = workers_cpu(server.pid)
        load = generate_load(args, port, member_id, token, ids)
        load.server_cpu = workers_cpu(server.pid) - before
        return load
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)


def workers_cpu(master: int) -> float:
    """CPU seconds (user + system) used so far by the gunicorn master's worker processes (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for task in Path(f"/proc/{master}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                fields = Path(f"/proc/{child}/stat").read_text().rpartition(")")[2].split()
            except FileNotFoundError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / ticks


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not listen on {port}")


def generate_load(args: argparse.Namespace, port: int, member_id: str, token: str, ids: list[int]) -> Load:
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    threads = max(1, args.connections // args.loaders)
    start_at = time.time() + 2.0  # every process starts posting at once, after its imports
    children = [
        context.Process(
            target=load_process,
            args=(port, member_id, token, ids, n, threads, start_at, args.seconds, out),
        )
        for n in range(args.loaders)
    ]
    for child in children:
        child.start()
    load = Load(seconds=args.seconds)
    for _ in children:
        latencies, answers, accepted = out.get(timeout=args.seconds + 120)
        load.latencies += latencies
        load.answers.update(answers)
        load.accepted |= accepted
    for child in children:
        child.join(30)
    return load


def load_process(
    port: int,
    member_id: str,
    token: str,
    ids: list[int],
    loader: int,
    threads: int,
    start_at: float,
    seconds: float,
    out: Any,
) -> None:
    """Threads posting distinct events over keep-alive connections until `start_at + seconds`."""
    import threading

    results: list[tuple[list[float], Counter, set]] = []
    lock = threading.Lock()

    def post_events(thread: int) -> None:
        connection = http.client.HTTPConnection(HOST, port, timeout=30)
        latencies: list[float] = []
        answers: Counter = Counter()
        accepted: set[tuple[int, str]] = set()
        time.sleep(max(0.0, start_at - time.time()))
        n = 0
        while time.time() < start_at + seconds:
            activity_id, ts = ids[n % len(ids)], f"{loader}{thread:03d}{n:08d}"
            body = event_body(member_id, token, activity_id, ts)
            began = time.perf_counter()
            outcome = post(connection, body)
            latencies.append(time.perf_counter() - began)
            answers[outcome] += 1
            if outcome == "200:accepted":
                accepted.add((activity_id, ts))
            if outcome.startswith("error"):
                connection.close()
                connection = http.client.HTTPConnection(HOST, port, timeout=30)
            n += 1
        connection.close()
        with lock:
            results.append((latencies, answers, accepted))

    workers = [threading.Thread(target=post_events, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    out.put(
        (
            [x for r in results for x in r[0]],
            sum((r[1] for r in results), Counter()),
            set().union(*(r[2] for r in results)),
        )
    )


def event_body(member_id: str, token: str, activity_id: int, ts: str) -> str:
    """An ONCRMACTIVITYADD as a portal posts it (notes §2.1)."""
    pairs = [
        ("event", "ONCRMACTIVITYADD"),
        ("event_handler_id", "7"),
        ("data[FIELDS][ID]", str(activity_id)),
        ("ts", ts),
        ("auth[access_token]", "a" * 70),
        ("auth[expires]", "1762093575"),
        ("auth[expires_in]", "3600"),
        ("auth[scope]", "crm"),
        ("auth[domain]", "demo.bitrix24.test"),
        ("auth[server_endpoint]", "https://oauth.bitrix.info/rest/"),
        ("auth[status]", "L"),
        ("auth[client_endpoint]", "https://demo.bitrix24.test/rest/"),
        ("auth[member_id]", member_id),
        ("auth[user_id]", "1"),
        ("auth[refresh_token]", "r" * 70),
        ("auth[application_token]", token),
    ]
    return urlencode(pairs)


def post(connection: http.client.HTTPConnection, body: str) -> str:
    try:
        connection.request(
            "POST", "/events", body=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        response = connection.getresponse()
        payload = response.read()
    except (OSError, http.client.HTTPException) as error:
        return f"error:{type(error).__name__}"
    if response.status != 200:
        return str(response.status)
    return "200:accepted" if b'"accepted"' in payload else "200:other"


def stored_events() -> set[tuple[int, str]]:
    db.session.expire_all()
    payloads = db.session.scalars(select(InboxEvent.payload))
    return {(int(p["data"]["FIELDS"]["ID"]), str(p["ts"])) for p in payloads}


def drain(sandbox: Any) -> tuple[int, int]:
    """Run the worker over the inbox against the sandbox; return (portal HTTP requests, events done)."""
    requests: list[str] = []

    def connect(portal: Any) -> Any:
        client = worker_client(portal)
        client.observe = lambda method, outcome: requests.append(f"{method}:{outcome}")
        return client

    Worker(Inbox(db.session), connect=connect).run(once=True)
    done = db.session.scalar(
        select(func.count()).select_from(InboxEvent).where(InboxEvent.status == InboxStatus.DONE)
    )
    return len(requests), int(done or 0)


def print_report(args: argparse.Namespace, report: dict[str, Any]) -> None:
    bare, events = report["bare"], report["events"]
    settings = (
        f"gunicorn gthread {args.workers} workers x {args.threads} threads, {args.connections} connections"
    )
    print(f"POST /events vs bare Flask ({report['url']}; {settings}; {args.seconds:g} s each)")
    for label, load in (("bare", bare), ("events", events)):
        print(
            f"  {label:<7} {load.rate:8.0f} req/s   p50 {load.p(0.5):6.1f} ms   p99 {load.p(0.99):6.1f} ms"
            f"   server CPU {load.cpu_per_request:.2f} ms/request   answers {dict(load.answers)}"
        )
    print(f"  throughput ratio /events vs bare = {events.rate / bare.rate:.2f}  (target >= 0.5)")
    print(f"  server CPU per request /events vs bare = {events.cpu_per_request / bare.cpu_per_request:.2f}")
    stored, accepted = report["stored"], events.accepted
    lost, extra = len(accepted - stored), len(stored - accepted)
    print(f"  accepted {len(accepted)}, stored {len(stored)}: lost {lost}, stored but not accepted {extra}")
    print("    (target: 0 lost; a row stored but answered non-200 would be safe, never the reverse)")
    processed, made = report["processed"], report["portal_requests"]
    per = made / processed if processed else float("nan")
    print(
        f"worker: {processed} events processed with {made} portal requests = {per:.4f} per event"
        f"  (bound ceil(n/50)/n = {math.ceil(processed / 50) / max(processed, 1):.4f})"
    )


if __name__ == "__main__":
    main()
