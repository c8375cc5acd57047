"""bench.events_wrk's baseline: the cheapest Flask app answering POST /events (reads nothing, answers 200)."""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.post("/events")
def receive() -> tuple[str, int]:
    """Answer the request and nothing else."""
    return "", 200
