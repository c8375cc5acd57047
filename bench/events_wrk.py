"""POST /events against an empty handler, both under the same gunicorn, loaded by wrk; SQLite and PostgreSQL.

- throughput of /events (every accepted event committed before its 200: group commit) against
  bench/empty_app.py (`return "", 200`), same gunicorn (the Procfile's flags, gthread), same wrk load, runs
  alternating; five runs each, median and spread (min-max); target: /events >= 0.5 of the empty handler;
- wrk's own CPU (user + system seconds / wall, from wait4) so a saturated generator shows, the gunicorn
  workers' CPU per request, and the machine's load average at each run;
- zero loss: inbox rows added by a run >= events answered "accepted" (the excess is requests in flight when
  wrk stopped: at most one per connection), and every answer a 200.

wrk (bench/events.lua) posts distinct real event bodies, form-encoded as a portal sends them, each with the
application_token of the portal installed in the bench database. PostgreSQL: --database-url names a server
(the bench creates and drops its own database beside it), or else a throwaway cluster is started from
/usr/lib/postgresql (as .ci/run does); --no-postgres skips it.

Prerequisite: wrk (Debian: `apt-get install -y wrk`).
Run: .venv/bin/python -m bench.events_wrk [--runs 5] [--seconds 10] [--database-url postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from app import create_app
from app.extensions import db
from app.models import InboxEvent
from app.portals.store import set_application_token
from bench.client_bench import config as bench_config
from bench.drill_stack import ExternalDatabase, Postgres
from bench.loadgen import install_portal
from sandbox.testing import start_sandbox

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
LUA = Path(__file__).with_name("events.lua")
SUMMARY = re.compile(r"TB ok=(\d+) accepted=(\d+) other=(\d+) p50=([\d.]+) p99=([\d.]+)")


@dataclass
class Run:
    """What one wrk run against one server saw."""

    requests: int
    seconds: float
    ok: int
    accepted: int
    other: int
    p50: float  # ms
    p99: float  # ms
    wrk_cpu: float  # wrk's CPU seconds / wall seconds (1.0 = one core)
    server_cpu_ms: float  # gunicorn workers' CPU milliseconds per request
    load: float  # 1-minute load average at the end of the run
    stored: int = 0  # inbox rows the run added
    database_cpu_ms: float | None = None  # the database server's CPU ms per request, when it runs here
    commits: int | None = None  # PostgreSQL: transactions committed in the bench database during the run
    split: tuple[int, ...] = ()  # wrk's connections held by each gunicorn worker, most first

    @property
    def even(self) -> bool:
        """Whether the workers shared the connections within one of even (8/8 or 9/7 of 16)."""
        return len(self.split) > 1 and self.split[0] - self.split[-1] <= 2

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def main() -> None:
    args = parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install -y wrk (Debian), then run the bench again")
    sandbox = start_sandbox(portals=1)
    reports = []
    try:
        for name, database in databases(args):
            with database as url:
                reports.append((name, measure_backend(args, sandbox, url)))
    finally:
        sandbox.stop()
    print_report(args, reports)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default="", help="a PostgreSQL server (default: throwaway cluster)")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per run and server")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=8, help="gunicorn threads per worker")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=2)
    return parser.parse_args()


def databases(args: argparse.Namespace) -> Iterator[tuple[str, Any]]:
    yield "SQLite", sqlite_database()
    if not args.no_postgres:
        yield "PostgreSQL", postgres_database(args.database_url)


@contextmanager
def sqlite_database() -> Iterator[str]:
    directory = tempfile.mkdtemp(prefix="tb-events-wrk-")
    try:
        yield f"sqlite:///{directory}/bench.sqlite3"
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def postgres_database(url: str) -> Iterator[str]:
    """A fresh database beside `url`'s, or in a throwaway cluster; dropped (or the cluster removed) after."""
    server = ExternalDatabase(url) if url else Postgres(ROOT)
    try:
        yield server.start()
    finally:
        server.stop()


def measure_backend(args: argparse.Namespace, sandbox: Any, url: str) -> list[tuple[Run, Run]]:
    """Install the portal in a new database at `url`, then alternate empty and /events runs."""
    app = create_app(bench_config(url, sandbox))
    with app.app_context():
        db.create_all()
        member_id, token = installed_portal(sandbox)
        db.session.remove()
        db.engine.dispose()  # gunicorn's processes open their own connections
        env = {**server_env(app.config, args.threads), "TB_MEMBER_ID": member_id, "TB_TOKEN": token}
        postmaster = local_postmaster()
        pairs = []
        for number in range(args.runs):
            env["TB_RUN"] = str(number + 1)
            empty = serve_and_load(args, "bench.empty_app:app", env)
            before, spent, commits = inbox_rows(), database_cpu(postmaster), committed()
            events = serve_and_load(args, "app:create_app()", env)
            events.stored = inbox_rows() - before
            events.commits = None if commits is None else (committed() or 0) - commits
            if postmaster is not None:
                events.database_cpu_ms = (database_cpu(postmaster) - spent) / max(events.requests, 1) * 1000
            pairs.append((empty, events))
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
    return pairs


