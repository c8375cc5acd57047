"""Health check for load balancers and the release step; metrics for Prometheus."""

from __future__ import annotations

import hmac
import ipaddress
import logging

from flask import Response, current_app, jsonify, request
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
INTERNAL_NETWORKS = tuple(
    ipaddress.ip_network(net) for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)


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
    refused = _scrape_refused(current_app.config["METRICS_TOKEN"])
    if refused is not None:
        return refused
    figures = metrics.inbox_figures(db.session, utcnow())
    db.session.rollback()
    return Response(render(figures), content_type=CONTENT_TYPE)


def _scrape_refused(token: str) -> ResponseReturnValue | None:
    """Who may read /metrics: the bearer of METRICS_TOKEN, or without one the host's own networks."""
    if token:
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if hmac.compare_digest(sent.encode(), token.encode()):
            return None
        words = "Send the scrape token: Authorization: Bearer <METRICS_TOKEN>."
        return Response(words + "\n", 401, {"WWW-Authenticate": "Bearer", "Content-Type": "text/plain"})
    if _internal(request.remote_addr or ""):
        return None
    words = (
        "/metrics answers loopback and private addresses only; set METRICS_TOKEN to scrape it from elsewhere."
    )
    return Response(words + "\n", 403, {"Content-Type": "text/plain"})


def _internal(address: str) -> bool:
    """A loopback or private (RFC 1918, unique-local) client address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    # Not ip.is_private: it also counts documentation and reserved ranges, which no scraper comes from.
    return ip.is_loopback or any(ip in network for network in INTERNAL_NETWORKS)
