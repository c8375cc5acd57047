"""Request bodies read bounded on every route, chunked ones included; 413 in words above the limit.

Werkzeug bounds a body with a Content-Length, but a chunked body (no Content-Length) under a limit is
silently cut at the limit, and nothing caps the fields of a url-encoded form. So the app reads every body
itself, at most limit + 1 bytes from the server's stream, before any view runs, and counts form fields
before anything parses them. Limits come from the configuration (app.config: load_limits).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import IO, Any

from flask import Flask, Request, Response, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.wsgi import get_input_stream

from app.inputs import IdConverter

# Measured by bench/body_sizes.py: the biggest event the portal sends is ~2 KB (a click with 20
# actionParams), a frame POST ~0.5 KB, the biggest legitimate API body ~300 KB (20 blocks of 2,000
# Cyrillic characters, JSON-escaped) and the editor's form with that layout ~240 KB.
DEFAULTS = {
    "BODY_LIMIT_EVENTS": 32 * 1024,
    "BODY_LIMIT_PAGES": 1024 * 1024,
    "BODY_LIMIT_API": 1024 * 1024,
    "FORM_FIELDS_LIMIT": 500,
}
READ_CHUNK = 64 * 1024
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


class BoundedRequest(Request):
    """A request whose body stream never yields more than the route's limit."""

    @cached_property
    def stream(self) -> IO[bytes]:  # type: ignore[override]
        limit = self.max_content_length
        if limit is not None and (self.content_length or 0) > limit:
            raise too_large(limit)
        if limit is None or self.content_length is not None or "wsgi.input_terminated" not in self.environ:
            # A declared length is bounded by werkzeug; a server that does not end chunked input for us
            # gets werkzeug's empty stream (it would hang otherwise).
            return get_input_stream(self.environ, max_content_length=limit)
        return io.BytesIO(read_at_most(self.environ["wsgi.input"], limit))


def read_at_most(stream: IO[bytes], limit: int) -> bytes:
    """Read a body of unknown length, refusing it as soon as it passes `limit` bytes."""
    parts: list[bytes] = []
    size = 0
    while True:
        part = stream.read(min(READ_CHUNK, limit + 1 - size))
        if not part:
            return b"".join(parts)
        parts.append(part)
        size += len(part)
        if size > limit:
            raise too_large(limit)


def body_limit(path: str, config: Mapping[str, Any]) -> int:
    """The limit of the route a path belongs to: events, the API, or the pages."""
    if path == "/events":
        return int(config["BODY_LIMIT_EVENTS"])
    if path.startswith("/api/"):
        return int(config["BODY_LIMIT_API"])
    return int(config["BODY_LIMIT_PAGES"])


def read_body() -> None:
    """Before every view: read the body bounded, and count a form's fields before anything parses them."""
    config = current_app.config
    limit = body_limit(request.path, config)
    request.max_content_length = limit
    request.max_form_memory_size = limit
    request.max_form_parts = int(config["FORM_FIELDS_LIMIT"])
    raw = request.get_data(cache=True)
    if request.mimetype == FORM:
        check_fields(raw, request.max_form_parts)
    elif request.mimetype == MULTIPART:
        try:
            request.form  # noqa: B018  (werkzeug's parser counts the parts; parsed once, cached)
        except RequestEntityTooLarge:  # the size passed above: too many parts, or one too big
            raise too_many_fields(request.max_form_parts) from None


def check_fields(raw: bytes, limit: int) -> None:
    """Refuse a url-encoded body of more than `limit` fields (parse_qsl splits on '&' only)."""
    if raw and raw.count(b"&") + 1 > limit:
        raise too_many_fields(limit)


def too_many_fields(limit: int) -> RequestEntityTooLarge:
    return RequestEntityTooLarge(f"A form here carries at most {limit} fields; this one has more.")


def too_large(limit: int) -> RequestEntityTooLarge:
    return RequestEntityTooLarge(f"The request body is larger than the {_size(limit)} this address accepts.")


def answer_too_large(error: RequestEntityTooLarge) -> tuple[Response | str, int]:
    """413 in the route's own format, in words; the connection closes (the rest of the body is unread)."""
    from app.errors import error_response

    if error.description == RequestEntityTooLarge.description:  # werkzeug's own (multipart parts, …)
        limit = body_limit(request.path, current_app.config)
        fields = current_app.config["FORM_FIELDS_LIMIT"]
        error = RequestEntityTooLarge(
            f"The request is too large: this address accepts at most {_size(limit)} and {fields} form fields."
        )
    body, status, _ = error_response(error)
    response = current_app.make_response((body, status))
    response.headers["Connection"] = "close"
    return response, status


def install_limits(app: Flask) -> None:
    """Bound every route's body (the request class, the hook that reads it, the 413) and its path ids."""
    app.url_map.converters["int"] = IdConverter  # before the blueprints add their rules
    app.request_class = BoundedRequest
    app.before_request(read_body)
    app.register_error_handler(RequestEntityTooLarge, answer_too_large)


def _size(limit: int) -> str:
    if limit >= 1024 * 1024 and limit % (1024 * 1024) == 0:
        return f"{limit // (1024 * 1024)} MB"
    return f"{limit // 1024} KB" if limit >= 1024 else f"{limit} bytes"
