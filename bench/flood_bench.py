"""Fake page opens in flight against gunicorn + the sandbox: what real users and the worker see, side by side.

The attack of issue #11 item 3: page opens with a portal's real member_id and DOMAIN (every user of the portal
knows them) and made-up AUTH_IDs, many in flight at once. Three phases of `--seconds` each, in one run, the
buckets emptied before each:

- quiet: a real user opens portal A's activity page again and again (a fresh AUTH_ID each time, from
  127.0.0.2), another user does the same on portal B, and `flask worker` drains a backlog of A's events;
- flood, one address: the same, plus `--flood` threads posting fake opens for portal A without pause, all
  from 127.0.0.1 (the per-address budget stops them);
- flood, many addresses: the same, each fake-open thread from its own loopback address 127.0.1.x (the
  per-portal budget stops them; A's own users are then refused too, at once, until the window drains).

Printed side by side: the real opens' p50/p99 on A and on B, the worker's events/s (verified work on A's
own bucket, at its plan's 2 requests/s), the fake opens' answers and the portal requests they cost; the
flood/quiet ratios. The fake opens come from their own process, the worker runs as its own process.

Run: .venv/bin/python -m bench.flood_bench [--seconds 15] [--flood 64] [--workers 2] [--threads 4]
"""

from __future__ import annotations

import argparse
import http.client
import math
import multiprocessing
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, insert, select, update

from app import create_app
from app.extensions import db
from app.inbox.queue import INBOX, inbox_row
from app.models import InboxEvent, InboxStatus, RateLimitBucket, VerifyThrottle
from bench.client_bench import config as bench_config
from bench.events_wrk import ROOT, free_port, server_env, wait_for_port
from bench.loadgen import admin_frame, install_portal
from sandbox.testing import RunningSandbox, start_sandbox

HOST = "127.0.0.1"
USER_ADDRESS = "127.0.0.2"  # the real users' client address; the flood comes from 127.0.1.x
WORKER = ("--app", "app", "worker")  # the Procfile's worker process
BACKLOG = 20000  # events of portal A waiting for the worker


@dataclass
class Phase:
    """What one phase saw."""

    seconds: float
    opens: dict[str, list[float]] = field(default_factory=lambda: {"A": [], "B": []})
    open_answers: Counter = field(default_factory=Counter)
    fake_answers: Counter = field(default_factory=Counter)
    processed: int = 0
    portal_requests: dict[str, int] = field(default_factory=dict)

    def p(self, portal: str, q: float) -> float:
        ordered = sorted(self.opens[portal])
        return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)] * 1000 if ordered else 0.0

    @property
    def worker_rate(self) -> float:
        return self.processed / self.seconds


