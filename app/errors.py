"""Error responses: JSON for the machine-facing endpoints, HTML pages for the UI in the portal's slider."""

from __future__ import annotations

import contextlib
import logging

from flask import Flask, Response, jsonify, render_template, request
from jinja2 import TemplateNotFound
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable, TooManyRequests

from app.bitrix24.errors import PortalBusy
from app.extensions import db

log = logging.getLogger(__name__)
JSON_PREFIXES = ("/api/", "/events", "/healthz", "/metrics")


def wants_json() -> bool:
    """Tell whether this request is answered in JSON rather than an HTML page."""
    return request.path.startswith(JSON_PREFIXES) or request.accept_mimetypes.best == "application/json"


def error_response(error: HTTPException) -> tuple[Response | str, int, dict[str, str]]:
    """Render an HTTP error as {"error", "message"} or as errors/<code>.html; a 429 says when to come back."""
    code = error.code or 500
    headers: dict[str, str] = {}
    if isinstance(error, TooManyRequests) and error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    if wants_json():
        return jsonify(error_body(error)), code, headers
    try:
        return render_template(f"errors/{code}.html", error=error), code, headers
    except TemplateNotFound:
        return render_template("errors/generic.html", error=error), code, headers


def error_body(error: HTTPException) -> dict[str, str | None]:
    """An error as JSON answers carry it (also app.events.lean's): a machine word and a sentence."""
    return {"error": error.name.lower().replace(" ", "_"), "message": error.description}


def handle_unexpected(error: Exception) -> tuple[Response | str, int, dict[str, str]]:
    """Roll the session back, log the cause, answer a plain 500."""
    with contextlib.suppress(SQLAlchemyError):  # its connection died (a database restart): teardown drops it
        db.session.rollback()
    log_unexpected(request.method, request.path)
    return error_response(InternalServerError())


def log_unexpected(method: str, path: str) -> None:
    log.exception("unhandled error on %s %s", method, path)


def portal_busy(error: PortalBusy) -> tuple[Response | str, int, dict[str, str]]:
    """A person's call found no slot in the portal's bucket in time: 503 in words, with Retry-After."""
    body, code, _ = error_response(ServiceUnavailable(error.user_message))
    return body, code, {"Retry-After": str(error.retry_after)}


def register_errorhandlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, error_response)
    app.register_error_handler(PortalBusy, portal_busy)
    app.register_error_handler(Exception, handle_unexpected)
