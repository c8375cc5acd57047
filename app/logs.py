"""JSON logs with a request id, and a filter that redacts every token-like value from every record."""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import sys
import uuid
from datetime import UTC, datetime

from flask import Flask, Response, g, has_request_context, request

SECRET_KEYS = r"AUTH_ID|REFRESH_ID|access_token|refresh_token|application_token|client_secret|auth"  # noqa: S105
# A secret's key, an optional closing bracket (raw or url-encoded), a separator and quote; then the value.
KEYED = re.compile(
    rf"""(?P<key>\b(?:{SECRET_KEYS})(?:\]|%5D)?["']?\s*(?:=|:|%3D)\s*["']?)(?P<value>(?![{{\[])[^"'&\s,;}}\]]+)""",
    re.IGNORECASE,
)
LONG_TOKEN = re.compile(r"\b[0-9a-f]{66,74}\b", re.IGNORECASE)  # modern Bitrix24 tokens: ~70 hex chars
SHORT_TOKEN = re.compile(r"\b[0-9a-z]{32}\b", re.IGNORECASE)  # older tokens and application_token
MEMBER_ID_PREFIX = re.compile(r"member_id(?:\]|%5D)?[\"']?\s*(?:=|:|%3D)\s*[\"']?$", re.IGNORECASE)
REDACTED = "[redacted]"
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def redact(text: str) -> str:
    """Replace token-like values in a string; member_id stays readable, it is an identifier, not a secret."""
    text = KEYED.sub(lambda m: m.group("key") + REDACTED, text)
    text = LONG_TOKEN.sub(REDACTED, text)
    return SHORT_TOKEN.sub(lambda m: _unless_member_id(m, text), text)


def _unless_member_id(match: re.Match[str], text: str) -> str:
    """Keep a 32-char value that is the value of a member_id key."""
    before = text[max(0, match.start() - 16) : match.start()]
    return match.group(0) if MEMBER_ID_PREFIX.search(before) else REDACTED


class RedactingFilter(logging.Filter):
    """Redact the formatted message and any exception text of every record that passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """One short line for a person at a terminal (`make run`): level, logger, message; no colours."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")


class RequestIdFilter(logging.Filter):
    """Stamp records made inside a request with its id."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context() and "request_id" in g:
            record.request_id = g.request_id
        return True


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Write to whatever sys.stderr is at the time of the record (test capture and reloaders swap it)."""

    @property  # type: ignore[override]
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def configure_logging(app: Flask) -> None:
    """Send JSON lines (or LOG_FORMAT=text lines) to stderr through the redaction filter; id every request."""
    handler = StderrHandler()
    text = app.config.get("LOG_FORMAT") == "text"
    handler.setFormatter(TextFormatter() if text else JsonFormatter())
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    ours = (JsonFormatter, TextFormatter)
    root.handlers = [h for h in root.handlers if not isinstance(h.formatter, ours)]
    root.addHandler(handler)
    root.setLevel(app.config["LOG_LEVEL"])
    app.before_request(_assign_request_id)
    app.after_request(_echo_request_id)


class RequestIds:
    """Request ids unique across processes and restarts: a random prefix per process, then a counter.

    uuid4 per request costs a getrandom system call; ids need to be unique, not unpredictable.
    """

    def __init__(self) -> None:
        self._pid = 0
        self._prefix = ""
        self._counter = itertools.count()

    def next(self) -> str:
        if self._pid != os.getpid():  # after a fork (gunicorn --preload) each worker takes its own prefix
            self._pid, self._prefix = os.getpid(), uuid.uuid4().hex[:20]
        return f"{self._prefix}{next(self._counter):012x}"


_request_ids = RequestIds()


def next_request_id() -> str:
    """A new request id (app.events.lean makes its own outside Flask)."""
    return _request_ids.next()


def _assign_request_id() -> None:
    """Take a well-formed X-Request-Id from the proxy, or make one."""
    incoming = request.headers.get("X-Request-Id", "")
    g.request_id = incoming if REQUEST_ID.match(incoming) else _request_ids.next()


def _echo_request_id(response: Response) -> Response:
    response.headers["X-Request-Id"] = g.get("request_id", "")
    return response
