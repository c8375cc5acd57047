"""POST /events."""

from __future__ import annotations

import json
import logging

from flask import Flask, Response, current_app, request
from flask.typing import ResponseReturnValue
from sqlalchemy import Engine
from werkzeug.exceptions import BadRequest, ServiceUnavailable, Unauthorized

from app import metrics
from app.events.blueprint import bp
from app.events.lifecycle import REFUSED, on_install, on_uninstall, on_update
from app.events.wire import parse_body
from app.extensions import db
from app.inbox.queue import INBOX, ITEM_ACTIONS, inbox_row
from app.inbox.writer import Outcome, WriteFailed, writer_for
from app.models import Portal, utcnow
from app.portals.store import digest

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
        return answer("ok", name)
    return answer(*accept(current_app, db.engine, event, name))


def accept(app: Flask, engine: Engine, event: dict, name: str) -> tuple[str, str]:
    """Count, verify and store an activity event: its answer's status and name (also app.events.lean's)."""
    label = metric_label(app, name)
    metrics.count_event("received", label)
    if label == metrics.OVERFLOW:
        metrics.count_event("ignored", label)
        return "ignored", name  # nothing stored: see metric_label()
    auth = event.get("auth")
    auth = auth if isinstance(auth, dict) else {}
    member_id, token = str(auth.get("member_id", "")), str(auth.get("application_token", ""))
    if not member_id or not token:
        metrics.count_event("rejected", label)
        raise Unauthorized(REFUSED)
    row = inbox_row(event, member_id, utcnow())
    if row["event"] in ITEM_ACTIONS:
        row["user_token_enc"] = seal_user_token(app, auth)
    outcome = store(app, engine, row, digest(token), label)
    if outcome is Outcome.REFUSED:
        metrics.count_event("rejected", label)
        raise Unauthorized(REFUSED)
    return ("accepted" if outcome is Outcome.STORED else "duplicate"), name


def seal_user_token(app: Flask, auth: dict) -> str | None:
    """A click's clicking user's access token, sealed by the vault: the worker acts as that user with it.

    The application_token the event is verified with may be held by any user (notes §1.2), and so may a
    made-up auth[user_id]: carried out with the user's own token, the portal itself applies their rights.
    """
    token = auth.get("access_token")
    if not isinstance(token, str) or not token or len(token) > 512:
        return None
    return app.extensions["vault"].encrypt(token)


def metric_label(app: Flask, name: str) -> str:
    """The event's name for the counters, OTHER unless the manifest binds it.

    The sender is not verified yet: a name it makes up must not take the series real events need. An
    event the manifest does not bind is answered 200 "ignored" and not stored: a real portal sends one
    only for a binding an older version left (until ONAPPUPDATE re-registers), and an error answer
    would only be logged as a failure on the portal's queue, which never resends (notes §2.3); a
    stranger's made-up names get no row, no series and no verification work.
    """
    upper = name.upper()
    return upper if upper in app.extensions["manifest"].events else metrics.OVERFLOW


def answer(status: str, name: str) -> Response:
    """The JSON a portal gets back, encoded directly (cheaper than jsonify on the hottest route)."""
    return Response(answer_body(status, name), mimetype="application/json")


def answer_body(status: str, name: str) -> bytes:
    """The body of `answer` (app.events.lean sends it without a Response object)."""
    return json.dumps({"status": status, "event": name.upper()[:64]}).encode()


def store(app: Flask, engine: Engine, row: dict, token_sha256: str, name: str) -> Outcome:
    """Hand the row to this process's group commit, which also checks the sender; 503 if nothing committed."""
    writer = writer_for(app, engine, INBOX, Portal.__table__)  # type: ignore[arg-type]
    try:
        outcome = writer.write(row, token_sha256)
    except WriteFailed as error:
        metrics.count_event("unstored", name)
        log.error("events: %s not stored (%s); answered 503, the portal will not resend it", name, error)
        raise ServiceUnavailable("The event could not be stored.") from None
    if outcome is Outcome.DUPLICATE:
        metrics.count_event("duplicate", name)
    return outcome
