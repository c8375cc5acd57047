"""Entry points for child processes in the concurrency tests (spawned, so they import only this)."""

from __future__ import annotations

import threading
from typing import Any

from app import create_app
from app.connections import client_for
from app.extensions import db
from app.models import Portal


def call_many(
    config: dict[str, Any], member_id: str, threads: int, calls: int, barrier: Any, out: Any
) -> None:
    """Start threads that wait on `barrier`, then each make `calls` calls; report the outcomes to `out`."""
    app = create_app(config)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run() -> None:
        with app.app_context():
            portal = db.session.query(Portal).filter_by(member_id=member_id).one()
            client = client_for(portal)
            db.session.close()  # hand the connection back: the client opens its own short transactions
            client.observe = lambda method, outcome: _record(lock, outcomes, f"http:{outcome}")
            barrier.wait()
            for _ in range(calls):
                try:
                    client.call("user.current")
                    _record(lock, outcomes, "call:ok")
                except Exception as error:  # every failure is a finding, reported to the parent
                    _record(lock, outcomes, f"call:{type(error).__name__}")
            db.session.remove()

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    with app.app_context():
        db.engine.dispose()
    out.put(outcomes)


def _record(lock: threading.Lock, outcomes: list[str], outcome: str) -> None:
    with lock:
        outcomes.append(outcome)
