"""Fair across portals (issue #19): a noisy neighbour's backlog against two quiet portals' events and clicks.

The deployment as the Procfile runs it: the sandbox with three portals (standard plan: 2 requests/s, burst
50), the release step, gunicorn, and `flask --app app worker` processes with their production options; the
app installed on every portal through the real install flow. Then bench/noisy.py: portal A gets a backlog
of 10,000 events (100,000 with --scale) stored in the inbox at once, then B and C a trickle of events posted
to /events (one every 0.5 s, alternating) and button clicks fired by the sandbox (one every 2 s) for
--seconds. It prints B's and C's event lag
p50/p99, the clicks' latency, and A's requests/s against its bucket's rate. Targets: B's and C's p99 <= 2 s,
clicks <= 1 s, A's drain >= 0.9 of its bucket's rate.

SQLite with one worker by default; --postgres starts a throwaway PostgreSQL cluster (as .ci/run does) and
runs two workers; --database-url uses a server of yours (a fresh database is made beside it and dropped).
It also prints the claim's statements' plans (EXPLAIN) and cost with the backlog in place.

Run: .venv/bin/python -m bench.fairness_bench [--postgres] [--workers N] [--scale] [--seconds 60]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.claim_plans import explain_claim
from bench.drill import install_portals
from bench.drill_stack import ExternalDatabase, Postgres, Process, Stack, answers, free_port, wait_until
from bench.noisy import Neighbour, Phase, lines, run_phase


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL cluster, 2 workers")
    parser.add_argument("--database-url", default="", help="a PostgreSQL server to make a fresh database on")
    parser.add_argument(
        "--workers", type=int, default=0, help="worker processes (default 1 SQLite, 2 PostgreSQL)"
    )
    parser.add_argument("--scale", action="store_true", help="a backlog of 100,000 events instead of 10,000")
    parser.add_argument("--backlog", type=int, default=0, help="the backlog's size (overrides --scale)")
    parser.add_argument("--seconds", type=float, default=60.0, help="of trickle after the backlog is stored")
    parser.add_argument("--json", default="", help="also write the figures to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="tb-fairness-"))
    postgres = args.postgres or bool(args.database_url)
    workers = args.workers or (2 if postgres else 1)
    backlog = args.backlog or (100_000 if args.scale else 10_000)
    with ExitStack() as exit_stack:
        url = _database(args, workdir, exit_stack)
        stack = Stack(workdir, url, portal_ports=[free_port() for _ in range(3)])
        start(stack, workers, exit_stack)
        portals = install_portals(stack, 3, enterprise=0)
        busy, *quiet = [Neighbour(p.member_id, p.domain, p.application_token) for p in portals]
        kind = "PostgreSQL" if postgres else "SQLite"
        print(f"fairness: {kind}, {workers} worker(s), backlog {backlog}, logs in {workdir}", flush=True)
        figures = run_phase(stack, busy, quiet, Phase(backlog=backlog, seconds=args.seconds))
        figures.update(database=kind, workers=workers, claim=claim_cost(url))
    for line in lines(figures):
        print(line)
    print(json.dumps(figures["claim"], indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2, default=str) + "\n")
    return 0 if figures["ok"] else 1


def _database(args: argparse.Namespace, workdir: Path, exit_stack: ExitStack) -> str:
    if args.database_url:
        external = ExternalDatabase(args.database_url)
        exit_stack.callback(external.stop)
        return external.start()
    if args.postgres:
        cluster = Postgres(workdir)
        exit_stack.callback(cluster.stop)
        return cluster.start()
    return f"sqlite:///{workdir / 'fairness.sqlite3'}"


def start(stack: Stack, workers: int, exit_stack: ExitStack) -> list[Process]:
    """Sandbox, release, web (2 processes x 4 threads: the machine has 2 cores), the workers."""
    sandbox = stack.sandbox_process()
    sandbox.start()
    exit_stack.callback(sandbox.stop)
    wait_until(answers(f"{stack.oauth_url}/_sandbox/state"), 30, "the sandbox")
    stack.release()
    env = stack.app_env()
    env["WEB_CONCURRENCY"] = "2"
    web = stack.web_process()
    web.env = env
    web.command[web.command.index("--workers") + 1] = "2"
    web.start()
    exit_stack.callback(web.stop)
    wait_until(answers(f"{stack.app_url}/healthz"), 60, "gunicorn")
    started = []
    for n in range(workers):  # the Procfile's worker line, production options
        worker = Process(
            f"worker{n}", stack.flask("worker"), stack.app_env(), stack.workdir / f"worker{n}.log"
        )
        worker.start()
        exit_stack.callback(worker.stop)
        started.append(worker)
    return [web, *started, sandbox]


def claim_cost(url: str) -> dict[str, Any]:
    """The claim's plans and time with what is left of the backlog in place (rolled back: changes nothing)."""
    return explain_claim(url)


if __name__ == "__main__":
    started = time.time()
    code = main()
    print(f"fairness bench: {time.time() - started:.0f} s", flush=True)
    sys.exit(code)
