"""The baseline for bench.events_bench: a Flask endpoint that reads the form and answers 200, no database."""

from __future__ import annotations

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.post("/events")
def receive() -> object:
    """Parse the body as /events does the form, and answer as /events does."""
    form = request.form.to_dict()
    return jsonify(status="accepted", event=form.get("event", "").upper())