def installed_portal(sandbox: Any) -> tuple[str, str]:
    sandbox.reset()
    sandbox.configure(limits_enabled=False)
    portal = install_portal(sandbox)
    token = sandbox.app.application_token
    set_application_token(portal, token)
    db.session.commit()
    return portal.member_id, token


def server_env(config: Any, threads: int) -> dict[str, str]:
    """The environment the gunicorn servers run with: the bench's database and keys, warnings only."""
    return {
        "WEB_THREADS": str(threads),
        **os.environ,
        "APP_ENV": "testing",
        "SECRET_KEY": config["SECRET_KEY"],
        "TOKEN_KEYS": ",".join(config["TOKEN_KEYS"]),
        "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
        "LOG_LEVEL": "WARNING",
    }


def local_postmaster() -> int | None:
    """The PostgreSQL postmaster's PID when the server runs on this host (its CPU is then ours to count)."""
    if db.engine.dialect.name != "postgresql":
        return None
    backend = db.session.scalar(text("SELECT pg_backend_pid()"))
    db.session.commit()
    try:
        return int(Path(f"/proc/{backend}/stat").read_text().rpartition(")")[2].split()[1])  # ppid
    except (FileNotFoundError, ValueError):
        return None  # another host's (or another PID namespace's) server


def database_cpu(postmaster: int | None) -> float:
    """CPU seconds of the postmaster, its live backends and the ones that ended (reaped: cutime, cstime)."""
    if postmaster is None:
        return 0.0
    fields = Path(f"/proc/{postmaster}/stat").read_text().rpartition(")")[2].split()
    total = sum(int(fields[index]) for index in (11, 12, 13, 14))  # utime, stime, cutime, cstime
    return total / os.sysconf("SC_CLK_TCK") + children_cpu(postmaster)


def committed() -> int | None:
    """PostgreSQL's count of transactions committed in this database (autocommit statements included)."""
    if db.engine.dialect.name != "postgresql":
        return None
    db.session.execute(text("SELECT pg_stat_clear_snapshot()"))
    query = "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
    count = db.session.scalar(text(query))
    db.session.commit()
    return int(count or 0)


def inbox_rows() -> int:
    db.session.expire_all()
    count = db.session.scalar(select(func.count()).select_from(InboxEvent))
    db.session.commit()
    return int(count or 0)


