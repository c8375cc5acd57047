"""Logs are JSON lines with a request id, and no token survives in them."""

from __future__ import annotations

import json
import logging

import pytest

from app.logs import JsonFormatter, RedactingFilter, redact

LONG = "4991e86600715db20058f18a00000001302a076f538759f623791a7dece3ebd357ae95"
SHORT = "ydtj8pho532wydb5ixk78ol7uqlb7sch"
APP_TOKEN = "51856fefc120afa4b628cc82d3935cce"
MEMBER = "010b6886ebc205e43ae65000ee00addb"


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        (f"AUTH_ID={LONG}&AUTH_EXPIRES=3600", LONG),
        ("REFRESH_ID=abc-not-hex-but-secret&member_id=1", "abc-not-hex-but-secret"),
        ('{"access_token": "short-secret-value", "expires_in": 3600}', "short-secret-value"),
        ("auth[refresh_token]=r3fr3sh-value&auth[domain]=x", "r3fr3sh-value"),
        (
            "auth%5Bapplication_token%5D=o8kfcne3du24sfvoeahh43uf9oygu2x3&x=1",
            "o8kfcne3du24sfvoeahh43uf9oygu2x3",
        ),
        ("client_secret: 'very-secret-client-secret'", "very-secret-client-secret"),
        ("GET https://x.bitrix24.com/rest/user.current?auth=tok-en.value_1 200", "tok-en.value_1"),
        (f"token {LONG} expired", LONG),
        (f"old style {SHORT} in text", SHORT),
        (f"application token {APP_TOKEN} seen", APP_TOKEN),
    ],
)
def test_token_like_values_are_redacted(line: str, secret: str) -> None:
    cleaned = redact(line)
    assert secret not in cleaned
    assert "[redacted]" in cleaned


def test_member_id_stays_readable() -> None:
    assert MEMBER in redact(f"event for member_id={MEMBER} accepted")
    assert MEMBER in redact(f'{{"member_id": "{MEMBER}"}}')


def test_filter_redacts_arguments_and_exception_text() -> None:
    record = logging.LogRecord("t", logging.ERROR, __file__, 1, "refresh failed for %s", (LONG,), None)
    try:
        raise RuntimeError(f"bad token {SHORT}")
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()
    assert RedactingFilter().filter(record)
    entry = json.loads(JsonFormatter().format(record))
    assert LONG not in json.dumps(entry) and SHORT not in json.dumps(entry)
    assert entry["message"] == "refresh failed for [redacted]" and "RuntimeError" in entry["exception"]


def test_requests_get_an_id_in_the_response(client) -> None:
    response = client.get("/healthz", headers={"X-Request-Id": "req-123"})
    assert response.headers["X-Request-Id"] == "req-123"
    forged = client.get("/healthz", headers={"X-Request-Id": "bad id with spaces"})
    assert len(forged.headers["X-Request-Id"]) == 32 and " " not in forged.headers["X-Request-Id"]


def test_log_lines_written_in_a_request_carry_its_id(app, capfd) -> None:
    @app.get("/_log-something")
    def log_something() -> str:
        logging.getLogger("tests").warning("handled with AUTH_ID=%s", LONG)
        return "ok"

    app.test_client().get("/_log-something", headers={"X-Request-Id": "req-456"})
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    entry = next(line for line in lines if line["logger"] == "tests")
    assert entry["request_id"] == "req-456"
    assert entry["message"] == "handled with AUTH_ID=[redacted]"


def test_log_format_text_writes_short_redacted_lines(database_url: str, capfd) -> None:
    from app import create_app
    from tests.conftest import make_config

    app = create_app(make_config(database_url, LOG_FORMAT="text"))

    @app.get("/_log-text")
    def log_text() -> str:
        logging.getLogger("tests").warning("handled with AUTH_ID=%s", LONG)
        return "ok"

    app.test_client().get("/_log-text")
    lines = capfd.readouterr().err.splitlines()
    assert "WARNING tests: handled with AUTH_ID=[redacted]" in lines
    assert not any(line.startswith("{") or "\x1b[" in line for line in lines)
