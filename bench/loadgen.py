"""Load from several processes against one portal (spawned children import only this module and app)."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from app import create_app
from app.extensions import db
from app.models import Portal, PortalState, RateLimitBucket
from app.portals import store
from app.portals.connections import client_for
from sandbox.apps import find_app
from sandbox.state import Portal as SandboxPortal
from sandbox.testing import RunningSandbox
from sandbox.tokens import issue_token
from sandbox.ui.frame import open_frame


def call_many(
    config: dict[str, Any], member_id: str, threads: int, calls: int, barrier: Any, out: Any
) -> None:
    """Start threads that wait on `barrier`, then each make `calls` calls; report the outcomes to `out`."""
    app = create_app(config)
    outcomes: list[str] = []
    spans: list[tuple[float, float]] = []
    lock = threading.Lock()

    def run() -> None:
        with app.app_context():
            portal = db.session.query(Portal).filter_by(member_id=member_id).one()
            client = client_for(portal)
            db.session.close()  # hand the connection back: the client opens its own short transactions
            client.observe = lambda method, outcome: _record(lock, outcomes, f"http:{outcome}")
            barrier.wait()
            started = time.time()
            for _ in range(calls):
                try:
                    client.call("user.current")
                    _record(lock, outcomes, "call:ok")
                except Exception as error:  # every failure is a finding, reported to the parent
                    _record(lock, outcomes, f"call:{type(error).__name__}")
            db.session.remove()
            with lock:
                spans.append((started, time.time()))

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    with app.app_context():
        db.engine.dispose()
    out.put((outcomes, spans))


def _record(lock: threading.Lock, outcomes: list[str], outcome: str) -> None:
    with lock:
        outcomes.append(outcome)


CHILD_CONFIG = (
    "APP_ENV",
    "SECRET_KEY",
    "TOKEN_KEYS",
    "SQLALCHEMY_DATABASE_URI",
    "B24_CLIENT_ID",
    "B24_CLIENT_SECRET",
    "B24_OAUTH_URL",
    "B24_ALLOWED_HOSTS",
    "APP_BASE_URL",
)


@dataclass
class LoadResult:
    outcomes: Counter  # "call:ok", "call:<Error>", "http:<outcome>" counts
    seconds: float  # from the common start to the last call's end


def run_processes(
    config: Mapping[str, Any], processes: int, member_id: str, *, threads: int, calls: int
) -> LoadResult:
    """Run `processes` children of `threads` threads each, released together; count every outcome."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes * threads)
    out = context.Queue()
    child_config = {key: config[key] for key in CHILD_CONFIG}
    children = [
        context.Process(target=call_many, args=(child_config, member_id, threads, calls, barrier, out))
        for _ in range(processes)
    ]
    for child in children:
        child.start()
    outcomes: Counter = Counter()
    spans: list[tuple[float, float]] = []
    for _ in children:
        child_outcomes, child_spans = out.get(timeout=300)
        outcomes.update(child_outcomes)
        spans.extend(child_spans)
    for child in children:
        child.join(30)
        if child.exitcode != 0:
            raise RuntimeError(f"a load process exited with {child.exitcode}")
    return LoadResult(outcomes, max(end for _, end in spans) - min(start for start, _ in spans))


def install_portal(
    sandbox: RunningSandbox, *, user_id: int = 1, portal: SandboxPortal | None = None
) -> Portal:
    """Store a portal row holding a real token pair the sandbox issued to the app (until install lands)."""
    portal = portal or sandbox.portal
    issued = issue_token(sandbox.state, portal, find_app(sandbox.state, portal), user_id)
    row = Portal(
        member_id=portal.member_id,
        domain=portal.domain,
        client_endpoint=portal.client_endpoint,
        server_endpoint=f"{sandbox.oauth_url}/rest/",
        scope="crm,placement,user_brief",
        state=PortalState.ACTIVE,
    )
    # Tests that are not about limits must not wait on them; those that are set their own.
    row.rate_limit = RateLimitBucket(rate=1000.0, burst=1000)
    store.store_tokens(
        row,
        access_token=issued.access_token,
        refresh_token=issued.refresh_token,
        expires_at=datetime.fromtimestamp(issued.expires_at, UTC),
    )
    db.session.add(row)
    db.session.commit()
    return row


def admin_frame(sandbox: RunningSandbox, portal: SandboxPortal, **options: Any) -> tuple[str, dict[str, str]]:
    """User 1's (the administrator's) frame POST in English: the path with its query, and the fields."""
    opened = open_frame(
        sandbox.state, portal, find_app(sandbox.state, portal), portal.users[1], lang="en", **options
    )
    url = urlsplit(opened.url)
    return f"{url.path}?{url.query}", dict(opened.fields)