def main() -> None:
    args = parse_args()
    sandbox = start_sandbox(portals=2)
    try:
        phases = run(args, sandbox)
    finally:
        sandbox.stop()
    print_report(args, phases)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each phase")
    parser.add_argument("--flood", type=int, default=64, help="fake opens in flight (threads)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    return parser.parse_args()


def run(args: argparse.Namespace, sandbox: RunningSandbox) -> list[Phase]:
    app = create_app(bench_config("", sandbox))
    with app.app_context():
        db.create_all()
        sandbox.configure(limits_enabled=False)  # the app's own shared bucket is what shapes the load
        a, b = (install_portal(sandbox, portal=p) for p in sandbox.portals[:2])
        for portal in (a, b):  # the plan's real limits (2/s, 50), not the tests' generous override
            portal.rate_limit.rate = portal.rate_limit.burst = None  # type: ignore[union-attr]
        db.session.commit()
        add_backlog(sandbox, a.member_id)
        db.session.remove()
        port = free_port()
        env = environment(args, app.config, sandbox, port)
        server = start_gunicorn(args, env, port)
        worker = subprocess.Popen(
            [sys.executable, "-m", "flask", *WORKER], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
        )
        try:
            wait_until_working()
            spread = [f"127.0.1.{n % 250 + 1}" for n in range(args.flood)]
            phases = [
                measure(args, app, sandbox, port, flood=[]),
                measure(args, app, sandbox, port, flood=[HOST] * args.flood),
                measure(args, app, sandbox, port, flood=spread),
            ]
        finally:
            for process in (worker, server):
                process.send_signal(signal.SIGTERM)
                process.wait(60)
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
    return phases


def add_backlog(sandbox: RunningSandbox, member_id: str) -> None:
    """BACKLOG update events of portal A's real activities, pending in the inbox."""
    ids = sorted(sandbox.portals[0].crm.activities)
    now = datetime.now(UTC)
    rows = [
        inbox_row(
            {
                "event": "ONCRMACTIVITYUPDATE",
                "event_handler_id": "1",
                "ts": str(1_700_000_000 + n),
                "data": {"FIELDS": {"ID": str(ids[n % len(ids)])}},
            },
            member_id,
            now,
        )
        for n in range(BACKLOG)
    ]
    db.session.execute(insert(INBOX), rows)
    db.session.commit()


def environment(args: argparse.Namespace, config: Any, sandbox: RunningSandbox, port: int) -> dict[str, str]:
    """The processes' environment: the bench database, the sandbox as portal and OAuth server."""
    return {
        **server_env(config, args.threads),
        "B24_CLIENT_ID": config["B24_CLIENT_ID"],
        "B24_CLIENT_SECRET": config["B24_CLIENT_SECRET"],
        "B24_OAUTH_URL": config["B24_OAUTH_URL"],
        "B24_ALLOWED_HOSTS": "127.0.0.1:*",
        "B24_JS_URL": f"{sandbox.portal_url}/bx24.js",
        "APP_BASE_URL": f"http://{HOST}:{port}",
    }


def start_gunicorn(args: argparse.Namespace, env: dict[str, str], port: int) -> Any:
    """The app as the Procfile serves it (gthread, --preload)."""
    command = [sys.executable, "-m", "gunicorn", "--preload", "--worker-class", "gthread"]
    command += ["--workers", str(args.workers), "--threads", str(args.threads), "--keep-alive", "30"]
    command += ["--bind", f"{HOST}:{port}", "--log-level", "warning", "app:create_app()"]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    wait_for_port(port)
    return server


def measure(
    args: argparse.Namespace, app: Any, sandbox: RunningSandbox, port: int, *, flood: list[str]
) -> Phase:
    """One phase: real opens on A and B, the worker on A's backlog, a fake-open thread per `flood` address."""
    empty_buckets()
    phase = Phase(seconds=args.seconds)
    path, fields = frame(sandbox, 0, sorted(sandbox.portals[0].crm.activities)[0])
    context = multiprocessing.get_context("spawn")
    out, ready, start = context.Queue(), context.Event(), context.Value("d", 0.0)
    flooder = context.Process(
        target=flood_process, args=(port, path, fields, flood, start, args.seconds, ready, out)
    )
    flooder.start()
    ready.wait(120)  # its imports done: everybody starts together
    start_at = start.value = time.time() + 0.5
    end = start_at + args.seconds
    lock = threading.Lock()
    openers = [
        threading.Thread(target=real_opens, args=(sandbox, n, port, start_at, end, phase, lock))
        for n in (0, 1)
    ]
    for thread in openers:
        thread.start()
    time.sleep(max(0.0, start_at - time.time()))
    before, done = portal_requests(sandbox), done_events()
    for thread in openers:
        thread.join()
    phase.processed = done_events() - done
    after = portal_requests(sandbox)
    phase.portal_requests = {name: after[name] - before.get(name, 0) for name in after}
    phase.fake_answers.update(out.get(timeout=args.seconds + 120))
    flooder.join(30)
    return phase


def empty_buckets() -> None:
    """Each phase starts from empty rate buckets and no throttle memory."""
    db.session.execute(update(RateLimitBucket).values(level=0.0, drained_at=0.0))
    db.session.query(VerifyThrottle).delete()
    db.session.commit()


def frame(sandbox: RunningSandbox, n: int, activity_id: int) -> tuple[str, dict[str, str]]:
    """The main page's frame POST for user 1 of portal n, asking for an activity (view_activity)."""
    options = {"action": "view_activity", "activity_id": activity_id}
    return admin_frame(sandbox, sandbox.portals[n], options=options)


def post(connection: http.client.HTTPConnection, path: str, fields: dict[str, str]) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    connection.request("POST", path, body=urlencode(fields), headers=headers)
    response = connection.getresponse()
    return response.status, response.read()


def real_opens(
    sandbox: RunningSandbox,
    n: int,
    port: int,
    start_at: float,
    end: float,
    phase: Phase,
    lock: threading.Lock,
) -> None:
    """A real user opening activities of portal n one after another, each with the portal's fresh token."""
    name = "AB"[n]
    ids = sorted(sandbox.portals[n].crm.activities)
    connection = http.client.HTTPConnection(HOST, port, timeout=60, source_address=(USER_ADDRESS, 0))
    count = 0
    time.sleep(max(0.0, start_at - time.time()))
    while time.time() < end:
        path, fields = frame(sandbox, n, ids[count % len(ids)])
        began = time.perf_counter()
        status, body = post(connection, path, fields)
        elapsed = time.perf_counter() - began
        with lock:
            phase.opens[name].append(elapsed)
            phase.open_answers[f"{name}:{status}" + ("" if b'id="tb-activity"' in body else ":no-page")] += 1
        count += 1


def flood_process(
    port: int,
    path: str,
    fields: dict[str, str],
    addresses: list[str],
    start: Any,
    seconds: float,
    ready: Any,
    out: Any,
) -> None:
    """A thread per address posting fake opens of portal A without pause; report the answers to `out`."""
    answers: Counter = Counter()
    lock = threading.Lock()
    ready.set()
    while not start.value:
        time.sleep(0.01)
    start_at, end = start.value, start.value + seconds

    def flood(address: str) -> None:
        connection = http.client.HTTPConnection(HOST, port, timeout=60, source_address=(address, 0))
        time.sleep(max(0.0, start_at - time.time()))
        while time.time() < end:
            try:
                outcome = str(post(connection, path, {**fields, "AUTH_ID": secrets.token_hex(16)})[0])
            except (OSError, http.client.HTTPException) as error:
                outcome = type(error).__name__
                connection = http.client.HTTPConnection(HOST, port, timeout=60, source_address=(address, 0))
            with lock:
                answers[outcome] += 1

    threads = [threading.Thread(target=flood, args=(address,)) for address in addresses]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.put(answers)


def wait_until_working(timeout: float = 120.0) -> None:
    """Wait for the worker process's first settled events, so no phase measures its start-up."""
    deadline = time.monotonic() + timeout
    while done_events() == 0:
        if time.monotonic() > deadline:
            raise RuntimeError("the worker settled nothing")
        time.sleep(0.2)
        db.session.remove()


def done_events() -> int:
    return int(
        db.session.scalar(
            select(func.count()).select_from(InboxEvent).where(InboxEvent.status == InboxStatus.DONE)
        )
        or 0
    )


def portal_requests(sandbox: RunningSandbox) -> dict[str, int]:
    """REST requests each sandbox portal host answered so far, by portal A/B."""
    hosts = {portal.domain.lower(): "AB"[n] for n, portal in enumerate(sandbox.portals[:2])}
    counts: Counter = Counter()
    with sandbox.state.lock:
        for (host, *_), n in sandbox.state.requests.items():
            if host in hosts:
                counts[hosts[host]] += n
    return {"A": counts["A"], "B": counts["B"]}


def print_report(args: argparse.Namespace, phases: list[Phase]) -> None:
    quiet, one, many = phases
    print(
        f"Fake page opens vs real users and the worker (gunicorn gthread {args.workers}x{args.threads}, "
        f"SQLite, sandbox on 127.0.0.1, {args.seconds:g} s per phase, {args.flood} fake opens in flight)"
    )
    print(f"  {'':<24}{'quiet':>9}{'1 address':>11}{'ratio':>7}{f'{args.flood} addresses':>15}{'ratio':>7}")
    rows = [
        ("A real open p50 (ms)", [p.p("A", 0.5) for p in phases]),
        ("A real open p99 (ms)", [p.p("A", 0.99) for p in phases]),
        ("B real open p50 (ms)", [p.p("B", 0.5) for p in phases]),
        ("B real open p99 (ms)", [p.p("B", 0.99) for p in phases]),
        ("worker events/s on A", [p.worker_rate for p in phases]),
        ("portal A requests", [float(p.portal_requests["A"]) for p in phases]),
        ("fake opens answered", [float(sum(p.fake_answers.values())) for p in phases]),
    ]
    for label, (q, f1, fn) in rows:
        r1, rn = (f1 / q, fn / q) if q else (float("nan"), float("nan"))
        print(f"  {label:<24}{q:>9.1f}{f1:>11.1f}{r1:>7.2f}{fn:>15.1f}{rn:>7.2f}")
    for name, phase in (("quiet", quiet), ("1 address", one), (f"{args.flood} addresses", many)):
        print(f"  {name}: real opens {dict(phase.open_answers)}; fake opens {dict(phase.fake_answers)}")


if __name__ == "__main__":
    main()
