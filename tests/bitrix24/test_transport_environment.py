"""The transport reads requests' environment (proxies, CA bundles) once, when its session is made."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from app.bitrix24 import transport
from app.bitrix24.transport import Transport

VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


class Proxy(BaseHTTPRequestHandler):
    """A forward proxy that answers every request itself with a Bitrix24 envelope and notes its target."""

    seen: list[str] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        Proxy.seen.append(self.path)  # a proxied request names the whole URL
        body = json.dumps({"result": "via proxy"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def proxy() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Proxy.seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setattr(transport, "_session", None)  # the pooled session is made again, as at start
    return monkeypatch


def test_without_proxy_or_ca_variables_the_session_skips_the_environment(clean_environment) -> None:
    session = requests.Session()
    transport._configure(session)
    assert session.trust_env is False


@pytest.mark.parametrize("name", ["REQUESTS_CA_BUNDLE", "no_proxy"])
def test_a_ca_bundle_or_proxy_variable_keeps_requests_reading_the_environment(
    clean_environment, name
) -> None:
    clean_environment.setenv(name, "/etc/ssl/certs/ca-certificates.crt" if "CA" in name else "example.com")
    session = requests.Session()
    transport._configure(session)
    assert session.trust_env is True


def test_an_operators_proxy_still_carries_the_portal_calls(clean_environment, proxy) -> None:
    clean_environment.setenv("HTTP_PROXY", proxy)
    plain = Transport(allowed_hosts=("portal.example.com",))
    answer = plain.post("http://portal.example.com/rest/profile", {"auth": "t"}, method="profile")
    assert answer.result == "via proxy"
    assert Proxy.seen == ["http://portal.example.com/rest/profile"]
