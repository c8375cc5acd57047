"""One host grammar wherever a host enters, read as the HTTP client reads it: tricks refused, nothing sent."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from app.bitrix24.client import Client, Credentials, FixedCredentials
from app.bitrix24.errors import HostNotAllowed
from app.bitrix24.hosts import host_allowed, url_allowed, valid_netloc
from app.bitrix24.oauth import OAuthClient
from app.bitrix24.transport import Transport
from app.config import DEFAULT_ALLOWED_HOSTS, ConfigError, load_config, parse_host_patterns
from app.portals.lifecycle import Claim, NotVerified, verify
from sandbox.testing import EventReceiver, serve
from tests.test_main import open_main_page

DEFAULTS = parse_host_patterns(DEFAULT_ALLOWED_HOSTS)
TRICK_HOSTS = ["127.0.0.2\\.bitrix24.com", "evil.com@x.bitrix24.com", "a b.bitrix24.com", "x%2ebitrix24.com"]


def tricks_to(receiver: EventReceiver) -> list[str]:
    """URLs whose text names a Bitrix24 host while urllib3 (requests) would connect to the receiver."""
    port = receiver.server.server_address[1]
    return [
        f"http://127.0.0.1:{port}\\.x.bitrix24.com:80/rest/",  # urllib3 stops the host at the backslash
        f"http://127.0.0.1:{port}\\@x.bitrix24.com/rest/",
        f"http://x.bitrix24.com@127.0.0.1:{port}/rest/",
    ]


@pytest.fixture
def listener(event_receiver: EventReceiver) -> EventReceiver:
    """A local listener that records every request that reaches it."""
    return event_receiver


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.2\\.bitrix24.com/",
        "http://127.0.0.1:5555\\.x.bitrix24.com:80/rest/",
        "https://evil.com@x.bitrix24.com/rest/",
        "https://a b.bitrix24.com/rest/",
        "https://a\tb.bitrix24.com/rest/",
        "https://x%2ebitrix24.com/rest/",
        "https://x.bitrix24.com%2f@evil.net/rest/",
        "https://-x.bitrix24.com/rest/",
        "https://[::1].bitrix24.com/rest/",
        "https://x.bitrix24.com:0/rest/",
    ],
)
def test_a_url_whose_host_is_not_in_the_grammar_is_refused(url: str) -> None:
    assert url_allowed(url, DEFAULTS) is False


@pytest.mark.parametrize("netloc", [*TRICK_HOSTS, "x.bitrix24.com\n", "x.bitrix24.com:80:80", ""])
def test_a_host_outside_the_grammar_is_neither_valid_nor_allowed(netloc: str) -> None:
    assert not valid_netloc(netloc) and not host_allowed(netloc, DEFAULTS)


def test_ordinary_portal_hosts_still_pass() -> None:
    assert url_allowed("https://acme-1.bitrix24.com/rest/", DEFAULTS)
    assert valid_netloc("127.0.0.1:8443") and valid_netloc("Acme.Bitrix24.com")


def test_the_transport_sends_nothing_to_a_host_hidden_behind_a_backslash(listener: EventReceiver) -> None:
    transport = Transport(allowed_hosts=DEFAULTS)
    for url in tricks_to(listener):
        with pytest.raises(HostNotAllowed):
            transport.post(url, {"auth": "a-token"}, method="profile")
    assert listener.requests == []


def redirecting_portal(location: str) -> Callable[..., Iterable[bytes]]:
    """A portal that answers every call with a 302 to `location` (a renamed portal, notes §4.7)."""

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response("302 Found", [("Location", location), ("Content-Type", "application/json")])
        return [b"{}"]

    return wsgi


@contextmanager
def served(wsgi: Callable[..., Iterable[bytes]]) -> Iterator[str]:
    """Serve a WSGI callable on 127.0.0.1 and give its base URL."""
    server, thread = serve(wsgi)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_a_302_location_the_client_would_follow_and_store_is_refused(listener: EventReceiver) -> None:
    for trick in tricks_to(listener):
        with served(redirecting_portal(trick)) as portal_url:
            credentials = FixedCredentials(Credentials("a-token", f"{portal_url}/rest/", version=0))
            client = Client(credentials, Transport(allowed_hosts=("127.0.0.1:*", *DEFAULTS)))
            with pytest.raises(HostNotAllowed):
                client.call("profile")
            assert credentials.credentials.client_endpoint == f"{portal_url}/rest/"  # not stored
    assert listener.requests == []


def oauth_server(install: dict[str, Any], token: dict[str, Any]) -> Callable[..., Iterable[bytes]]:
    """An OAuth server whose app.info and token answers carry what the test puts in them."""

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ["PATH_INFO"].startswith("/rest/app.info"):
            body: dict[str, Any] = {"result": {"client_id": "app", "install": install}}
        else:
            body = token
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(body).encode()]

    return wsgi


def install_block(**changes: str) -> dict[str, Any]:
    return {
        "member_id": "m1",
        "domain": "acme.bitrix24.com",
        "client_endpoint": "https://acme.bitrix24.com/rest/",
        "installed": True,
        **changes,
    }


@pytest.mark.parametrize(
    "changes",
    [{"domain": host} for host in TRICK_HOSTS] + [{"client_endpoint": "TRICK"}],
)
def test_the_oauth_servers_app_info_with_a_tricked_host_verifies_nothing(
    listener: EventReceiver, changes: dict[str, str]
) -> None:
    if changes.get("client_endpoint") == "TRICK":
        changes = {"client_endpoint": tricks_to(listener)[0]}
    allowed = ("127.0.0.1:*", *DEFAULTS)
    with served(oauth_server(install_block(**changes), {})) as url:
        oauth = OAuthClient(url, "app", "secret", Transport(allowed_hosts=allowed))
        claim = Claim("a-token", "m1", changes.get("domain", "acme.bitrix24.com"))
        with pytest.raises(NotVerified):
            verify(oauth, claim, allowed_hosts=allowed)
    assert listener.requests == []


def test_a_token_answer_with_a_tricked_client_endpoint_keeps_the_tokens_but_not_the_address(
    listener: EventReceiver,
) -> None:
    token = {
        "access_token": "new-access",
        "refresh_token": "new-refresh",
        "expires_in": 3600,
        "member_id": "m1",
        "client_endpoint": tricks_to(listener)[0],
    }
    allowed = ("127.0.0.1:*", *DEFAULTS)
    with served(oauth_server(install_block(), token)) as url:
        grant = OAuthClient(url, "app", "secret", Transport(allowed_hosts=allowed)).refresh("old-refresh")
    assert (grant.access_token, grant.client_endpoint) == ("new-access", "")


@pytest.mark.parametrize("domain", [*TRICK_HOSTS, "x.bitrix24.com\nX-Injected: 1"])
def test_a_frame_with_a_tricked_domain_is_refused_and_nothing_is_called(
    connected_app, sandbox, portal, domain: str
) -> None:
    before = sum(sandbox.state.requests.values())
    connected_app.config["B24_ALLOWED_HOSTS"] = ("127.0.0.1:*", *DEFAULTS)
    response = open_main_page(connected_app.test_client(), sandbox, query={"DOMAIN": domain})
    assert response.status_code == 400
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert sum(sandbox.state.requests.values()) == before


@pytest.mark.parametrize("field", ["domain", "client_endpoint"])
def test_an_onappinstall_with_a_tricked_host_is_refused_before_the_oauth_server_is_asked(
    connected_app, sandbox, listener: EventReceiver, field: str
) -> None:
    connected_app.config["B24_OAUTH_URL"] = listener.url("")  # records any app.info the app would send
    connected_app.config["B24_ALLOWED_HOSTS"] = ("127.0.0.1:*", *DEFAULTS)
    value = TRICK_HOSTS[0] if field == "domain" else tricks_to(listener)[0]
    auth = {
        "access_token": "a-token",
        "refresh_token": "r-token",
        "domain": sandbox.portal.domain,
        "member_id": sandbox.portal.member_id,
        "application_token": "app-token",
        field: value,
    }
    data = {"event": "ONAPPINSTALL", **{f"auth[{k}]": v for k, v in auth.items()}}
    response = connected_app.test_client().post("/events", data=data)
    assert response.status_code == 400
    assert listener.requests == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("B24_ALLOWED_HOSTS", "*.bitrix24.com,127.0.0.2\\.bitrix24.com"),
        ("B24_ALLOWED_HOSTS", "evil.com@x.bitrix24.com"),
        ("B24_ALLOWED_HOSTS", "a b.bitrix24.com"),
        ("B24_ALLOWED_HOSTS", "*.*.bitrix24.com"),
        ("B24_OAUTH_URL", "http://127.0.0.2\\.bitrix.info"),
        ("B24_OAUTH_URL", "https://evil.com@oauth.bitrix.info"),
        ("APP_BASE_URL", "https://a b.example.com"),
        ("B24_JS_URL", "//api.bitrix24.com\\@evil.net/api/v1/"),
        ("B24_JS_URL", "//* api.bitrix24.com/api/v1/"),
        ("B24_JS_URL", "javascript:alert(1)"),
    ],
)
def test_configuration_with_a_tricked_host_stops_start_up(tmp_path, name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_config({"APP_ENV": "testing", name: value}, tmp_path)
