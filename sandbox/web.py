"""Request helpers shared by the blueprints: which host was hit, request parameters, JSON answers."""

from __future__ import annotations

import contextlib
import json
import socket
from typing import Any
from urllib.parse import urlsplit

from flask import Response, current_app, request

from sandbox.core import RestError
from sandbox.phpform import parse_pairs, parse_query, php_json
from sandbox.state import Portal, Sandbox


def current_sandbox() -> Sandbox:
    """Return the Sandbox of the running Flask app."""
    return current_app.extensions["sandbox"]


def is_oauth_host() -> bool:
    """Tell whether the request hit the OAuth server's host:port (Sandbox.oauth_base_url)."""
    base = current_sandbox().oauth_base_url
    return bool(base) and urlsplit(base).netloc.lower() == request.host.lower()


def current_portal() -> Portal | None:
    """Return the portal whose domain (host:port) the request's Host header names."""
    return current_sandbox().portal_by_domain(request.host.lower())


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Serialise like the portal: PHP-style arrays when enabled (notes §5.2), UTF-8 JSON."""
    if current_sandbox().setting("php_empty_arrays"):
        body = php_json(body)
    text = json.dumps(body, ensure_ascii=False)
    response = Response(text, status=status, mimetype="application/json")
    response.headers["Content-Type"] = "application/json; charset=utf-8"
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def error_response(error: RestError, headers: dict[str, str] | None = None) -> Response:
    """Render a RestError as the error envelope: no result, no time (notes §5.3)."""
    return json_response(error.body(), error.status, headers)


def _body_params() -> dict[str, Any]:
    """Decode the body as JSON, form (PHP brackets) or a raw urlencoded string (notes §5.1)."""
    raw = request.get_data(cache=True)
    if request.mimetype == "application/json":
        if not raw.strip():
            return {}
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise RestError("WRONG_ENCODING", "Wrong request encoding", 400) from exc
        except ValueError as exc:
            raise RestError("ERROR_ARGUMENT", "Request body is not valid JSON", 400) from exc
        if not isinstance(data, dict):
            raise RestError("ERROR_ARGUMENT", "Request body must be a JSON object", 400)
        return data
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return parse_pairs(request.form.items(multi=True))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RestError("WRONG_ENCODING", "Wrong request encoding", 400) from exc
    return parse_query(text) if "=" in text else {}


def request_params() -> dict[str, Any]:
    """Merge GET params with the body, the body winning (notes §5.1: rest_util getRequestData)."""
    query = parse_query(request.query_string.decode("utf-8", "replace"))
    return {**query, **_body_params()}


def pop_auth(params: dict[str, Any]) -> str:
    """Take `auth` / `access_token` out of the params, or the Bearer header (notes §5.1)."""
    token = ""
    for key in ("auth", "access_token"):
        value = params.pop(key, None)
        if isinstance(value, str) and value and not token:
            token = value
    header = request.headers.get("Authorization", "")
    if not token and header.lower().startswith("bearer "):
        token = header[7:].strip()
    return token


def drop_connection() -> None:
    """Close the client's socket without an answer (fault switch)."""
    sock = request.environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
