"""TRUSTED_PROXY_COUNT: behind a TLS-ending proxy the sign-in cookies are Secure; else no header counts."""

from __future__ import annotations

import pytest
from flask import request

from app.config import ConfigError, load_config
from app.oauth.flow import BROWSER_COOKIE
from tests.conftest import make_config, running_app, sandbox_config
from tests.test_oauth_flow import consent

PROXIED = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}


def cookie(response, name: str) -> str:
    found = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(f"{name}=")]
    assert found, response.headers
    return found[0]


@pytest.fixture
def proxied_app(database_url, sandbox):
    config = make_config(database_url, **sandbox_config(sandbox), TRUSTED_PROXY_COUNT=1)
    with running_app(config) as app:
        yield app


def sign_in_through(app, portal, headers: dict[str, str]):
    """The authorization-code flow with every request of the browser carrying `headers` (the proxy's)."""
    client = app.test_client()
    started = client.get(f"/oauth/start?domain={portal.domain}", headers=headers)
    callback = client.get(consent(started.headers["Location"]), headers=headers)
    return started, callback


def test_behind_a_trusted_tls_proxy_both_sign_in_cookies_are_secure(proxied_app, sandbox) -> None:
    from bench.loadgen import install_portal

    portal = install_portal(sandbox)
    started, callback = sign_in_through(proxied_app, portal, PROXIED)
    assert "; Secure" in cookie(started, BROWSER_COOKIE)
    assert callback.status_code == 303
    assert "; Secure" in cookie(callback, "session")


def test_without_the_setting_a_forwarded_proto_header_proves_nothing(connected_app, portal) -> None:
    started, callback = sign_in_through(connected_app, portal, PROXIED)
    assert "Secure" not in cookie(started, BROWSER_COOKIE)
    assert "Secure" not in cookie(callback, "session")


def test_the_proxy_count_decides_which_forwarded_address_and_scheme_count(proxied_app) -> None:
    seen = {}

    @proxied_app.get("/__probe")
    def probe() -> str:
        seen.update(scheme=request.scheme, remote=request.remote_addr, url=request.url)
        return ""

    headers = {"X-Forwarded-For": "198.51.100.1, 203.0.113.7", "X-Forwarded-Proto": "https"}
    proxied_app.test_client().get("/__probe", headers=headers)
    # One trusted proxy: only the address it appended counts; the client's own claim does not.
    assert seen == {"scheme": "https", "remote": "203.0.113.7", "url": "https://localhost/__probe"}


@pytest.mark.parametrize("value", ["x", "-1", "1.5"])
def test_a_bad_proxy_count_stops_start_up(tmp_path, value) -> None:
    with pytest.raises(ConfigError, match="TRUSTED_PROXY_COUNT"):
        load_config({"APP_ENV": "testing", "TRUSTED_PROXY_COUNT": value}, tmp_path)
    assert load_config({"APP_ENV": "testing"}, tmp_path)["TRUSTED_PROXY_COUNT"] == 0
