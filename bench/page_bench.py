"""Opening an activity page: server time and portal round trips per open, against the bare batch it waits for.

Each open is what the portal's slider does: a fresh AUTH_ID for the user, the frame form POSTed to
`POST /placements/activity-menu` (the app's real code, in process, on a real database), which verifies the
user and fetches the page's data from the sandbox portal over HTTP. The baseline, run alternately in the same
process: the very same batch POSTed to the sandbox with a bare pooled `requests.Session` — the one round trip
a page open cannot avoid. Figures:

- portal requests per page open (target: 1), counted by the sandbox's own request log;
- server time per open, p50/p99, and the same for the bare batch; their ratio and their difference (what the
  app adds: parsing the frame, the database, the page token, rendering);
- the CPU time of the thread that runs each (time.thread_time: the app runs in the test client's thread, the
  sandbox in its own): what the app adds in CPU, which a loaded machine does not inflate as it does wall
  time (waiting for a core, or for SQLite's fsync, is not CPU).

Run: .venv/bin/python -m bench.page_bench [--opens 300] [--database-url …]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from flask import Flask

from app import create_app
from app.bitrix24.phpquery import build_query
from app.extensions import db
from app.portals.setup import register_portal
from app.timeline.service import page_commands
from bench.client_bench import config
from bench.loadgen import admin_frame, install_portal
from sandbox.apps import find_app
from sandbox.testing import RunningSandbox, start_sandbox
from sandbox.tokens import issue_token

PLACEMENT = "CRM_ACTIVITY_LIST_MENU"


def main() -> None:
    args = parse_args()
    with installed_app(args.database_url) as (app, sandbox):
        report = measure(app, sandbox, args.opens)
    print_report(report, args.opens)


@contextmanager
def installed_app(database_url: str) -> Iterator[tuple[Flask, RunningSandbox]]:
    """The app on a fresh database with the sandbox's portal installed, in its app context; dropped after."""
    sandbox = start_sandbox(portals=1)
    try:
        app = create_app(config(database_url, sandbox))
        with app.app_context():
            db.create_all()
            register_portal(install_portal(sandbox))  # binds the placement, as the installer does
            db.session.commit()
            sandbox.configure(limits_enabled=False)
            yield app, sandbox
            db.session.remove()  # the opens ran in this app context: end its transaction before dropping
            db.drop_all()
    finally:
        sandbox.stop()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--opens", type=int, default=300, help="page opens (and as many bare batches)")
    parser.add_argument("--database-url", default="", help="default: a temporary SQLite file")
    return parser.parse_args()


def measure(app: Any, sandbox: RunningSandbox, opens: int) -> dict[str, Any]:
    """Alternate page opens and bare batches over the portal's activities; count the portal's requests."""
    client = app.test_client()
    session = requests.Session()
    activity_ids = sorted(sandbox.portal.crm.activities)
    times: dict[str, list[float]] = {"page": [], "bare": [], "page_cpu": [], "bare_cpu": []}
    portal_requests = 0
    for n in range(opens + 10):
        activity_id = activity_ids[n % len(activity_ids)]
        before = served(sandbox)
        page = open_page(client, sandbox, activity_id)
        portal_requests += served(sandbox) - before if n >= 10 else 0
        bare = bare_batch(session, sandbox, activity_id)
        if n >= 10:  # the first ten warm the caches, the pools and the template loader
            for name, (wall, cpu) in (("page", page), ("bare", bare)):
                times[name].append(wall)
                times[f"{name}_cpu"].append(cpu)
    session.close()
    return {**times, "portal_requests": portal_requests}


def open_page(client: Any, sandbox: RunningSandbox, activity_id: int) -> tuple[float, float]:
    """One open from the activity's context menu; the seconds the app took to answer it, and its CPU's."""
    path, fields = admin_frame(sandbox, sandbox.portal, placement=PLACEMENT, options={"ID": activity_id})
    start, cpu = time.perf_counter(), time.thread_time()
    response = client.post(path, data=fields)
    elapsed, cpu = time.perf_counter() - start, time.thread_time() - cpu
    if response.status_code != 200 or b'id="tb-activity"' not in response.data:
        raise RuntimeError(f"the page did not open: {response.status_code}")
    return elapsed, cpu


def bare_batch(session: requests.Session, sandbox: RunningSandbox, activity_id: int) -> tuple[float, float]:
    """The page's batch sent by a bare requests.Session with a fresh user token; its seconds, its CPU's."""
    portal = sandbox.portal
    token = issue_token(sandbox.state, portal, find_app(sandbox.state, portal), 1).access_token
    body = {
        "auth": token,
        "halt": 0,
        "cmd": {key: f"{name}?{build_query(p)}" for key, (name, p) in page_commands(activity_id).items()},
    }
    start, cpu = time.perf_counter(), time.thread_time()
    answer = session.post(f"{portal.client_endpoint}batch", json=body, timeout=10)
    elapsed, cpu = time.perf_counter() - start, time.thread_time() - cpu
    # Link slots past the activity's last binding fail on their own (service.name_commands), as in the page.
    failed = answer.json()["result"]["result_error"] if answer.status_code == 200 else {"batch": answer.text}
    if "user" in failed or "activity" in failed or "batch" in failed:
        raise RuntimeError(f"the bare batch failed: {answer.text[:200]}")
    return elapsed, cpu


def served(sandbox: RunningSandbox) -> int:
    """REST requests the sandbox's portal hosts have answered so far (its own request counts)."""
    with sandbox.state.lock:
        return sum(sandbox.state.requests.values())


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)] * 1000


def print_report(report: dict[str, Any], opens: int) -> None:
    page, bare = report["page"], report["bare"]
    print(f"Activity page opens vs the bare batch they wait for ({opens} each, alternating, in process)")
    for label, times in (("page open", page), ("bare batch", bare)):
        print(f"  {label:<11} p50 {percentile(times, 0.5):6.2f} ms   p99 {percentile(times, 0.99):6.2f} ms")
    median_page, median_bare = statistics.median(page), statistics.median(bare)
    print(
        f"  ratio page/bare (p50) = {median_page / median_bare:.2f}; "
        f"the app adds {(median_page - median_bare) * 1000:.2f} ms per open"
    )
    cpu_page, cpu_bare = statistics.median(report["page_cpu"]), statistics.median(report["bare_cpu"])
    print(
        f"  CPU of the calling thread p50: page open {cpu_page * 1000:.2f} ms, bare batch "
        f"{cpu_bare * 1000:.2f} ms; the app adds {(cpu_page - cpu_bare) * 1000:.2f} ms of CPU per open"
    )
    print(f"  portal requests per page open = {report['portal_requests'] / opens:.2f}  (target 1)")


if __name__ == "__main__":
    main()
