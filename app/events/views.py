"""POST /events."""

from __future__ import annotations

import logging

from flask import current_app, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import BadRequest, ServiceUnavailable, Unauthorized

from app import metrics
from app.events import bp
from app.events.lifecycle import on_install, on_uninstall, on_update, verify_sender
from app.events.wire import parse_body
from app.extensions import db
from app.inbox import INBOX, inbox_row
from app.inbox_writer import WriteFailed, writer_for
from app.models import utcnow

log = logging.getLogger(__name__)
LIFECYCLE = {"ONAPPINSTALL": on_install, "ONAPPUPDATE": on_update, "ONAPPUNINSTALL": on_uninstall}


@bp.post("/events")
def receive() -> ResponseReturnValue:
    """Verify the event; act on lifecycle events, store the rest in the inbox once (notes §2.1, §2.3)."""
    event = parse_body(request)
    name = event.get("event")
    if not isinstance(name, str) or not name:
        raise BadRequest("The body has no event name.")
    handler = LIFECYCLE.get(name.upper())
    if handler is not None:
        handler(event)
        return jsonify(status="ok", event=name.upper())
    metrics.count_event("received", name)
    auth = event.get("auth")
    try:
        member_id = verify_sender(auth if isinstance(auth, dict) else {})
    except Unauthorized:
        metrics.count_event("rejected", name)
        raise
    stored = store(inbox_row(event, member_id, utcnow()), name)
    return jsonify(status="accepted" if stored else "duplicate", event=name.upper())


def store(row: dict, name: str) -> bool:
    """Hand the row to this process's group commit and wait for it; 503 if it did not commit."""
    writer = writer_for(current_app, db.engine, INBOX)
    try:
        stored = writer.write(row)
    except WriteFailed as error:
        metrics.count_event("unstored", name)
        log.error("events: %s not stored (%s); answered 503, the portal will not resend it", name, error)
        raise ServiceUnavailable("The event could not be stored.") from None
    if not stored:
        metrics.count_event("duplicate", name)
    return stored