def serve_and_load(args: argparse.Namespace, target: str, env: dict[str, str]) -> Run:
    """Serve `target` with the Procfile's gunicorn flags (gthread), run wrk against it, stop it."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "--preload", "--worker-class", "gthread"]
    command += ["--workers", str(args.workers), "--threads", str(args.threads), "--keep-alive", "30"]
    command += ["--bind", f"{HOST}:{port}", "--access-logfile", "-", "--log-level", "warning", target]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        wait_for_workers(server.pid, args.workers)
        before = children_cpu(server.pid)
        seen: list[tuple[int, ...]] = []
        probe = threading.Timer(
            min(2.0, args.seconds / 2), lambda: seen.append(connection_split(server.pid, port))
        )
        probe.start()
        run = run_wrk(args, port, env)
        probe.join()
        run.split = seen[0] if seen else ()
        run.server_cpu_ms = (children_cpu(server.pid) - before) / max(run.requests, 1) * 1000
        return run
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)


def run_wrk(args: argparse.Namespace, port: int, env: dict[str, str]) -> Run:
    """wrk for `args.seconds`; its CPU from wait4's resource usage, its counts from events.lua's done()."""
    command = ["wrk", "-t", str(args.wrk_threads), "-c", str(args.connections), "-d", f"{args.seconds}s"]
    command += ["-s", str(LUA), f"http://{HOST}:{port}/events"]
    with tempfile.TemporaryFile() as out:
        began = time.monotonic()
        child = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.monotonic() - began
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode(errors="replace")
    found = SUMMARY.search(text)
    requests = re.search(r"(\d+) requests in ([\d.]+)(m?s)", text)
    if child.returncode or not found or not requests:
        raise RuntimeError(f"wrk failed ({child.returncode}):\n{text}")
    ok, accepted, other = (int(found[n]) for n in (1, 2, 3))
    seconds = float(requests[2]) / (1000 if requests[3] == "ms" else 1)
    return Run(
        requests=int(requests[1]),
        seconds=seconds,
        ok=ok,
        accepted=accepted,
        other=other,
        p50=float(found[4]),
        p99=float(found[5]),
        wrk_cpu=(usage.ru_utime + usage.ru_stime) / wall,
        server_cpu_ms=0.0,
        load=os.getloadavg()[0],
    )


def children_cpu(parent: int) -> float:
    """CPU seconds (user + system) used so far by the live child processes of `parent` (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for task in Path(f"/proc/{parent}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                fields = Path(f"/proc/{child}/stat").read_text().rpartition(")")[2].split()
            except FileNotFoundError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / ticks


def connection_split(master: int, port: int) -> tuple[int, ...]:
    """How many established connections to `port` each worker of `master` holds (Linux /proc), most first.

    A gthread worker keeps every keep-alive connection it accepted: with wrk's 16 connections opened at
    once, the split between the two workers is luck (16/0 to 8/8), and a worker holding most of them is
    one GIL serving most of the load. Printed per run, since it moves both servers' rates.
    """
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "01" and int(fields[1].rpartition(":")[2], 16) == port:  # ESTABLISHED, our side
            inodes.add(fields[9])
    held = []
    for task in Path(f"/proc/{master}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                links = [os.readlink(fd) for fd in Path(f"/proc/{child}/fd").iterdir()]
            except (FileNotFoundError, PermissionError):
                continue
            held.append(sum(1 for link in links if link[8:-1] in inodes and link.startswith("socket:[")))
    return tuple(sorted(held, reverse=True))


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


def wait_for_workers(master: int, workers: int, timeout: float = 30.0) -> None:
    """Until every gunicorn worker waits in its accept loop (Linux: its main thread in epoll_wait).

    The master listens before its workers exist: a load that starts at the open port finds one worker
    ready, which accepts all 16 keep-alive connections and serves the run alone.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = [
            c
            for task in Path(f"/proc/{master}/task").iterdir()
            for c in (task / "children").read_text().split()
        ]
        waiting = 0
        for child in children:
            try:
                waiting += "epoll" in Path(f"/proc/{child}/wchan").read_text()
            except FileNotFoundError:
                continue
        if len(children) == workers and waiting == workers:
            return
        time.sleep(0.05)
    raise RuntimeError(f"gunicorn's {workers} workers did not start")


def spread(values: list[float], digits: int = 0) -> str:
    """Median (min-max)."""
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def print_report(args: argparse.Namespace, reports: list[tuple[str, list[tuple[Run, Run]]]]) -> None:
    settings = (
        f"gunicorn gthread {args.workers}x{args.threads}, wrk -t{args.wrk_threads} -c{args.connections}"
    )
    settings += f", {args.seconds} s per run, {args.runs} runs alternating"
    print(f"POST /events vs empty handler ({settings})")
    for name, pairs in reports:
        print(f"== {name}")
        print(
            f"  {'run':>3} {'empty r/s':>9} {'events r/s':>10} {'ratio':>5} {'p50/p99 ms':>12}"
            f" {'wrk CPU e/ev':>12} {'srv ms/req e/ev':>15} {'load':>5} {'split e/ev':>11}"
            "  accepted/stored/non-200"
        )
        for number, (empty, events) in enumerate(pairs, 1):
            print(
                f"  {number:>3} {empty.rate:9.0f} {events.rate:10.0f} {events.rate / empty.rate:5.2f}"
                f" {events.p50:5.1f}/{events.p99:<6.1f} {empty.wrk_cpu:5.2f}/{events.wrk_cpu:<6.2f}"
                f" {empty.server_cpu_ms:6.3f}/{events.server_cpu_ms:<8.3f} {events.load:5.2f}"
                f" {_split(empty):>5}/{_split(events):<5}"
                f"  {events.accepted}/{events.stored}/{events.other + empty.other}"
            )
        ratios = [e.rate / b.rate for b, e in pairs]
        print(f"  empty   req/s median (spread) {spread([b.rate for b, _ in pairs])}")
        print(f"  /events req/s median (spread) {spread([e.rate for _, e in pairs])}")
        print(f"  ratio /events vs empty: median {spread(ratios, 2)}  (target >= 0.5)")
        even = [e.rate / b.rate for b, e in pairs if b.even and e.even]
        if even and len(even) < len(pairs):
            print(
                f"  (the {len(even)} of {len(pairs)} runs whose two servers' workers shared wrk's"
                f" connections evenly: ratio median {spread(even, 2)}; a diagnosis, not the figure)"
            )
        cpu = [e.server_cpu_ms / b.server_cpu_ms for b, e in pairs]
        print(f"  server CPU per request /events vs empty: median {spread(cpu, 2)}")
        database = [e.database_cpu_ms for _, e in pairs if e.database_cpu_ms is not None]
        if database:
            both = [(e.server_cpu_ms + (e.database_cpu_ms or 0)) / b.server_cpu_ms for b, e in pairs]
            print(f"  database server CPU per /events request: median {spread(database, 3)} ms")
            print(f"  workers + database CPU per request /events vs empty: median {spread(both, 2)}")
        groups = [e.stored / e.commits for _, e in pairs if e.commits]
        if groups:
            print(f"  rows per commit (the group commit's groups, PostgreSQL's count): {spread(groups, 1)}")
        lost = sum(max(0, e.accepted - e.stored) for _, e in pairs)
        non_200 = sum(e.other + b.other for b, e in pairs)
        unanswered = [e.stored - e.accepted for _, e in pairs]
        print(f"  lost (accepted but not stored): {lost}; non-200 answers: {non_200} (target: 0 and 0)")
        print(f"  stored but unanswered (in flight when wrk stopped, <= {args.connections}): {unanswered}")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def _split(run: Run) -> str:
    return ":".join(str(n) for n in run.split) or "?"


if __name__ == "__main__":
    main()
