"""POST /events."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import BadRequest

from app.events import bp
from app.events.lifecycle import authenticate, on_install, on_uninstall, on_update
from app.events.wire import parse_body
from app.extensions import db
from app.inbox import Inbox

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
    auth = event.get("auth")
    portal = authenticate(auth if isinstance(auth, dict) else {})
    stored = Inbox(db.session).accept(event, portal)
    db.session.commit()
    return jsonify(status="accepted" if stored else "duplicate", event=name.upper())
