"""The access-log atoms gunicorn writes, scrubbed: no query secret, no credentials header, no token."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from gunicorn.config import Config

from app.web.accesslog import RedactingLogger

CODE = "c0de" * 8


def atoms(log_format: str, environ: dict[str, str], headers: list[tuple[str, str]]) -> dict[str, str]:
    config = Config()
    config.set("access_log_format", log_format)
    logger = RedactingLogger(config)
    resp = SimpleNamespace(status="200 OK", headers=[], sent=10)
    req = SimpleNamespace(headers=headers)
    return logger.atoms(resp, req, environ, timedelta(milliseconds=3))


def test_every_atom_a_format_names_is_scrubbed() -> None:
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/oauth/callback?code={CODE}&state=s{CODE}&domain=b24.example&member_id=m1",
        "PATH_INFO": "/oauth/callback",
        "QUERY_STRING": f"code={CODE}&state=s{CODE}&domain=b24.example",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_REFERER": f"https://b24.example/app?APP_SID={CODE}&LANG=en",
    }
    headers = [("AUTHORIZATION", f"Bearer tb_{CODE}"), ("COOKIE", f"session={CODE}"), ("X-REQUEST-ID", "r1")]
    fmt = '%(r)s %(q)s "%(f)s" %({authorization}i)s %({cookie}i)s %({x-request-id}i)s %({query_string}e)s'
    got = atoms(fmt, environ, headers)
    assert (
        got["r"]
        == "GET /oauth/callback?code=[redacted]&state=[redacted]&domain=b24.example&member_id=m1 HTTP/1.1"
    )
    assert got["q"] == got["{query_string}e"] == "code=[redacted]&state=[redacted]&domain=b24.example"
    assert got["f"] == "https://b24.example/app?APP_SID=[redacted]&LANG=en"
    assert got["{authorization}i"] == got["{cookie}i"] == "[redacted]"
    assert got["{x-request-id}i"] == "r1"
    assert not [name for name in ("r", "q", "f", "{query_string}e") if CODE in got[name]]
