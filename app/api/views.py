"""Routes of the inbound API: thin: authenticate, read the body, call app.api.service, answer JSON."""

from __future__ import annotations

import logging

from flask import current_app, jsonify, request
from flask.typing import ResponseReturnValue

from app.api import bodies, keys, openapi, service
from app.api.blueprint import bp
from app.api.errors import ApiError
from app.extensions import db
from app.models import ApiKey

log = logging.getLogger(__name__)


@bp.errorhandler(ApiError)
def api_error(error: ApiError) -> ResponseReturnValue:
    return error.response()


@bp.post("/activities")
def create_activity() -> ResponseReturnValue:
    """Create an activity with content blocks, once per idempotency key (a retry gets the first result)."""
    key = authenticated()
    body = bodies.create_body(bodies.json_object(request), request.headers.get("Idempotency-Key"))
    portal = service.key_portal(key, body.portal)
    answer = service.create(portal, body)
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else {}
    return jsonify(answer.body), answer.status, headers


@bp.put("/activities/<int:activity_id>/layout")
def set_layout(activity_id: int) -> ResponseReturnValue:
    """Set the app's content blocks on an activity; a layout the portal would refuse is a 400 by path."""
    key = authenticated()
    portal_name, layout = bodies.layout_body(bodies.json_object(request))
    portal = service.key_portal(key, portal_name)
    return jsonify(service.set_layout(portal, activity_id, layout)), 200


@bp.get("/openapi.json")
def openapi_json() -> ResponseReturnValue:
    """The OpenAPI 3.1 description of these routes."""
    base = str(current_app.config["APP_BASE_URL"]).rstrip("/") + (bp.url_prefix or "")
    return jsonify(openapi.spec(base))


def authenticated() -> ApiKey:
    """The request's live API key (Authorization: Bearer …), or 401; the key itself is never logged."""
    try:
        key = keys.authenticate(request.headers.get("Authorization", ""))
    except keys.KeyRefused as refused:
        log.info("API request refused: %s", refused.reason)
        raise ApiError(401, "unauthorized", refused.reason) from None
    db.session.commit()  # its last use, now: no write may stay open while the portal is called
    return key
