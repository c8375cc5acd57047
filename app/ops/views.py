"""Health check for load balancers and the release step; metrics for Prometheus."""

from __future__ import annotations

import logging

from flask import Response, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app import metrics
from app.extensions import db
from app.inbox.heartbeat import worker_health
from app.metrics.exposition import CONTENT_TYPE, render
from app.models import utcnow
from app.ops.blueprint import bp

log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """Answer 200 when the database answers, 503 otherwise; say so when events wait and no worker is alive.

    A missing worker does not fail the check: this process can still take events (they wait, durably), and a
    load balancer must not take the web process away for it. `workers.warning` is what an operator reads.
    """
    try:
        db.session.execute(text("SELECT 1"))
        workers = worker_health(db.session)
        db.session.rollback()
    except SQLAlchemyError as error:
        db.session.rollback()
        log.warning("health check: database unavailable: %s", type(error).__name__)
        return jsonify(status="error", database="unavailable"), 503
    report: dict[str, int | str] = {"alive": workers.alive, "pending": workers.pending}
    if workers.stalled:
        report["warning"] = (
            f"no worker has processed events for {workers.idle_minutes} minutes "
            f"({workers.pending} pending): start one with `flask --app app worker`"
        )
    return jsonify(status="ok", database="ok", workers=report)


@bp.get("/metrics")
def metrics_page() -> ResponseReturnValue:
    """Prometheus text format 0.0.4: every process's counters (app.metrics) and the inbox's pending rows."""
    figures = metrics.inbox_figures(db.session, utcnow())
    db.session.rollback()
    return Response(render(figures), content_type=CONTENT_TYPE)
