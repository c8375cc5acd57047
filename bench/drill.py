"""Production drill: the deployment as the Procfile runs it, under mixed load, while things go wrong.

Starts a throwaway PostgreSQL (or uses DRILL_DATABASE_URL), the sandbox with several portals, runs the
release step, gunicorn (4 workers) and two `flask --app app worker` processes, and installs the app on
every portal through the real install flow (installer frame, installFinish, ONAPPINSTALL). Then, for
`--seconds`, it drives a mixed load (bench/drill_load.py) while injecting faults: sandbox 5xx, dropped
connections and slow answers, 503 and 429 limit answers, expired-token storms, a worker killed with
SIGKILL and restarted, the database restarted once (pg_ctl restart -m fast), duplicate and forged
events throughout. Then the web processes are stopped for `--app-down` seconds while the portal users go
on changing activities (deletions included): the portal's deliveries meanwhile fail and are never sent
again, so only the offline queue (inbox/offline.py) brings those changes. It lets the inbox and the backstop
drain (no `events reconcile`: nothing may need it), and writes bench/drill-report.json and
bench/drill-report.md (bench/drill_report.py), comparing the portal's activities with the mirror. It exits
1 when a must-be figure is violated.

Run: .venv/bin/python -m bench.drill [--seconds 240] [--portals 4]   (make drill DRILL_SECONDS=45)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, text

from bench.drill_load import NEW_KEY, PAGE_TOKEN, Features, Load, PortalInfo, frame
from bench.drill_report import build_report, write_report
from bench.drill_stack import (
    ROOT,
    ExternalDatabase,
    Postgres,
    Process,
    Stack,
    answers,
    free_port,
    sandbox_control,
    wait_until,
)
from bench.noisy import Neighbour, Phase, run_phase

RULE_LAYOUT = (
    '{"blocks": {"subject": {"type": "text", "properties": {"value": "Drill: {{SUBJECT}}"}},'
    ' "owner": {"type": "text", "properties": {"value": "{{OWNER_TYPE_ID}}/{{OWNER_ID}}"}}}}'
)


@dataclass
class Run:
    """What happened, for the report: fault times, the outage window, command outputs."""

    started: float = field(default_factory=time.time)
    faults: list[dict[str, Any]] = field(default_factory=list)
    storms: list[float] = field(default_factory=list)
    outage: tuple[float, float] | None = None
    app_down: tuple[float, float] | None = None  # the web processes stopped, the load going on
    exits: list[str] = field(default_factory=list)  # processes that ended on their own
    drained: bool = False
    drain_seconds: float = 0.0
    load_started: float = 0.0
    load_ended: float = 0.0

    def note(self, name: str, **details: Any) -> None:
        self.faults.append({"fault": name, "at": round(time.time() - self.started, 1), **details})
        print(f"  [{time.time() - self.started:6.1f} s] {name} {details or ''}", flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("DRILL_SECONDS") or 240))
    parser.add_argument("--portals", type=int, default=4)
    parser.add_argument("--database-url", default=os.environ.get("DRILL_DATABASE_URL", ""))
    parser.add_argument("--report", default=str(ROOT / "bench" / "drill-report"), help="path without suffix")
    parser.add_argument("--drain-timeout", type=float, default=150.0)
    parser.add_argument("--app-down", type=float, default=30.0, help="seconds the web processes are stopped")
    parser.add_argument(
        "--noisy-backlog", type=int, default=10_000, help="the noisy neighbour's backlog (0: no such phase)"
    )
    parser.add_argument("--noisy-seconds", type=float, default=30.0, help="the quiet portals' trickle")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="tb-drill-"))
    run = Run()
    print(f"drill: {args.seconds:g} s of load on {args.portals} portals; logs in {workdir}", flush=True)
    with ExitStack() as stack_exit:
        database = ExternalDatabase(args.database_url) if args.database_url else Postgres(workdir)
        stack_exit.callback(database.stop)
        url = database.start()
        stack = Stack(workdir, url, portal_ports=[free_port() for _ in range(args.portals)])
        processes = start_processes(stack, stack_exit)
        portals = install_portals(stack, args.portals)
        features = detect_features(stack)
        prepare_portals(stack, portals, features)
        load = Load(stack, portals, features)
        run.load_started = time.time()
        load.start()
        try:
            inject_faults(run, stack, database, processes, args.seconds)
            stop_the_app(run, stack, processes[0], args.app_down)
            time.sleep(5.0)  # a little load with the app back, its backlog in the offline queue
        finally:
            load.stop()
            run.load_ended = time.time()
        sandbox_control(stack, "faults", method="DELETE")
        drain(run, stack, args.drain_timeout, processes)
        report = build_report(run=run, stack=stack, load=load, portals=portals, features=features, args=args)
        if args.noisy_backlog:
            add_noisy_phase(report, stack, portals, args)
        for process in processes:
            process.stop()
    write_report(report, Path(args.report))
    print(Path(args.report).with_suffix(".md").read_text(), flush=True)
    return 0 if report["ok"] else 1


def start_processes(stack: Stack, exit_stack: ExitStack) -> list[Process]:
    """Sandbox, release, web, two workers; each stopped on the way out."""
    sandbox = stack.sandbox_process()
    sandbox.start()
    exit_stack.callback(sandbox.stop)
    wait_until(answers(f"{stack.oauth_url}/_sandbox/state"), 30, "the sandbox")
    stack.release()
    web = stack.web_process()
    web.start()
    exit_stack.callback(web.stop)
    wait_until(answers(f"{stack.app_url}/healthz"), 60, "gunicorn")
    workers = [stack.worker_process(n) for n in range(2)]
    for worker in workers:
        worker.start()
        exit_stack.callback(worker.stop)
    return [web, *workers, sandbox]


def install_portals(stack: Stack, count: int, *, enterprise: int | None = None) -> list[PortalInfo]:
    """The first `enterprise` portals (default half) on an enterprise plan; each installed by its
    administrator through the slider."""
    domains = [url.split("://", 1)[1] for url in stack.portal_urls]
    first = count // 2 if enterprise is None else enterprise
    sandbox_control(stack, "settings", {"enterprise_domains": domains[:first]})
    sandbox_control(stack, "reset")
    for url in stack.portal_urls:
        install(url)
    engine = create_engine(stack.database_url)
    with engine.connect() as connection:

        def all_active() -> bool:
            states = connection.execute(text("SELECT state FROM portals")).scalars().all()
            connection.rollback()
            return len(states) == count and set(states) == {"active"}

        wait_until(all_active, 60, "every portal to be active (ONAPPINSTALL)")
    engine.dispose()
    state = sandbox_control(stack, "state", method="GET")["portals"]
    by_domain = {p["domain"]: p for p in state}
    return [
        PortalInfo(
            member_id=by_domain[d]["member_id"],
            domain=d,
            url=url,
            application_token=by_domain[d]["apps"][0]["application_token"],
        )
        for d, url in zip(domains, stack.portal_urls, strict=True)
    ]


def install(portal_url: str) -> None:
    """The administrator opens the app: the installer frame POST, then BX24.installFinish() (notes §1.3)."""
    opened = requests.post(f"{portal_url}/_ui/frame?user_id=1", json={"mode": "app"}, timeout=30).json()
    if not opened.get("installer"):
        raise RuntimeError(f"{portal_url}: the slider did not open the installer: {opened}")
    page = requests.post(opened["url"], data=opened["fields"], timeout=120)
    if page.status_code != 200:
        raise RuntimeError(f"{portal_url}: the installer answered {page.status_code}")
    finish = requests.post(
        f"{portal_url}/_ui/bx24/install-finish?user_id=1", json={"client_id": opened["client_id"]}, timeout=30
    )
    finish.raise_for_status()


def detect_features(stack: Stack) -> Features:
    """Load only what the app serves today: placement page, its actions, the inbound API (and its keys)."""
    rules = stack.routes()
    features = Features(
        placement="/placements/activity-menu" in rules,
        actions="/activity/<int:activity_id>/complete" in rules,
        api="/api/v1/activities" in rules and "/api-keys" in rules,
    )
    if not features.placement:
        features.notes.append("placement page (/placements/activity-menu) not served: placement load off")
    if not features.actions:
        features.notes.append(
            "activity actions (/activity/<id>/complete) not served: page actions are rule toggles"
        )
    if not features.api:
        features.notes.append(
            "inbound API (/api/v1/activities with keys from /api-keys) not served: API load off"
        )
    return features


def prepare_portals(stack: Stack, portals: list[PortalInfo], features: Features) -> None:
    """Each administrator adds an enrichment rule (and an API key) from the main page."""
    for portal in portals:
        opened = frame(portal, {"mode": "app"}, 1)
        page = requests.post(opened["url"], data=opened["fields"], timeout=60) if opened else None
        token = PAGE_TOKEN.search(page.text) if page is not None else None
        if token is None:
            raise RuntimeError(f"{portal.domain}: the main page gave the administrator no page token")
        form = {
            "page_token": token.group(1),
            "lang": "en",
            "name": "Drill to-dos",
            "provider_id": "CRM_TODO",
            "type_id": "",
            "owner_type_id": "",
            "direction": "",
            "layout": RULE_LAYOUT,
        }
        added = requests.post(f"{stack.app_url}/rules", data=form, timeout=60)
        ids = [int(n) for n in re.findall(r'data-rule-id="(\d+)"', added.text)]
        portal.rule_id = ids[0] if added.status_code == 200 and ids else None
        if features.api:
            # Each form's page token is spent once; the rules answer carries the renewed one.
            renewed = PAGE_TOKEN.search(added.text)
            spend = {**form, "page_token": renewed.group(1)} if renewed else form
            answer = requests.post(f"{stack.app_url}/api-keys", data={**spend, "label": "drill"}, timeout=60)
            key = answer.text
            match = NEW_KEY.search(key)
            portal.api_key = match.group(1).strip() if match else ""
    if features.api and not all(p.api_key for p in portals):
        features.api = False
        features.notes.append("an API key could not be created from the main page: API load off")


def schedule(
    run: Run, stack: Stack, database: Any, processes: list[Process]
) -> list[tuple[float, Callable[[], None]]]:
    """(fraction of the load time, fault) pairs."""
    domains = [url.split("://", 1)[1] for url in stack.portal_urls]

    def fault(name: str, **payload: Any) -> Callable[[], None]:
        def arm() -> None:
            sandbox_control(stack, "faults", payload)
            run.note(name, **payload)

        return arm

    # 5xx, drops and delays hit `batch` requests: reads (and overwrite-writes), which the app retries. A 5xx
    # on a non-idempotent write (crm.activity.add/update) cannot be retried blindly and is passed on as 502
    # by design (the API's idempotency key heals a retry), so it is not injected here.
    plan: list[tuple[float, Callable[[], None]]] = [
        (0.08, fault("sandbox 500s", kind="status", status=500, count=3, method="batch")),
        (0.13, fault("connections dropped (no answer)", kind="drop", count=2, method="batch")),
        (0.17, fault("slow answers (2 s)", kind="delay", seconds=2, count=3, method="batch")),
        (0.21, fault("sandbox 502s", kind="status", status=502, count=2, method="batch")),
        (0.22, fault("sandbox 504", kind="status", status=504, count=1, method="batch")),
        (0.26, fault("503 QUERY_LIMIT_EXCEEDED", kind="status", status=503, count=4)),
        (0.30, lambda: block_method(run, stack, domains[-1])),
        (0.34, lambda: storm(run, stack)),
        (0.44, lambda: kill_worker(run, processes[1])),
        (0.72, lambda: storm(run, stack)),
        (
            0.71,
            fault(
                "token endpoint 500 (the next refresh)",
                kind="status",
                status=500,
                count=1,
                method="oauth.token",
            ),
        ),
    ]
    if isinstance(database, Postgres):
        plan.append((0.56, lambda: restart_database(run, stack, database)))
    else:
        run.note("database restart skipped: DRILL_DATABASE_URL is not a cluster the drill controls")
    return sorted(plan, key=lambda item: item[0])


def inject_faults(run: Run, stack: Stack, database: Any, processes: list[Process], seconds: float) -> None:
    """Run the fault plan over the load time, then wait out the rest of it."""
    begin = time.monotonic()
    for fraction, action in schedule(run, stack, database, processes):
        time.sleep(max(0.0, begin + fraction * seconds - time.monotonic()))
        action()
    time.sleep(max(0.0, begin + seconds - time.monotonic()))


def block_method(run: Run, stack: Stack, domain: str) -> None:
    """429 OPERATION_TIME_LIMIT on crm.activity.get (the worker's reads) on one portal for 6 s: as the
    portal does it, per method, so inside a batch each such command fails. That portal gets no placement
    or API load (their pages read the activity too, and a person is told when the block lifts)."""
    payload = {"domain": domain, "method": "crm.activity.get", "seconds": 6}
    reset_at = sandbox_control(stack, "operating/block", payload)["operating_reset_at"]
    run.note(
        "429 OPERATION_TIME_LIMIT on crm.activity.get", domain=domain, lifts_in=round(reset_at - time.time())
    )


def storm(run: Run, stack: Stack) -> None:
    """Every live access token of the app expires at once, on every portal."""
    expired = sandbox_control(stack, "tokens/expire", {"all": True})["expired"]
    run.storms.append(time.time())
    run.note("expired-token storm", tokens=expired)


def kill_worker(run: Run, worker: Process) -> None:
    worker.kill()
    run.note(f"{worker.name} killed with SIGKILL")
    time.sleep(2)
    worker.start()
    run.note(f"{worker.name} restarted")


def restart_database(run: Run, stack: Stack, database: Postgres) -> None:
    """pg_ctl restart -m fast; the outage lasts until /healthz answers 200 again, plus 2 s of grace."""
    began = time.time()
    database.restart()
    wait_until(answers(f"{stack.app_url}/healthz"), 60, "the app's health after the database restart")
    run.outage = (began, time.time() + 2.0)
    run.note("database restarted (pg_ctl restart -m fast)", outage_seconds=round(run.outage[1] - began, 1))


def stop_the_app(run: Run, stack: Stack, web: Process, seconds: float) -> None:
    """The app-down phase: gunicorn stopped (SIGTERM) for `seconds`, then started again; the load goes on."""
    if seconds <= 0:
        return
    web.stop()  # gunicorn finishes the requests in hand first; the app is down once it has exited
    began = time.time()
    run.note("web processes stopped (the app is down)", seconds=seconds)
    time.sleep(max(0.0, began + seconds - time.time()))
    web.start()
    wait_until(answers(f"{stack.app_url}/healthz"), 60, "gunicorn after the app-down phase")
    run.app_down = (began, time.time())
    run.note("web processes started again", down_seconds=round(run.app_down[1] - began, 1))


def drain(run: Run, stack: Stack, timeout: float, processes: list[Process]) -> None:
    """Wait until the sandbox has sent everything, every portal's backstop has run since, and the inbox
    has nothing pending."""
    began = time.time()
    run.exits = [f"{p.name} exited with {p.popen.returncode}" for p in processes if p.popen and not p.alive]
    if run.exits:
        run.note("processes that ended on their own", exits=run.exits)
    engine = create_engine(stack.database_url, pool_pre_ping=True)

    def settled() -> bool:
        deliveries = sandbox_control(stack, "deliveries", method="GET")["deliveries"]
        sent_by = max((d["sent_at"] or 0 for d in deliveries), default=0.0)
        with engine.connect() as connection:
            pending = connection.execute(text("SELECT count(*) FROM inbox WHERE status = 'pending'")).scalar()
            runs = connection.execute(
                text("SELECT backstop_ran_at FROM portals WHERE state = 'active'")
            ).all()
        caught_up = all(r[0] is not None and _epoch(r[0]) > max(sent_by, run.load_ended) for r in runs)
        return all(d["done"] for d in deliveries) and caught_up and pending == 0

    with contextlib.suppress(TimeoutError):
        wait_until(settled, timeout, "the inbox to drain", every=2.0)
        run.drained = True
    engine.dispose()
    run.drain_seconds = time.time() - began
    run.note("drained" if run.drained else "inbox NOT drained", seconds=round(run.drain_seconds, 1))


def _epoch(value: Any) -> float:
    """A timestamp column (naive UTC as the app stores it) in seconds."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return float((value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp())


def add_noisy_phase(report: dict[str, Any], stack: Stack, portals: list[PortalInfo], args: Any) -> None:
    """The last phase, after the report's figures are read: a noisy neighbour (bench/noisy.py).

    The busy portal is the last one (a standard plan, 2 requests/s); the first two are the quiet ones.
    """
    print(f"  noisy neighbour: a backlog of {args.noisy_backlog} on {portals[-1].domain}", flush=True)
    busy, *quiet = [
        Neighbour(p.member_id, p.domain, p.application_token) for p in (portals[-1], *portals[:2])
    ]
    figures = run_phase(stack, busy, quiet, Phase(backlog=args.noisy_backlog, seconds=args.noisy_seconds))
    report["noisy"] = figures
    name = "noisy neighbour: quiet portals' p99 <= 2 s, clicks' p99 <= 1 s, busy drain >= 0.9 of its bucket"
    report["must"].append({"name": name, "value": int(figures["ok"]), "expected": 1, "ok": figures["ok"]})
    report["ok"] = all(item["ok"] for item in report["must"])


if __name__ == "__main__":
    sys.exit(main())
