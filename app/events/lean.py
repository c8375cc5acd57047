"""POST /events's hot path before Flask: an activity event, form-encoded as portals send it, answered in WSGI.

bench/events_wrk.py measured /events at ~1.1 ms more worker CPU per request than an empty Flask
handler; part of it Flask's machinery around the view (request and app contexts, routing, four hooks,
the response's finalisation), which an event needs none of: no session, template or cookie. So a POST
/events whose body is url-encoded, carries a Content-Length within BODY_LIMIT_EVENTS and at most
FORM_FIELDS_LIMIT fields, parses, and names an activity event (not ONAPP*) is verified, stored and
answered here by the view's own functions (app.events.views.accept and answer_body, app.errors.error_body);
its answer carries the same headers (X-Request-Id, the Content-Security-Policy and
Referrer-Policy) and is timed into the
same histogram. Everything else, refused input included, goes to Flask with the body replayed, so
every error is Flask's own; tests/test_lean_events.py checks both paths answer alike.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable
from typing import Any, cast

from flask import Flask
from sqlalchemy import Engine
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.wrappers import Response

from app import metrics
from app.errors import error_body, log_unexpected
from app.events.views import LIFECYCLE, accept, answer_body
from app.events.wire import form_pairs, nest
from app.extensions import db
from app.logs import REQUEST_ID, next_request_id
from app.web import csp
from app.web.csp import policy
from app.web.limits import FORM, body_limit

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
PATH = "/events"
JSON = "application/json"


class LeanEvents:
    """WSGI middleware: answer the hot POST /events itself, hand every other request to `inner` (Flask)."""

    def __init__(self, app: Flask, inner: WSGIApp) -> None:
        self.app = app
        self.inner = inner
        self.limit = body_limit(PATH, app.config)
        self.fields = int(app.config["FORM_FIELDS_LIMIT"])
        self.policy = policy(frame_origin=None, js_url=app.config["B24_JS_URL"])
        self._engine: Engine | None = None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST":
            return self.inner(environ, start_response)
        started = time.perf_counter()
        event = self.hot_event(environ)
        if event is None:
            return self.inner(environ, start_response)
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if REQUEST_ID.match(incoming) else next_request_id()
        status, headers, body = self.respond(event)
        metrics.EVENTS_SECONDS.observe(time.perf_counter() - started)
        headers += [("X-Request-Id", request_id), *csp.pairs(self.policy)]
        start_response(status, headers)
        return [body]

    def hot_event(self, environ: dict[str, Any]) -> dict[str, Any] | None:
        """The parsed activity event, or None for Flask (its input stream then replays the body read)."""
        if environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower() != FORM:
            return None
        try:
            length = int(environ.get("CONTENT_LENGTH") or -1)
        except ValueError:
            return None
        if not 0 < length <= self.limit:
            return None  # chunked, empty or too large: Flask reads it bounded and answers in words
        raw = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(raw)
        if len(raw) != length or raw.count(b"&") + 1 > self.fields:
            return None
        try:
            event = nest(form_pairs(raw, self.fields), self.fields)
        except HTTPException:
            return None
        name = event.get("event")
        if not isinstance(name, str) or not name or name.upper() in LIFECYCLE:
            return None
        return event

    def respond(self, event: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        """The view's answer (status line, headers, body), or its error as Flask's handlers word it."""
        try:
            body = answer_body(*accept(self.app, self.engine, event, str(event["event"])))
        except HTTPException as error:
            return self.error(error)
        except Exception:  # as app.errors.handle_unexpected: logged, a plain 500
            log_unexpected("POST", PATH)
            return self.error(InternalServerError())
        # What views.answer's Response sends, built directly: a werkzeug Response and its WSGI call cost
        # more than the rest of the answer.
        return "200 OK", [("Content-Type", JSON), ("Content-Length", str(len(body)))], body

    def error(self, error: HTTPException) -> tuple[str, list[tuple[str, str]], bytes]:
        response = cast(Response, self.app.json.response(error_body(error)))  # jsonify, as app.errors
        response.status_code = error.code or 500
        return response.status, response.headers.to_wsgi_list(), response.get_data()

    @property
    def engine(self) -> Engine:
        """Flask-SQLAlchemy's engine of this app (looked up in an app context once)."""
        if self._engine is None:
            with self.app.app_context():
                self._engine = db.engine
        return self._engine


def install_lean_events(app: Flask) -> None:
    """Put the lean path in front of the app (outside ProxyFix: it reads no client address)."""
    app.wsgi_app = LeanEvents(app, app.wsgi_app)  # type: ignore[method-assign]
