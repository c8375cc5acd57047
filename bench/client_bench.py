"""Bitrix24 client benchmarks against the sandbox, printed as ratios measured in one run.

- batch economy: HTTP requests per N batched commands, against the lower bound ceil(N/50);
- shared limiter: calls/s that 4 processes achieve together, against the portal bucket's drain rate
  (target >= 0.9), and 503 answers received (target 0);
- refresh: OAuth refresh requests per expired token hit by 4 processes x 16 threads (target exactly 1).

Run: .venv/bin/python -m bench.client_bench [--database-url postgresql://…]
"""

from __future__ import annotations

import argparse
import math
import tempfile
from typing import Any

from cryptography.fernet import Fernet

from app import create_app
from app.extensions import db
from app.portals.connections import client_for
from app.portals.store import read_tokens
from bench.loadgen import install_portal, run_processes
from sandbox.testing import start_sandbox

PROCESSES = 4


def main() -> None:
    args = parse_args()
    sandbox = start_sandbox(portals=1)
    try:
        app = create_app(config(args.database_url, sandbox))
        with app.app_context():
            db.drop_all()
            db.create_all()
            report = {
                "batch": batch_economy(sandbox),
                "limiter": shared_limiter(app.config, sandbox, rate=args.rate, calls=args.calls),
                "refresh": refresh_per_expiry(app.config, sandbox),
            }
            db.drop_all()
    finally:
        sandbox.stop()
    print_report(report)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default="", help="default: a temporary SQLite file")
    parser.add_argument(
        "--rate", type=float, default=10.0, help="the sandbox bucket's drain rate (burst = rate)"
    )
    parser.add_argument("--calls", type=int, default=60, help="calls per process in the limiter run")
    return parser.parse_args()


def config(database_url: str, sandbox: Any) -> dict[str, Any]:
    url = database_url or f"sqlite:///{tempfile.mkdtemp(prefix='tb-bench-')}/bench.sqlite3"
    return {
        "APP_ENV": "testing",
        "SECRET_KEY": "bench-" + "x" * 40,
        "TOKEN_KEYS": [Fernet.generate_key().decode()],
        "SQLALCHEMY_DATABASE_URI": url,
        "B24_CLIENT_ID": sandbox.state.setting("client_id"),
        "B24_CLIENT_SECRET": sandbox.state.setting("client_secret"),
        "B24_OAUTH_URL": sandbox.oauth_url,
        "B24_ALLOWED_HOSTS": ("127.0.0.1:*",),
        "APP_BASE_URL": "http://127.0.0.1:5000",
        "LOG_LEVEL": "WARNING",
    }


def fresh_portal(sandbox: Any) -> Any:
    """Reset the sandbox and the app's portal rows, then install the demo portal."""
    sandbox.reset()
    db.session.query(db.metadata.tables["rate_limits"]).delete()
    db.session.query(db.metadata.tables["portals"]).delete()
    db.session.commit()
    return install_portal(sandbox)


def batch_economy(sandbox: Any) -> list[dict[str, Any]]:
    client = client_for(fresh_portal(sandbox))
    sandbox.configure(limits_enabled=False)
    rows = []
    for n in (1, 49, 50, 51, 120, 1000):
        outcome = client.batch({f"c{i}": ("user.current", {}) for i in range(n)})
        bound = math.ceil(n / 50)
        rows.append(
            {
                "commands": n,
                "requests": outcome.requests,
                "lower_bound": bound,
                "ratio": outcome.requests / bound,
            }
        )
    return rows


def shared_limiter(app_config: Any, sandbox: Any, *, rate: float, calls: int) -> dict[str, Any]:
    portal = fresh_portal(sandbox)
    sandbox.configure(limits_enabled=True, rate=rate, burst=rate)
    portal.rate_limit.rate, portal.rate_limit.burst = rate, int(rate)
    db.session.commit()
    load = run_processes(app_config, PROCESSES, portal.member_id, threads=1, calls=calls)
    outcomes, elapsed = load.outcomes, load.seconds
    total = PROCESSES * calls
    # The bucket starts empty, so the first `burst` calls are free; the rest can go at `rate` at best.
    best = (total - rate) / rate
    return {
        "processes": PROCESSES,
        "calls": total,
        "ok": outcomes["call:ok"],
        "seconds": round(elapsed, 2),
        "achieved_per_s": round(total / elapsed, 2),
        "bucket_rate": rate,
        "ratio": round(best / elapsed, 3),
        "503_received": outcomes["http:QUERY_LIMIT_EXCEEDED"],
        "503_reaching_callers": outcomes["call:QueryLimitExceeded"],
    }


def refresh_per_expiry(app_config: Any, sandbox: Any) -> dict[str, Any]:
    portal = fresh_portal(sandbox)
    sandbox.configure(limits_enabled=False)
    sandbox.state.tokens[read_tokens(portal).access_token].expires_at = 0
    outcomes = run_processes(app_config, PROCESSES, portal.member_id, threads=16, calls=1).outcomes
    refreshes = sum(1 for token in sandbox.state.refresh_tokens.values() if token.refresh_used)
    return {
        "callers": PROCESSES * 16,
        "ok": outcomes["call:ok"],
        "refresh_requests": refreshes,
        "ratio": refreshes / 1,
    }


def print_report(report: dict[str, Any]) -> None:
    print("batch economy: HTTP requests per N batched commands vs ceil(N/50)")
    for row in report["batch"]:
        print(
            f"  N={row['commands']:>5}  requests={row['requests']:>3}  bound={row['lower_bound']:>3}"
            f"  ratio={row['ratio']:.2f}"
        )
    lim = report["limiter"]
    print(
        f"shared limiter: {lim['processes']} processes, {lim['calls']} calls in {lim['seconds']} s"
        f" ({lim['achieved_per_s']}/s, bucket {lim['bucket_rate']}/s)"
    )
    print(f"  throughput ratio vs bucket rate = {lim['ratio']}  (target >= 0.9)")
    received, reaching = lim["503_received"], lim["503_reaching_callers"]
    print(f"  503 received = {received}, reaching callers = {reaching}  (target 0)")
    ref = report["refresh"]
    print(f"refresh: {ref['callers']} callers on one expired token -> {ref['refresh_requests']} refresh(es),")
    print(f"  {ref['ok']} calls ok  (target: exactly 1 refresh, every call ok)")


if __name__ == "__main__":
    main()
