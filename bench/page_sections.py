"""Where an activity page open's own CPU goes: time.thread_time per section, in page_bench's set-up.

Each section is one of the app's functions, wrapped for the run (called through unchanged) so that the CPU
the calling thread spends inside it is added up; nested sections are indented under the one that holds
them, and their times are inside it. The rest of an open (Flask, werkzeug, the test client) is what the
sections leave of the open's total. Inside a page open every function costs more than in a warm loop of
its own: the HTTP exchange with the sandbox (whose server thread runs in this process) evicts the app's code
and data from the caches, so the first functions after it pay for that.

Run: .venv/bin/python -m bench.page_sections [--opens 300] [--database-url …]
"""

from __future__ import annotations

import argparse
import functools
import importlib
import statistics
import time
from collections import defaultdict
from typing import Any

from bench.loadgen import admin_frame
from bench.page_bench import PLACEMENT, installed_app
from sandbox.testing import RunningSandbox

# (module, attribute path, label, depth): in the order an open reaches them.
SECTIONS = (
    ("app.timeline.views", "parse_frame", "the frame's form (parse_frame)", 0),
    ("app.main.service", "portal_for", "the portal and its bucket (first query)", 0),
    ("app.activities.templates", "shown_templates", "the create form's templates (query)", 0),
    ("app.portals.throttle", "reserve", "the unverified-token budgets (query)", 0),
    ("app.timeline.page", "user_client", "the user's client", 0),
    ("app.timeline.page", "load", "the batch, all of it", 0),
    ("app.bitrix24.client", "_keyed", "checking the 26 sub-calls", 1),
    ("app.bitrix24.client", "_check_references", "checking their $result references", 1),
    ("app.bitrix24.client", "build_query", "encoding them", 1),
    ("app.portals.ratelimit", "DatabaseRateLimiter.acquire", "the shared bucket's UPDATE and commit", 1),
    ("app.bitrix24.transport", "Transport.post", "the HTTP exchange (requests, JSON)", 1),
    ("app.bitrix24.client", "_merge", "reading the batch's answer", 1),
    ("app.timeline.page", "page_tokens.issue", "the page token (Fernet)", 0),
    ("app.timeline.page", "render", "rendering, all of it", 0),
    ("app.timeline.page", "render_template", "Jinja: timeline/activity.html and its partials", 1),
)


def main() -> None:
    args = parse_args()
    with installed_app(args.database_url) as (app, sandbox):
        spent, opens = measure(app, sandbox, args.opens)
    print_report(spent, opens, args.opens)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--opens", type=int, default=300, help="page opens")
    parser.add_argument("--database-url", default="", help="default: a temporary SQLite file")
    return parser.parse_args()


def measure(app: Any, sandbox: RunningSandbox, opens: int) -> tuple[dict[str, float], list[float]]:
    """Open the page `opens` times (after ten to warm up) with every section counting its CPU."""
    spent: dict[str, float] = defaultdict(float)
    for module, path, label, _depth in SECTIONS:
        wrap(importlib.import_module(module), path, label, spent)
    client = app.test_client()
    activity_ids = sorted(sandbox.portal.crm.activities)
    totals = []
    for n in range(opens + 10):
        options = {"ID": activity_ids[n % len(activity_ids)]}
        path, fields = admin_frame(sandbox, sandbox.portal, placement=PLACEMENT, options=options)
        if n == 10:
            spent.clear()
        cpu = time.thread_time()
        response = client.post(path, data=fields)
        totals.append(time.thread_time() - cpu)
        if response.status_code != 200:
            raise RuntimeError(f"the page did not open: {response.status_code}")
    return spent, totals[10:]


def wrap(module: Any, path: str, label: str, spent: dict[str, float]) -> None:
    """Replace module.<path> (a function, or Class.method) with one adding its thread CPU to spent[label]."""
    *owners, name = path.split(".")
    owner = functools.reduce(getattr, owners, module)
    inner = getattr(owner, name)

    @functools.wraps(inner)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[label] += time.thread_time() - started

    setattr(owner, name, timed)


def print_report(spent: dict[str, float], totals: list[float], opens: int) -> None:
    mean = statistics.mean(totals) * 1000
    print(f"Activity page opens: CPU of the calling thread per open, by section ({opens} opens, in process)")
    whole = f"a whole open (mean; p50 {statistics.median(totals) * 1000:.2f} ms)"
    print(f"  {whole:<50} {mean:6.2f} ms")
    outer = 0.0
    for _module, _path, label, depth in SECTIONS:
        per_open = spent.get(label, 0.0) / opens * 1000
        outer += per_open if depth == 0 else 0.0
        print(f"  {'  ' * depth}{label:<{50 - 2 * depth}} {per_open:6.2f} ms")
    print(f"  {'the rest: Flask, werkzeug, the test client':<50} {mean - outer:6.2f} ms")


if __name__ == "__main__":
    main()
