"""Latency histograms of /events and of the frame pages, recorded for every app the ops blueprint is in."""

from __future__ import annotations

import time

from flask import request

from app import metrics
from app.ops.blueprint import bp

START = "tb.started"
# endpoint -> what its histogram observes: /events, and the two pages a portal frame opens
TIMED = {
    "events.receive": lambda: metrics.EVENTS_SECONDS,
    "main.index": lambda: metrics.PAGE_SECONDS.labels("main"),
    "timeline.activity_menu": lambda: metrics.PAGE_SECONDS.labels("activity"),
    "timeline.timeline_menu": lambda: metrics.PAGE_SECONDS.labels("activity"),
}


@bp.before_app_request
def start_clock() -> None:
    if request.endpoint in TIMED:
        request.environ[START] = time.perf_counter()


@bp.teardown_app_request
def observe(_error: BaseException | None) -> None:
    """Runs on every outcome, a 4xx or an unhandled error included: a slow refusal is a slow page too."""
    started = request.environ.get(START)
    if started is not None and request.endpoint in TIMED:
        TIMED[request.endpoint]().observe(time.perf_counter() - started)
